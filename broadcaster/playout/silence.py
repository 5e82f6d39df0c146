"""Dead air on what goes out (issue 16, "silence on air"): a small pure detector.

It is fed the PCM blocks an output is about to carry (signed 16-bit little-endian, mono)
with the instant each block begins on the engine's clock, and says when the level stayed
below a threshold (RMS, dBFS) for longer than a minimum: once when the silence has lasted
that long (:class:`SilenceStarted`, so an alert goes out while the air is still dead) and
once when it ends (:class:`SilenceSpan`, its start and length, the evidence). No I/O, no
clock of its own: the caller passes every instant, so tests drive it with numpy-made
tones and silences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

DEFAULT_THRESHOLD_DBFS = -50.0
DEFAULT_MIN_SECONDS = 10.0
FLOOR_DBFS = -120.0  # the level of digital silence (log of zero has none)
FULL_SCALE = 32768.0


def level_dbfs(pcm: bytes | np.ndarray) -> float:
    """The RMS level of a block in dBFS (0 for a full-scale square wave); an empty or
    all-zero block is :data:`FLOOR_DBFS`."""
    samples = np.frombuffer(pcm, dtype="<i2") if isinstance(pcm, bytes | bytearray) else pcm
    if samples.size == 0:
        return FLOOR_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    if rms <= 0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20 * math.log10(rms / FULL_SCALE))


@dataclass(frozen=True)
class SilenceStarted:
    """The level has stayed below the threshold since ``at`` for ``seconds`` (just past
    the minimum): the moment to raise the alert."""

    at: datetime
    seconds: float


@dataclass(frozen=True)
class SilenceSpan:
    """A silence that lasted at least the minimum, now over (sound came back, the zone
    was held by an emergency, or the window ended)."""

    at: datetime
    seconds: float
    loudest_dbfs: float  # the loudest block inside it (how "silent" it was)

    def as_dict(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "seconds": round(self.seconds, 1), "kind": "silence"}


SilenceEvent = SilenceStarted | SilenceSpan


class SilenceDetector:
    """Silence longer than ``min_seconds`` below ``threshold_dbfs`` in a stream of blocks.

    Blocks are expected in order; a block's instant is where it begins, its length comes
    from its sample count and ``rate``. A gap in the instants (the caller stopped feeding)
    is not silence: call :meth:`interrupt` for that."""

    def __init__(
        self,
        threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS,
        min_seconds: float = DEFAULT_MIN_SECONDS,
        rate: int = 22050,
    ) -> None:
        self.threshold_dbfs = threshold_dbfs
        self.min_seconds = min_seconds
        self.rate = rate
        self._since: datetime | None = None  # the current quiet run began here
        self._quiet = 0.0  # seconds of it so far
        self._loudest = FLOOR_DBFS
        self._announced = False

    @property
    def silent_since(self) -> datetime | None:
        """Where the current quiet run began (None while there is sound)."""
        return self._since

    def feed(self, pcm: bytes | np.ndarray, at: datetime) -> list[SilenceEvent]:
        """One block beginning at ``at``; the events it brings (usually none)."""
        count = (len(pcm) // 2) if isinstance(pcm, bytes | bytearray) else int(pcm.size)
        return self.feed_level(level_dbfs(pcm), at, count / self.rate)

    def feed_level(self, level: float, at: datetime, seconds: float) -> list[SilenceEvent]:
        """The same, for a block whose level the caller measured once for many streams
        (one relay pull, many zones)."""
        if level >= self.threshold_dbfs:
            return self.interrupt(at)
        events: list[SilenceEvent] = []
        if self._since is None:
            self._since, self._quiet, self._loudest = at, 0.0, FLOOR_DBFS
            self._announced = False
        self._quiet += seconds
        self._loudest = max(self._loudest, level)
        if not self._announced and self._quiet >= self.min_seconds:
            self._announced = True
            events.append(SilenceStarted(self._since, self._quiet))
        return events

    def interrupt(self, at: datetime) -> list[SilenceEvent]:
        """The quiet run (if any) ends at ``at``: sound came back, the zone was taken
        by something else, or the stream is over. A span if it was long enough."""
        since, self._since = self._since, None
        if since is None:
            return []
        seconds = max(self._quiet, (at - since).total_seconds())
        self._quiet = 0.0
        if seconds < self.min_seconds:
            return []
        events: list[SilenceEvent] = []
        if not self._announced:  # a run ended exactly at the minimum: still announced
            events.append(SilenceStarted(since, seconds))
        self._announced = False
        events.append(SilenceSpan(since, seconds, self._loudest))
        return events


def block_instants(start: datetime, seconds: float, count: int) -> list[datetime]:
    """Instants of ``count`` consecutive blocks of ``seconds`` from ``start`` (tests, and
    callers that split a rendered file into blocks)."""
    return [start + timedelta(seconds=i * seconds) for i in range(count)]
