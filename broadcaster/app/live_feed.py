"""The browser's microphone as a live broadcast's input (the web page "Phát trực tiếp").

The page records with MediaRecorder and sends a chunk every quarter second; the chunks
are written, in order, into a named pipe in the station folder
(``recordings/incoming/<token>.webm``), which is the broadcast's input: the ffmpeg of
whoever holds the station (the daemon, or this process) reads it as it reads a sound card,
so the web face and the daemon may be two processes and the broadcast is one, with the
same priority, time-out, recording and as-run entries as ``broadcaster live``
(:func:`broadcaster.app.live.go_live` runs it, in a thread of its own). Closing the pipe
is the end of the input; the speaker's stop is asked for first, so the entries say who
stopped it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import threading
import time
from pathlib import Path

from broadcaster.app import live
from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action, PermissionDenied, authorize
from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _

INCOMING = Path("recordings") / "incoming"
#: The most a page may send in one chunk, and hold while the station's ffmpeg opens the
#: pipe (opus at 32 kbit/s is 4 KB a second).
MAX_CHUNK_BYTES = 256 * 1024
MAX_PENDING_BYTES = 2 * 1024 * 1024


def chunk_too_large() -> str:
    return _("a piece of audio larger than 256 KB was refused")


class FeedEnded(BroadcasterError):
    """The broadcast is over (time-out, stopped, failed): the page stops sending."""


class LiveFeed:
    """One broadcast from a browser (see the module). ``write`` never blocks for long:
    until the station's ffmpeg opens the pipe, chunks wait in memory."""

    def __init__(
        self, ctx: StationContext, actor: Actor, zones: list[str], max_minutes: float
    ) -> None:
        live.check_minutes(max_minutes)
        try:
            authorize(actor, Action.LIVE_AIR, zone=zones)
        except PermissionDenied:
            with audited(ctx, actor, Action.LIVE_AIR, "live", zone=zones):
                pass  # the refusal is in the audit trail, and raised
        self.owner = actor.who
        self.token = secrets.token_urlsafe(12)
        folder = ctx.root / INCOMING
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{self.token}.webm"
        os.mkfifo(self.path, 0o600)
        self.stop = threading.Event()
        self.on_air: live.LiveOnAir | None = None
        self.result: live.LiveResult | None = None
        self.error = ""
        self._ended = threading.Event()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._broadcast = threading.Thread(
            target=self._run, args=(ctx, actor, zones, max_minutes), daemon=True
        )
        self._opener = threading.Thread(target=self._open_writer, daemon=True)
        self._broadcast.start()
        self._opener.start()

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def _run(self, ctx: StationContext, actor: Actor, zones: list[str], minutes: float) -> None:
        try:
            self.result = live.go_live(
                ctx,
                actor,
                zones,
                str(self.path),
                minutes,
                stop=self.stop,
                on_air=self._told,
            )
        except BroadcasterError as exc:
            self.error = exc.problem.message
        except Exception as exc:  # the page is told; the daemon's log has the rest
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ended.set()
            self._close()
            self.path.unlink(missing_ok=True)

    def _told(self, told: live.LiveOnAir) -> None:
        self.on_air = told

    def _open_writer(self) -> None:
        """Open the pipe for writing once the station's ffmpeg has it open for reading
        (before, an open would block, or fail with ENXIO without a reader)."""
        while not self._ended.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno not in (errno.ENXIO, errno.ENOENT):
                    self.error = self.error or str(exc)
                    return
                time.sleep(0.05)
                continue
            os.set_blocking(fd, True)
            with self._lock:
                self._fd = fd
                pending, self._pending, self._pending_bytes = self._pending, [], 0
                try:
                    for chunk in pending:
                        os.write(fd, chunk)
                except OSError:
                    self._close_locked()
            return

    def write(self, chunk: bytes) -> None:
        """The next chunk from the page, in order."""
        if self._ended.is_set() or self.stop.is_set():
            raise FeedEnded(_("the live broadcast is over"))
        if len(chunk) > MAX_CHUNK_BYTES:
            raise BroadcasterError(chunk_too_large())
        with self._lock:
            if self._fd is None:
                if self._pending_bytes + len(chunk) > MAX_PENDING_BYTES:
                    raise FeedEnded(_("the station did not take the audio in time"))
                self._pending.append(chunk)
                self._pending_bytes += len(chunk)
                return
            try:
                os.write(self._fd, chunk)
            except OSError as exc:  # the station's ffmpeg is gone: the broadcast ended
                self._close_locked()
                raise FeedEnded(_("the live broadcast is over")) from exc

    def finish(self, timeout: float = 30.0) -> live.LiveResult | None:
        """The speaker pressed stop: ask the station to stop, end the input, wait for
        the entries."""
        self.stop.set()
        self._broadcast.join(timeout)
        self._close()
        return self.result

    def _close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class LiveFeeds:
    """The broadcasts a web station has going, by token; finished ones are kept a while
    so the page can read the outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._feeds: dict[str, LiveFeed] = {}

    def start(
        self, ctx: StationContext, actor: Actor, zones: list[str], max_minutes: float
    ) -> LiveFeed:
        feed = LiveFeed(ctx, actor, zones, max_minutes)
        with self._lock:
            self._feeds = {t: f for t, f in self._feeds.items() if not f.ended} | {feed.token: feed}
        return feed

    def of(self, token: str, actor: Actor) -> LiveFeed | None:
        """The actor's own feed (nobody sends into another's broadcast)."""
        with self._lock:
            feed = self._feeds.get(token)
        return feed if feed is not None and feed.owner == actor.who else None

    def stop_all(self) -> None:
        with self._lock:
            feeds = list(self._feeds.values())
        for feed in feeds:
            if not feed.ended:
                feed.finish(timeout=15)
