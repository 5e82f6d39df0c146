"""The ``file`` output: writes what would have played, per zone, with a manifest.

It keeps real time like a sound card would (a playback lasts the audio's duration and can
be cut short), measured on the injected clock, so the simulated driver can run a week in
seconds while the real-time driver waits for real.

Every file is created without following links, through directory descriptors, inside
folders the station's user owns: a link planted in ``out/`` (for a zone's folder, an audio
file or ``manifest.jsonl``) is refused, never written through. Each airing gets its own
file, a copy (never a hard link, so it shares no inode with the approved audio), named
with the instant to the microsecond, the airing id and a random token, so a restart in
the same second as a killed start never collides with what that start wrote.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from broadcaster.core.timeutil import as_utc
from broadcaster.i18n import N_, _
from broadcaster.playout.base import Clock, OutputError, PlayItem, PlayResult

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


class UnsafePath(OSError):
    """A path in the output folder that the station must not write through."""


def _owned_dir(name: str, parent_fd: int | None, shown: str) -> int:
    """Open (creating it 0755 if missing) a folder that is not a link and is owned by the
    station's user; its descriptor."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise UnsafePath(
            exc.errno,
            N_("{path} is a link or not a folder").format(path=shown)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR)
            else exc.strerror,
        ) from None
    st = os.fstat(fd)
    if st.st_uid != os.geteuid():
        os.close(fd)
        raise UnsafePath(0, N_("{path} is not owned by the station's user").format(path=shown))
    return fd


def open_zone_dir(base: Path, zone_id: str) -> int:
    """The zone's folder under the output folder, as a descriptor (see :func:`_owned_dir`)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    parent = os.open(base.parent, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        base_fd = _owned_dir(base.name, parent, str(base))
    finally:
        os.close(parent)
    try:
        return _owned_dir(zone_id, base_fd, str(base / zone_id))
    finally:
        os.close(base_fd)


def _copy_into(zone_fd: int, name: str, source: Path) -> None:
    """A new file ``name`` (O_EXCL: never an existing one, never through a link), read-only,
    holding a copy of ``source``."""
    dst = os.open(
        name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o644, dir_fd=zone_fd
    )
    try:
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            copied = 0
            while copied < size:
                n = os.sendfile(dst, src.fileno(), copied, size - copied)
                if n == 0:
                    break
                copied += n
        os.fchmod(dst, 0o444)
    except BaseException:
        os.close(dst)
        os.unlink(name, dir_fd=zone_fd)
        raise
    os.close(dst)


def append_manifest(base: Path, zone_id: str, record: dict) -> None:
    """One line in the zone's ``manifest.jsonl``: a regular file of the station's user with
    one link only (a planted symlink, hard link or FIFO is refused)."""
    zone_fd = open_zone_dir(base, zone_id)
    try:
        fd = os.open(
            "manifest.jsonl",
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC,
            0o644,
            dir_fd=zone_fd,
        )
    except OSError as exc:
        raise UnsafePath(
            exc.errno,
            N_("{path} is a link").format(path=base / zone_id / "manifest.jsonl")
            if exc.errno == errno.ELOOP
            else exc.strerror,
        ) from None
    finally:
        os.close(zone_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
            raise UnsafePath(
                0,
                N_("{path} is not a plain file of the station's own").format(
                    path=base / zone_id / "manifest.jsonl"
                ),
            )
        os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


class FilePlayback:
    def __init__(self, clock: Clock, duration: float, base: Path, record: dict) -> None:
        self._clock = clock
        self._ends = clock.now() + timedelta(seconds=duration)
        self._stopped = threading.Event()
        self._base = base
        self._record = record

    def wait(self, timeout: float | None) -> PlayResult | None:
        remaining = (self._ends - self._clock.now()).total_seconds()
        if remaining > 0 and timeout:
            self._stopped.wait(min(timeout, remaining))
            remaining = (self._ends - self._clock.now()).total_seconds()
        if self._stopped.is_set():
            return PlayResult(False, N_("stopped"))
        return PlayResult(True) if remaining <= 0 else None

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            at = as_utc(self._clock.now()).isoformat()
            record = {**self._record, "event": "stopped", "at": at}
            # The stop itself stands if the line cannot be written; the log entry says it.
            with contextlib.suppress(OSError):
                append_manifest(self._base, self._record["zone"], record)


def _why(exc: OSError) -> str:
    """An OSError in words (``strerror`` is None for some, e.g. shutil's)."""
    return exc.strerror or str(exc) or type(exc).__name__


class FileSettings(BaseModel):
    """``outputs.<name>`` of type ``file``."""

    model_config = ConfigDict(extra="forbid")
    dir: str = Field("out", description="folder, relative to the station, per zone inside")


class FileOutput:
    Settings = FileSettings

    @classmethod
    def check_environment(cls, settings: FileSettings, root: Path) -> list[str]:
        folder = root / settings.dir
        probe = folder if folder.exists() else folder.parent
        if not os.access(probe, os.W_OK):
            return [_("cannot write in '{dir}'").format(dir=settings.dir)]
        return []

    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        self.name = name
        self.dir = root / str(settings.get("dir", "out"))
        self.clock = clock

    def start(self, item: PlayItem) -> FilePlayback:
        started = as_utc(self.clock.now())
        name = (
            f"{started:%Y%m%dT%H%M%S.%f}Z-a{item.airing_id}-{secrets.token_hex(4)}-"
            f"{item.bulletin_id}{item.audio_path.suffix}"
        )
        record = {
            "event": "started",
            "airing": item.airing_id,
            "bulletin": item.bulletin_id,
            "sha256": item.audio_sha256,
            "file": name,
            "at": started.isoformat(),
            "duration": item.duration_seconds,
            "zone": item.zone_id,
        }
        try:
            zone_fd = open_zone_dir(self.dir, item.zone_id)
            try:
                _copy_into(zone_fd, name, item.audio_path)
                try:
                    append_manifest(self.dir, item.zone_id, record)
                except OSError:  # not started after all: leave no audio file behind
                    os.unlink(name, dir_fd=zone_fd)
                    raise
            finally:
                os.close(zone_fd)
        except OSError as exc:
            raise OutputError(
                N_("cannot write to {dir}: {err}").format(
                    dir=self.dir / item.zone_id, err=_why(exc)
                )
            ) from None
        return FilePlayback(self.clock, item.duration_seconds, self.dir, record)
