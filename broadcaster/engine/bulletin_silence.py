"""Dead air in the bulletins that go out (issue 16, "silence on air").

A bulletin's output plays its approved file, byte for byte (the file output copies it,
the player and icecast outputs decode it): what the zone hears at ``start + t`` is the
file at ``t``. So the file's quiet runs are measured once per audio (decoded by ffmpeg,
the same :class:`~broadcaster.playout.silence.SilenceDetector` as relays, cached by
SHA-256) and placed on the airing's own clock:

- when a run has lasted the station's minimum *on air*, ``SilenceStarted`` is told to the
  alerts' queue (a timer: the alert goes out while the air is still dead);
- when the airing ends, each run it reached becomes a ``SilenceSpan`` cut at the end (an
  emergency that cut the bulletin also cut its silence); a run the airing did not carry
  for the minimum is no dead air.

What a player that plays nothing sends is a different failure (its exit status, the
entry's outcome); this measures what the station handed the zone.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import subprocess
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.engine.silence_alerts import SilenceAlerts
from broadcaster.playout.base import RELAY_RATE
from broadcaster.playout.relay_pull import pcm_argv
from broadcaster.playout.silence import SilenceDetector, SilenceSpan, SilenceStarted

log = logging.getLogger("broadcaster.alerts")

BLOCK_SECONDS = 0.1
CACHED_AUDIO = 64  # distinct audio files whose quiet runs are kept
IDLE_SECONDS = 0.3  # new audio is measured after this long without a start or an end
BULLETIN_PREFIX = "bulletin:"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def quiet_runs(pcm: bytes, threshold_dbfs: float, min_seconds: float) -> list[tuple[float, float]]:
    """The runs of at least ``min_seconds`` below ``threshold_dbfs`` in mono s16le PCM at
    :data:`RELAY_RATE`: (offset, seconds) each, in order."""
    detector = SilenceDetector(threshold_dbfs, min_seconds, rate=RELAY_RATE)
    step = int(RELAY_RATE * BLOCK_SECONDS) * 2
    runs: list[tuple[float, float]] = []
    events = []
    for i in range(0, len(pcm), step):
        at = _EPOCH + timedelta(seconds=i / 2 / RELAY_RATE)
        events += detector.feed(pcm[i : i + step], at)
    events += detector.interrupt(_EPOCH + timedelta(seconds=len(pcm) / 2 / RELAY_RATE))
    for event in events:
        if isinstance(event, SilenceSpan):
            runs.append(((event.at - _EPOCH).total_seconds(), event.seconds))
    return runs


def decode(path: Path, timeout: float = 60.0) -> bytes:
    """The file as the relay's PCM (ffmpeg); raises OSError or CalledProcessError."""
    argv = pcm_argv(["-i", str(path)])
    return subprocess.run(argv, capture_output=True, check=True, timeout=timeout).stdout


@dataclass
class _OnAir:
    zone_id: str
    what: str
    source: str
    started_at: datetime
    path: Path
    sha256: str
    runs: list[tuple[float, float]] | None = None  # None until measured
    told: set[float] = field(default_factory=set)  # offsets whose start was alerted


class BulletinDeadAir:
    """Watches the bulletins on air (see the module). The lanes call :meth:`on_air` and
    :meth:`off_air`, which only queue: one worker thread decodes (once per audio) and
    keeps the alerts due, so a thousand zones starting together start no thread each."""

    def __init__(self, alerts: SilenceAlerts, threshold_dbfs: float, min_seconds: float, clock):
        self.alerts = alerts
        self.threshold_dbfs = threshold_dbfs
        self.min_seconds = min_seconds
        self.clock = clock
        self._runs: OrderedDict[str, list[tuple[float, float]]] = OrderedDict()
        self._airs: dict[int, _OnAir] = {}
        self._due: list[tuple[float, int, int, float]] = []  # (monotonic, seq, airing, offset)
        self._seq = itertools.count()
        self._todo: queue.Queue[tuple | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def runs_of(self, path: Path, sha256: str) -> list[tuple[float, float]]:
        """The audio's quiet runs, measured once per SHA-256 (none if it cannot be read:
        the output's own start reports an unreadable file)."""
        if sha256 in self._runs:
            self._runs.move_to_end(sha256)
            return self._runs[sha256]
        try:
            runs = quiet_runs(decode(path), self.threshold_dbfs, self.min_seconds)
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("dead air: cannot measure %s: %s", path, exc)
            runs = []
        self._runs[sha256] = runs
        while len(self._runs) > CACHED_AUDIO:
            self._runs.popitem(last=False)
        return runs

    # -- from the lanes (never wait) ----------------------------------------------------------
    def on_air(
        self, airing_id: int, zone_id: str, bulletin_id: str, path: Path, sha256: str, at: datetime
    ) -> None:
        what = f"{BULLETIN_PREFIX}{bulletin_id}"
        air = _OnAir(zone_id, what, f"airing {airing_id}", at, path, sha256)
        self._put(("on", airing_id, air))

    def off_air(self, airing_id: int, ended_at: datetime) -> None:
        """The airing ended (aired, cut or stopped): each quiet run it carried for the
        minimum becomes a span, cut at the end."""
        self._put(("off", airing_id, ended_at))

    def _put(self, item: tuple) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="dead-air", daemon=True)
                self._thread.start()
        self._todo.put(item)

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._todo.put(None)
            thread.join(timeout=30)

    # -- the worker -----------------------------------------------------------------------------
    def _work(self) -> None:
        unmeasured: list[int] = []  # airings on air whose audio is not measured yet
        while True:
            wait = None if not self._due else max(0.0, self._due[0][0] - time.monotonic())
            if unmeasured:  # measured once the lanes are quiet, not while a slot starts
                wait = IDLE_SECONDS if wait is None else min(wait, IDLE_SECONDS)
            try:
                item = self._todo.get(timeout=wait)
            except queue.Empty:
                item = ()
            if item is None:
                return
            try:
                if item:
                    self._handle(item, unmeasured)
                elif unmeasured:
                    for airing_id in unmeasured:
                        self._measure(airing_id)
                    unmeasured.clear()
                self._fire_due()
            except Exception:  # one bad airing must not stop the watch of the others
                log.exception("dead air: watching a bulletin failed")

    def _handle(self, item: tuple, unmeasured: list[int]) -> None:
        kind, airing_id, value = item
        if kind == "on":
            air: _OnAir = value
            self._airs[airing_id] = air
            if air.sha256 in self._runs:
                self._measure(airing_id)
            else:
                unmeasured.append(airing_id)
            return
        found = self._airs.pop(airing_id, None)
        if found is not None:
            if found.runs is None:
                found.runs = self.runs_of(found.path, found.sha256)
            self._settle(found, value)

    def _measure(self, airing_id: int) -> None:
        """The airing's quiet runs, and the instants their alerts fall due."""
        air = self._airs.get(airing_id)
        if air is None or air.runs is not None:
            return
        air.runs = self.runs_of(air.path, air.sha256)
        now = self.clock.now()
        for offset, _seconds in air.runs:
            due = air.started_at + timedelta(seconds=offset + self.min_seconds)
            at = time.monotonic() + max(0.0, (due - now).total_seconds())
            heapq.heappush(self._due, (at, next(self._seq), airing_id, offset))

    def _fire_due(self) -> None:
        while self._due and self._due[0][0] <= time.monotonic():
            _at, _seq, airing_id, offset = heapq.heappop(self._due)
            air = self._airs.get(airing_id)
            if air is None or offset in air.told:
                continue  # off the air before its silence had lasted the minimum
            air.told.add(offset)
            at = air.started_at + timedelta(seconds=offset)
            self.alerts.report(
                air.zone_id, air.what, air.source, SilenceStarted(at, self.min_seconds)
            )

    def _settle(self, air: _OnAir, ended_at: datetime) -> None:
        played = (ended_at - air.started_at).total_seconds()
        for offset, seconds in air.runs or []:
            carried = min(seconds, played - offset)
            if carried < self.min_seconds:
                continue
            at = air.started_at + timedelta(seconds=offset)
            if offset not in air.told:
                self.alerts.report(air.zone_id, air.what, air.source, SilenceStarted(at, carried))
            span = SilenceSpan(at, carried, self.threshold_dbfs)
            self.alerts.report(air.zone_id, air.what, air.source, span)
