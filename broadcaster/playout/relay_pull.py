"""Pulling one upstream programme for a relay window (issue 16): one ffmpeg per source
per window, fanned out to every zone that takes it.

Stream faults are the normal case, so the pull is built around them:

- ffmpeg reads the URL (``-rw_timeout``: a stalled connection is an error, not a hang)
  and decodes it to raw PCM (:data:`~broadcaster.playout.base.RELAY_RATE`, mono) on its
  standard output; a reader thread keeps a bounded buffer (a few seconds: the relay is
  live, never a backlog);
- when ffmpeg ends (the upstream went away, a 404, a refused connection) it is started
  again with a growing back-off (0.5 s doubling to 4 s, back to 0.5 s once audio flowed
  for a while), on the backup URL if the source has one (then back on the main one if
  the backup goes too);
- a pacing loop hands every zone one chunk each 100 ms of real time: the programme while
  it flows, silence while it is down, so outputs never starve and never run ahead;
- the window's end is the end: the loop stops at that instant on the injected clock and
  ffmpeg is killed, whatever the stream, the network or the outputs are doing.

Each zone's share is counted as it goes: the seconds of programme that really reached
its sink, every dropout of two seconds or more (when, how long), and the spans an
emergency held the zone. The engine turns that into the window's as-run entry.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from broadcaster.core.model import DEVICE_PREFIX
from broadcaster.playout.base import RELAY_BYTES_PER_SECOND, RELAY_RATE, Clock, RelaySink
from broadcaster.playout.silence import (
    SilenceDetector,
    SilenceEvent,
    SilenceSpan,
    level_dbfs,
)

log = logging.getLogger("broadcaster.relay")

CHUNK_SECONDS = 0.1
PREBUFFER_SECONDS = 0.3  # audio buffered before a (re)connection counts as live
STARVE_SECONDS = 0.5  # no audio for this long while live: the source is down
MAX_BUFFER_SECONDS = 4.0
MIN_DROPOUT_SECONDS = 2.0  # shorter gaps are counted as not relayed, but not listed
MAX_LISTED = 40  # dropouts listed per zone-window (the log entry's field is bounded)
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 4.0
STEADY_SECONDS = 3.0  # audio flowed this long: the next failure starts the back-off anew
RW_TIMEOUT_SECONDS = 5.0
STALL_SECONDS = 4  # an ffmpeg that gives no audio this long is killed and started again


@dataclass
class Gap:
    """A span of the window a zone did not carry the programme."""

    at: datetime
    seconds: float
    # "down" (the source), "emergency" (an emergency held the zone), "live" (a live
    # broadcast did), "backup", "silence" (dead air in what went out: the programme
    # itself was silent, or nothing came)
    kind: str
    by: str = ""  # what held the zone (an emergency's airing id)

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "at": self.at.isoformat(),
            "seconds": round(self.seconds, 1),
            "kind": self.kind,
        }
        if self.by:
            found["by"] = self.by
        return found


@dataclass
class Share:
    """One zone's part of a pull: its sink and what reached it."""

    zone_id: str
    sink: RelaySink
    joined_at: datetime
    relayed: float = 0.0  # seconds of programme written to the sink
    held_seconds: float = 0.0
    held_since: datetime | None = None
    held_by: str = ""
    held_kind: str = "emergency"
    down_since: datetime | None = None
    gaps: list[Gap] = field(default_factory=list)
    error: str = ""  # the sink failed: nothing more is written to it
    sha256: str = ""  # what the sink recorded (file output), once closed
    closed: bool = False
    silence: SilenceDetector | None = None  # dead air in what this zone carried
    # Programme seconds inside dead air (a silence of the station's minimum or longer):
    # the upstream sent nothing to hear, so they are not counted as relayed.
    dead_air: float = 0.0
    quiet_run: float = 0.0  # programme seconds in the quiet run going on

    @property
    def audible(self) -> float:
        """Seconds of programme that reached the sink, dead air left out."""
        return max(0.0, self.relayed - self.dead_air)

    def note(self, gap: Gap) -> None:
        listed = gap.kind != "down" or gap.seconds >= MIN_DROPOUT_SECONDS
        if listed and len(self.gaps) < MAX_LISTED:
            self.gaps.append(gap)


#: Where a pull tells of dead air: (zone, event), from the pacing thread (never block).
SilenceCallback = Callable[[str, SilenceEvent], None]


#: Container formats named by a stream URL's extension. A live MP3 stream joined in the
#: middle starts mid-frame, and ffmpeg's guess then finds no audio and waits for ever;
#: told the format, it syncs on the next frame (HLS playlists are guessed well).
FORMATS = {".mp3": "mp3", ".aac": "aac", ".ogg": "ogg", ".opus": "ogg", ".oga": "ogg"}


def format_hint(url: str) -> list[str]:
    path = urlsplit(url).path.lower()
    for ext, name in FORMATS.items():
        if path.endswith(ext):
            return ["-f", name]
    return []


def pcm_argv(source: list[str]) -> list[str]:
    """ffmpeg reading ``source`` (its input options and ``-i``) and writing the relay's
    PCM (mono, :data:`RELAY_RATE`) to its standard output."""
    head = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
    return [*head, *source, "-vn", "-f", "s16le", "-ac", "1", "-ar", str(RELAY_RATE), "pipe:1"]


def ffmpeg_argv(url: str, rw_timeout: float = RW_TIMEOUT_SECONDS) -> list[str]:
    """ffmpeg reading one source and writing the relay's PCM to its standard output."""
    if url.startswith(DEVICE_PREFIX):  # a sound-card input (an FM or wired receiver)
        source = ["-f", "alsa", "-i", url[len(DEVICE_PREFIX) :]]
    else:
        # A short probe: a stream joined (or come back) is on air within a second, not
        # after the five seconds ffmpeg would otherwise read to analyse it.
        source = [
            *("-rw_timeout", str(int(rw_timeout * 1_000_000))),
            *("-probesize", "65536", "-analyzeduration", "1000000"),
            *format_hint(url),
            *("-i", url),
        ]
    return pcm_argv(source)


class RelayPull:
    """One source pulled for one window, fanned out to its zones' sinks (see module).

    ``urls`` is the main URL, then the backup if any. ``end`` is on ``clock`` (the
    engine's: shifted in tests). ``on_done`` is called once, from the pull's own thread,
    after the last chunk, ffmpeg's death and every sink's close."""

    def __init__(
        self,
        source_id: str,
        urls: list[str],
        clock: Clock,
        end: datetime,
        *,
        on_done: Callable[[RelayPull], None] | None = None,
        argv: Callable[[str], list[str]] = ffmpeg_argv,
        silence: tuple[float, float] | None = None,
        on_silence: SilenceCallback | None = None,
        tap: RelaySink | None = None,
        until_eof: bool = False,
    ) -> None:
        self.source_id = source_id
        self.urls = [u for u in urls if u]
        self.clock = clock
        self.end = end
        self.on_done = on_done
        self._argv = argv
        # Dead air (issue 16): (threshold dBFS, minimum seconds) for each zone's detector;
        # every span is listed in the zone's gaps (kind "silence") and told to on_silence.
        self.silence = silence
        self.on_silence = on_silence
        # A live broadcast (engine/live.py): ``tap`` records everything that came in,
        # whichever zones carried it; with ``until_eof`` the input's end (a file standing
        # in for the microphone) is the programme's end, not a dropout to reconnect.
        self.tap = tap
        self.until_eof = until_eof
        self.ended_by_input = False
        self.tap_sha256 = ""
        self.tap_error = ""
        self.shares: dict[str, Share] = {}
        self.came_up = False
        self.came_up_at: datetime | None = None  # when the programme first flowed
        self.last_error = ""
        self.served: dict[str, float] = {}  # url -> seconds of audio it delivered
        self.connections = 0
        self.stalled: subprocess.Popen[bytes] | None = None
        self.stopped_by: str = ""  # stop() was called (the daemon stops)
        self._lock = threading.Lock()  # buffer, shares, process
        self._buffer = bytearray()
        self._done = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._live = False
        self._pacer = threading.Thread(target=self._pace, name=f"relay-{source_id}", daemon=True)
        self._puller = threading.Thread(
            target=self._pull, name=f"relay-{source_id}-pull", daemon=True
        )

    # -- zones ------------------------------------------------------------------------------
    def add(
        self, zone_id: str, sink: RelaySink, *, held_by: str = "", held_kind: str = "emergency"
    ) -> None:
        """A zone joins (at the window's start, or later: a zone resumed after a restart),
        held from the start if an emergency (or a live broadcast) has the zone."""
        now = self.clock.now()
        share = Share(zone_id, sink, now)
        if self.silence is not None:
            share.silence = SilenceDetector(*self.silence, rate=RELAY_RATE)
        with self._lock:
            if not self._live:
                share.down_since = now
            if held_by:
                share.held_since, share.held_by, share.held_kind = now, held_by, held_kind
            self.shares[zone_id] = share
        if held_by:
            with contextlib.suppress(Exception):
                sink.hold()

    def hold(self, zone_id: str, by: str, kind: str = "emergency") -> bool:
        """An emergency (or a live broadcast: ``kind`` "live") takes the zone: its sink
        hears nothing of the relay until :meth:`resume`; the span is listed as a gap of
        that kind."""
        with self._lock:
            share = self.shares.get(zone_id)
            if share is None or share.held_since is not None or share.closed:
                return False
            now = self.clock.now()
            share.held_since, share.held_by, share.held_kind = now, by, kind
            if share.down_since is not None:  # a dropout ends where the emergency begins
                share.note(Gap(share.down_since, (now - share.down_since).total_seconds(), "down"))
                share.down_since = None
            told = self._quiet_ends(share, now)  # the emergency's audio is not this air
        self._tell(told)
        with contextlib.suppress(Exception):
            share.sink.hold()
        return True

    def resume(self, zone_id: str) -> bool:
        with self._lock:
            share = self.shares.get(zone_id)
            if share is None or share.held_since is None or share.closed:
                return False
            now = self.clock.now()
            self._end_hold(share, now)
            if not self._live:
                share.down_since = now
        with contextlib.suppress(Exception):
            share.sink.resume()
        return True

    @staticmethod
    def _silence_events(share: Share, events: list[SilenceEvent]) -> list[tuple[str, SilenceEvent]]:
        """Note the spans among a zone's detector events (under the lock); what to tell."""
        for event in events:
            if isinstance(event, SilenceSpan):
                share.note(Gap(event.at, event.seconds, "silence"))
                share.dead_air += share.quiet_run
        if share.silence is not None and share.silence.silent_since is None:
            share.quiet_run = 0.0  # the run is over (long enough to count, or not)
        return [(share.zone_id, e) for e in events]

    def _quiet_ends(self, share: Share, now: datetime) -> list[tuple[str, SilenceEvent]]:
        if share.silence is None:
            return []
        return self._silence_events(share, share.silence.interrupt(now))

    def _tell(self, told: list[tuple[str, SilenceEvent]]) -> None:
        if self.on_silence is None:
            return
        for zone_id, event in told:
            try:
                self.on_silence(zone_id, event)
            except Exception:  # the relay goes on whatever the alerting does
                log.exception("relay %s: telling a silence on %s failed", self.source_id, zone_id)

    @staticmethod
    def _end_hold(share: Share, now: datetime) -> None:
        assert share.held_since is not None
        span = max(0.0, (now - share.held_since).total_seconds())
        share.held_seconds += span
        share.note(Gap(share.held_since, span, share.held_kind, share.held_by))
        share.held_since = None

    # -- running ----------------------------------------------------------------------------
    def preroll(self) -> None:
        """Connect to the source before the window (the pacer waits for :meth:`start`):
        at the window's start the programme is already buffered, not a connection and
        a probe away. What was buffered before the window is dropped at its start but
        for the last :data:`PREBUFFER_SECONDS`: the relay goes out at the source's live
        point, as without the preroll, only without the wait."""
        if self._puller.ident is None and not self._done.is_set():
            self._puller.start()

    def start(self) -> None:
        if self._puller.ident is None:
            self._puller.start()
        if self._pacer.ident is None:
            self._pacer.start()

    def stop(self, reason: str) -> None:
        """Cut the relay now (the daemon stops); the shares keep what was relayed."""
        self.stopped_by = reason
        self._done.set()
        self._kill()

    def join(self, timeout: float | None = None) -> bool:
        self._pacer.join(timeout)
        return not self._pacer.is_alive()

    @property
    def running(self) -> bool:
        return self._pacer.is_alive()

    def _kill(self) -> None:
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.kill()

    def _pull(self) -> None:
        """Keep ffmpeg reading the source until the window is over (see module)."""
        backoff = FIRST_BACKOFF
        index = 0
        while not self._done.is_set():
            url = self.urls[index]
            got = self._connect(url)
            if self._done.is_set():
                return
            if self.until_eof and got:
                self.ended_by_input = True  # the pacer ends once the buffer is played
                return
            steady = got / RELAY_BYTES_PER_SECOND >= STEADY_SECONDS
            backoff = FIRST_BACKOFF if steady else min(backoff * 2, MAX_BACKOFF)
            if len(self.urls) > 1:
                index = (index + 1) % len(self.urls)  # the other URL, while this one is gone
            log.info(
                "relay %s: %s ended (%s); next try in %.1f s on %s",
                self.source_id,
                url,
                self.last_error or "no audio",
                backoff if not steady else 0.0,
                self.urls[index],
            )
            if not steady and self._done.wait(backoff):
                return

    def _connect(self, url: str) -> int:
        """One ffmpeg on ``url``, read until it ends; the bytes of audio it gave."""
        try:
            proc = subprocess.Popen(
                self._argv(url),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self.last_error = f"ffmpeg: {exc.strerror or exc}"
            return 0
        with self._lock:
            self._proc = proc
            self.connections += 1
        if self._done.is_set():
            proc.kill()
        errors: list[bytes] = []
        drain = threading.Thread(
            target=lambda: errors.extend(proc.stderr or ()), name="relay-stderr", daemon=True
        )
        drain.start()
        got = 0
        last = [time.monotonic()]
        ended = threading.Event()
        watchdog = threading.Thread(
            target=self._watch, args=(proc, last, ended), name="relay-watchdog", daemon=True
        )
        watchdog.start()
        cap = int(MAX_BUFFER_SECONDS * RELAY_BYTES_PER_SECOND)
        assert proc.stdout is not None
        for data in iter(lambda: proc.stdout.read1(8192), b""):  # type: ignore[union-attr]
            got += len(data)
            last[0] = time.monotonic()
            with self._lock:
                self._buffer += data
                if len(self._buffer) > cap:  # live, not a backlog: the oldest goes
                    del self._buffer[: len(self._buffer) - cap]
        proc.wait()
        ended.set()
        drain.join(timeout=2)
        if self.stalled is proc:
            errors.append(b"no audio for %d s" % STALL_SECONDS)
        self.served[url] = self.served.get(url, 0.0) + got / RELAY_BYTES_PER_SECOND
        text = b"".join(errors).decode("utf-8", "replace").strip().splitlines()
        if self._done.is_set() and not got:
            pass  # killed at the window's end: the error worth keeping is the one before
        elif text:
            self.last_error = text[-1][:200]
        elif got == 0:
            self.last_error = f"ffmpeg exited with {proc.returncode} before any audio"
        else:
            self.last_error = "the stream ended"
        return got

    def _watch(self, proc: subprocess.Popen[bytes], last: list[float], ended: threading.Event):
        """Kill an ffmpeg that gives no audio for :data:`STALL_SECONDS`: connected but
        never decoding (a stream joined mid-frame can leave it waiting for ever), or a
        source that stalls without closing (``-rw_timeout`` sees bytes, not audio)."""
        while not ended.wait(0.5):
            if time.monotonic() - last[0] > STALL_SECONDS and proc.poll() is None:
                self.stalled = proc
                with contextlib.suppress(OSError):
                    proc.kill()
                return

    def _pace(self) -> None:
        """Hand each zone its chunk every 100 ms of real time until the window's end."""
        try:
            self._pace_loop()
        finally:
            self._done.set()
            self._kill()
            self._puller.join(timeout=10)
            self._close_shares()
            if self.on_done is not None:
                try:
                    self.on_done(self)
                except Exception:  # the pull's thread must end; the engine logs its own
                    log.exception("relay %s: closing the window failed", self.source_id)

    def _pace_loop(self) -> None:
        step = int(CHUNK_SECONDS * RELAY_BYTES_PER_SECOND) & ~1
        prebuffer = int(PREBUFFER_SECONDS * RELAY_BYTES_PER_SECOND) & ~1
        with self._lock:  # prerolled: go out at the source's live point, not behind it
            if len(self._buffer) > prebuffer:
                del self._buffer[: len(self._buffer) - prebuffer]
        starve_limit = round(STARVE_SECONDS / CHUNK_SECONDS)
        starved = 0
        began = time.monotonic()
        ticks = 0
        while not self._done.is_set():
            now = self.clock.now()
            left = (self.end - now).total_seconds()
            if left <= 0:
                return
            size = step
            if left < CHUNK_SECONDS:  # the last chunk stops at the window's end
                size = max(2, int(left * RELAY_BYTES_PER_SECOND) & ~1)
            with self._lock:
                if self.ended_by_input and not self._buffer:
                    return  # the input ended and everything it gave went out
                if not self._live and (
                    len(self._buffer) >= prebuffer or (self.ended_by_input and self._buffer)
                ):
                    self._live, starved = True, 0
                    if not self.came_up:
                        self.came_up, self.came_up_at = True, now
                    for share in self.shares.values():
                        self._came_back(share, now)
                real = 0
                if self._live:
                    real = min(size, len(self._buffer))
                    chunk = bytes(self._buffer[:real]) + b"\x00" * (size - real)
                    del self._buffer[:real]
                    starved = starved + 1 if real < size // 2 else 0
                    if starved >= starve_limit:  # down since the first starved chunk
                        self._live = False
                        since = now - timedelta(seconds=(starved - 1) * CHUNK_SECONDS)
                        for share in self.shares.values():
                            if share.held_since is None and share.down_since is None:
                                share.down_since = max(since, share.joined_at)
                else:
                    chunk = b"\x00" * size
                shares = [s for s in self.shares.values() if s.held_since is None and not s.error]
                for share in shares:
                    share.relayed += real / RELAY_BYTES_PER_SECOND
                told: list[tuple[str, SilenceEvent]] = []
                if self.silence is not None and shares:
                    level = level_dbfs(chunk)  # once per chunk, for every zone carrying it
                    seconds = size / RELAY_BYTES_PER_SECOND
                    for share in shares:
                        if share.silence is not None:
                            found = share.silence.feed_level(level, now, seconds)
                            if found:
                                told += self._silence_events(share, found)
                            if share.silence.silent_since is not None:
                                share.quiet_run += real / RELAY_BYTES_PER_SECOND
            self._tell(told)
            if self.tap is not None:
                try:
                    self.tap.write(chunk)
                except Exception as exc:  # the air goes on; the entry says the recording failed
                    log.warning("relay %s: recording failed: %s", self.source_id, exc)
                    self.tap_error, self.tap = f"{type(exc).__name__}: {exc}"[:200], None
            for share in shares:
                try:
                    share.sink.write(chunk)
                except Exception as exc:  # this zone's device failed; the others go on
                    share.error = f"{type(exc).__name__}: {exc}"[:200]
                    log.warning("relay %s on %s: %s", self.source_id, share.zone_id, share.error)
            ticks += 1
            wait = began + ticks * CHUNK_SECONDS - time.monotonic()
            if wait > 0 and self._done.wait(min(wait, max(left, 0.0))):
                return

    @staticmethod
    def _came_back(share: Share, now: datetime) -> None:
        if share.down_since is not None:
            share.note(Gap(share.down_since, (now - share.down_since).total_seconds(), "down"))
            share.down_since = None

    def _close_shares(self) -> None:
        now = min(self.clock.now(), self.end) if not self.stopped_by else self.clock.now()
        told: list[tuple[str, SilenceEvent]] = []
        with self._lock:
            shares = list(self.shares.values())
            for share in shares:
                if share.held_since is not None:
                    self._end_hold(share, now)
                self._came_back(share, now)
                told += self._quiet_ends(share, now)  # a silence lasting to the end
                share.closed = True
        self._tell(told)
        if self.tap is not None:
            try:
                self.tap_sha256 = self.tap.close() or ""
            except Exception as exc:
                self.tap_error = f"{type(exc).__name__}: {exc}"[:200]
        for share in shares:
            try:
                share.sha256 = share.sink.close() or ""
            except Exception as exc:
                share.error = share.error or f"{type(exc).__name__}: {exc}"[:200]
