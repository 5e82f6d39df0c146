"""The raw as-run log of a period, streamed in ``seq`` order for the CSV and the XLSX.

The columns are those of ``broadcaster log --csv`` (every hashed field and the entry's
hash) plus ``prev_hash``, so an inspector holding only this period's extract can still
recompute each entry's hash from its first row on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from broadcaster.reports.figures import L, when_column
from broadcaster.reports.period import Period
from broadcaster.store import aslog

COLUMNS = [("zone" if f == "zone_id" else f) for f in aslog.HASHED_FIELDS] + [
    "entry_hash",
    "prev_hash",
]
TIME_COLUMNS = frozenset({"scheduled_at", "started_at", "ended_at", "recorded_at"})
_SOURCE = [getattr(L, "zone_id" if c == "zone" else c) for c in COLUMNS]


def stream(
    session: Session, period: Period, zone_ids: Sequence[str], batch: int = 20000
) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples in COLUMNS order; instants as naive UTC datetimes (as stored)."""
    when = when_column()
    q = (
        select(*_SOURCE)
        .where(when >= period.start, when < period.end, L.zone_id.in_(list(zone_ids)))
        .order_by(L.seq)
        .execution_options(yield_per=batch)
    )
    for part in session.execute(q).partitions(batch):
        yield from part


def as_local(value: datetime | None, tz) -> datetime | None:
    if value is None:
        return None
    return (
        value.replace(tzinfo=UTC).astimezone(tz) if value.tzinfo is None else value.astimezone(tz)
    )
