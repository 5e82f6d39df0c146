"""One daemon per database: an OS-level lock that a crash (even kill -9) releases."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _


class StationLock:
    def __init__(self, root: Path, db_url: str) -> None:
        if db_url.startswith("sqlite:///"):
            self.path = Path(db_url.removeprefix("sqlite:///") + ".lock")
        else:
            digest = hashlib.sha256(db_url.encode()).hexdigest()[:12]
            self.path = root / f".broadcaster-{digest}.lock"
        self._fd: int | None = None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def try_acquire(self, what: str) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{what} pid {os.getpid()}\n".encode())
        self._fd = fd
        return True

    def acquire_unless_daemon(
        self,
        what: str,
        timeout: float = 600.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> bool:
        """Take the lock, waiting while a short-lived command (another emergency) holds
        it; give up at once, returning False, when the holder is the daemon, which then
        airs what the caller writes into the database."""
        deadline = time.monotonic() + timeout
        told = False
        while not self.try_acquire(what):
            holder = self.holder()
            if holder.startswith("daemon"):
                return False
            if time.monotonic() > deadline:
                raise BroadcasterError(
                    _("gave up waiting for {holder} to release the station").format(holder=holder),
                    path=str(self.path),
                )
            if not told and on_wait is not None and holder != "?":
                on_wait(holder)
                told = True
            time.sleep(0.1)
        return True

    def acquire(self, what: str) -> None:
        if not self.try_acquire(what):
            raise BroadcasterError(
                _(
                    "another process holds this station's database ({holder}); "
                    "only one daemon or simulation may run at a time"
                ).format(holder=self.holder()),
                path=str(self.path),
            )

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StationLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
