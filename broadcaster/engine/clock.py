"""Clocks: the only place the engine learns what time it is.

Every clock also says what *kind* of time it keeps (:attr:`kind`), because the as-run log
records it inside each hashed entry: ``""`` is the real wall clock, ``"simulated"`` a
simulation's clock, ``"shifted:+3600s"`` a wall clock moved by ``BROADCASTER_NOW`` or
``BROADCASTER_CLOCK_OFFSET``. Evidence made under anything but the real clock is never
counted as aired by ``status`` or the reports.
"""

from __future__ import annotations

import math
import os
import threading
from datetime import UTC, datetime, timedelta

from broadcaster.core.errors import FieldProblem, UsageProblem
from broadcaster.core.timeutil import MAX_YEAR, MIN_YEAR, check_year
from broadcaster.i18n import _

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
            return cls(_offset_from_env(shift))
        value = os.environ.get("BROADCASTER_NOW")
        if not value:
            return cls()
        return cls(_pinned_from_env(value) - datetime.now(UTC))


#: How far a test clock may be shifted: far enough for any test, never past the calendar.
MAX_OFFSET_SECONDS = 50 * 366 * 86400.0


def _offset_from_env(shift: str) -> timedelta:
    """``BROADCASTER_CLOCK_OFFSET``: a finite number of seconds within 50 years."""
    try:
        seconds = float(shift)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise FieldProblem(
            _("'{value}' is not a number of seconds").format(value=shift),
            field="BROADCASTER_CLOCK_OFFSET",
        )
    if abs(seconds) > MAX_OFFSET_SECONDS:
        raise FieldProblem(
            _("'{value}' shifts the clock more than 50 years").format(value=shift),
            field="BROADCASTER_CLOCK_OFFSET",
        )
    return timedelta(seconds=seconds)


def _pinned_from_env(value: str) -> datetime:
    """``BROADCASTER_NOW``: an ISO 8601 instant with an offset, inside the calendar."""
    try:
        pinned = datetime.fromisoformat(value)
    except ValueError:
        raise FieldProblem(
            _("'{value}' is not an ISO 8601 instant").format(value=value), field="BROADCASTER_NOW"
        ) from None
    if pinned.tzinfo is None:
        raise FieldProblem(
            _("give an offset, e.g. 2026-11-23T05:59+07:00"), field="BROADCASTER_NOW"
        )
    try:
        check_year(pinned.astimezone(UTC), "BROADCASTER_NOW", value)
    except OverflowError:  # 0001-01-01T00:00+07:00 is before year 1 in UTC
        raise FieldProblem(
            _("'{text}' is outside the years {min} to {max}").format(
                text=value, min=MIN_YEAR, max=MAX_YEAR
            ),
            field="BROADCASTER_NOW",
        ) from None
    return pinned.astimezone(UTC)


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
