"""``schedule export --ics``: choose the days, read the plan, write the calendar atomically."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from broadcaster.app.context import StationContext
from broadcaster.app.relays import relays_between
from broadcaster.core.timeutil import to_local
from broadcaster.reports import ics
from broadcaster.reports.output import atomic_file, check_target
from broadcaster.reports.period import parse_period


def export_ics(
    ctx: StationContext,
    target: Path,
    period: str | None,
    date_from: str | None,
    date_to: str | None,
) -> tuple[int, int, int]:
    """Returns (events, airings, relay windows). Default span: this ISO week and the
    three after it."""
    tz = ctx.station.tz
    if not period and not (date_from or date_to):
        today = to_local(ctx.clock.now(), tz).date()
        monday = today - timedelta(days=today.weekday())
        date_from, date_to = monday.isoformat(), (monday + timedelta(days=27)).isoformat()
    span = parse_period(period, date_from, date_to, tz)
    target = check_target(target, "ics")
    bulletins = {b.id: b for b in ctx.scripts()[0]}
    with ctx.db.read() as s:
        rows = ics.planned_airings(s, span)
    relays = relays_between(ctx.station, span.start, span.end)
    with atomic_file(target, "ics") as tmp:
        events = ics.write_ics(tmp, ctx.station, rows, bulletins, ctx.clock.now(), relays)
    return events, len(rows), len(relays)
