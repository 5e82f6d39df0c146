"""The raw as-run log of a period, streamed in ``seq`` order for the CSV and the XLSX.

The columns are those of ``broadcaster log --csv`` (every hashed field and the entry's
hash) plus ``prev_hash``, so an inspector holding only this period's extract can still
recompute each entry's hash from its first row on.

A year of a province is a million rows and four instants each: instants come out of the
database as the stored text and are turned into local time here with the UTC offset
looked up once per hour, not through a datetime object and a time-zone lookup per value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcaster.reports.period import Period
from broadcaster.store import reporting
from broadcaster.store.db import Session

COLUMNS = [("zone" if c == "zone_id" else c) for c in reporting.LOG_COLUMNS]
TIME_COLUMNS = frozenset({"scheduled_at", "started_at", "ended_at", "recorded_at"})
TIME_INDEXES = [i for i, c in enumerate(COLUMNS) if c in TIME_COLUMNS]
_EXCEL_EPOCH = datetime(1899, 12, 30)


def stream(
    session: Session, period: Period, zone_ids: Sequence[str], batch: int = 20000
) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples in COLUMNS order; instants as stored (naive UTC text). The period is
    matched like ``log --from`` (:func:`broadcaster.store.reporting.log_rows`)."""
    return reporting.log_rows(session, period.start, period.end, zone_ids, batch)


def count(session: Session, period: Period, zone_ids: Sequence[str]) -> int:
    """How many rows :func:`stream` yields (call both in one read transaction)."""
    return reporting.count_log_rows(session, period.start, period.end, zone_ids)


class LocalTimes:
    """Stored UTC instants -> the station's local time, as ISO text or Excel serials."""

    def __init__(self, tz) -> None:
        self.tz = tz
        self._hours: dict[str, tuple[timedelta, str, float]] = {}
        self._iso: dict[Any, str] = {}
        self._serials: dict[Any, float] = {}

    def _hour(self, text: str) -> tuple[timedelta, str, float]:
        key = text[:13]
        found = self._hours.get(key)
        if found is None:
            hour = datetime.fromisoformat(key.replace(" ", "T") + ":00")
            offset = hour.replace(tzinfo=UTC).astimezone(self.tz).utcoffset() or timedelta(0)
            sign = "-" if offset < timedelta(0) else "+"
            minutes = abs(int(offset.total_seconds())) // 60
            suffix = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
            serial = (hour + offset - _EXCEL_EPOCH) / timedelta(days=1)
            found = self._hours[key] = (offset, suffix, serial)
        return found

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, datetime):  # drivers that hand back datetimes (PostgreSQL)
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return value.isoformat(" ")
        return value

    def iso(self, value: Any) -> str:
        """'2026-11-22 23:00:00.000000' -> '2026-11-23T06:00:00+07:00' (as ``log --csv``).

        Many zones share a slot, so the same instant comes back again and again: the
        last results are kept (bounded)."""
        done = self._iso.get(value)
        if done is not None:
            return done
        text = self._text(value)
        offset, suffix, _serial = self._hour(text)
        done = (datetime.fromisoformat(text) + offset).isoformat() + suffix
        if len(self._iso) > 50_000:
            self._iso.clear()
        self._iso[value] = done
        return done

    def excel(self, value: Any) -> float:
        """The local wall time as an Excel serial day number (dates are numbers there)."""
        done = self._serials.get(value)
        if done is not None:
            return done
        text = self._text(value)
        _offset, _suffix, serial = self._hour(text)
        rest = text[14:]  # "MM:SS.ffffff" after the hour
        done = serial + (int(rest[:2]) * 60 + float(rest[3:] or 0)) / 86400.0
        if len(self._serials) > 50_000:
            self._serials.clear()
        self._serials[value] = done
        return done
