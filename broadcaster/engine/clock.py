"""Clocks: the only place the engine learns what time it is.

Every clock also says what *kind* of time it keeps (:attr:`kind`), because the as-run log
records it inside each hashed entry: ``""`` is the real wall clock, ``"simulated"`` a
simulation's clock, ``"shifted:+3600s"`` a wall clock moved by ``BROADCASTER_NOW`` or
``BROADCASTER_CLOCK_OFFSET``. Evidence made under anything but the real clock is never
counted as aired by ``status`` or the reports.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

from broadcaster.core.errors import UsageProblem

REAL = ""
SIMULATED = "simulated"
UNKNOWN = "unknown"  # a clock that does not say what it is: never taken for the real one


def clock_kind(clock: object) -> str:
    """What a clock says it is; a clock without ``kind`` is not trusted to be real."""
    kind = getattr(clock, "kind", UNKNOWN)
    return kind if isinstance(kind, str) else UNKNOWN


def kind_from_env() -> str:
    """The kind of the clock this process would get from :meth:`SystemClock.from_env`."""
    try:
        return SystemClock.from_env().kind
    except UsageProblem:
        return UNKNOWN


class SystemClock:
    """Wall-clock time, optionally shifted so a test or demo can start 'on Monday 05:59'."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @property
    def kind(self) -> str:
        """``""`` for the real wall clock, else ``"shifted:+Ns"`` (whole seconds)."""
        seconds = round(self.offset.total_seconds())
        if self.offset == timedelta(0):
            return REAL
        return f"shifted:{seconds:+d}s"

    @classmethod
    def from_env(cls) -> SystemClock:
        """Injected test time, as AzuraCast does it.

        ``BROADCASTER_CLOCK_OFFSET`` (seconds) shifts every process the same way, so a
        test's CLI calls and daemon agree on 'now'; ``BROADCASTER_NOW`` (ISO 8601 with an
        offset) makes 'now' start at that instant for one process.
        """
        shift = os.environ.get("BROADCASTER_CLOCK_OFFSET")
        if shift:
            try:
                return cls(timedelta(seconds=float(shift)))
            except ValueError:
                raise UsageProblem(
                    f"BROADCASTER_CLOCK_OFFSET: '{shift}' is not a number of seconds"
                ) from None
        value = os.environ.get("BROADCASTER_NOW")
        if not value:
            return cls()
        try:
            pinned = datetime.fromisoformat(value)
        except ValueError:
            raise UsageProblem(f"BROADCASTER_NOW: '{value}' is not an ISO 8601 instant") from None
        if pinned.tzinfo is None:
            raise UsageProblem("BROADCASTER_NOW: give an offset, e.g. 2026-11-23T05:59+07:00")
        return cls(pinned.astimezone(UTC) - datetime.now(UTC))


class SimClock:
    """Simulated time: moves only when the simulated driver says so."""

    kind = SIMULATED

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance_to(self, instant: datetime) -> None:
        with self._lock:
            if instant > self._now:
                self._now = instant
