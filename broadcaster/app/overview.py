"""The station at a glance (the web station's Tổng quan): what is on air now per zone,
the next airings, and this week's state per zone and requirement, all from the schedule
and the hashed as-run log as ``status`` counts them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcaster.app import schedule
from broadcaster.app.context import StationContext
from broadcaster.core.compliance import ZoneWeekStatus
from broadcaster.core.model import AiringRecord
from broadcaster.core.timeutil import iso_week_of_instant
from broadcaster.store import airings


@dataclass(frozen=True)
class ZoneNow:
    zone_id: str
    zone_name: str
    on_air: AiringRecord | None
    next_airing: AiringRecord | None


@dataclass(frozen=True)
class Overview:
    now: datetime
    week: str
    zones: list[ZoneNow]
    upcoming: list[AiringRecord]  # the next planned airings of every zone, soonest first
    status: list[ZoneWeekStatus]
    log_entries: int
    log_head: str
    zone_names: dict[str, str]
    requirement_titles: dict[str, str]


def overview(ctx: StationContext, upcoming: int = 10) -> Overview:
    """What the dashboard shows now. It is polled every few seconds by every open
    browser, so it reads only what it shows: the airings on air, each zone's next one
    and the next few of all, over the coming fortnight (not every airing of it)."""
    now = ctx.clock.now()
    week = iso_week_of_instant(now, ctx.station.tz)
    until = now + timedelta(days=14)
    with ctx.db.read() as s:
        playing: dict[str, AiringRecord] = {}
        for a in airings.on_air(s):
            playing.setdefault(a.zone_id, a)
        first = airings.next_per_zone(s, now, until)
        planned = airings.coming_up(s, now, until, upcoming)
    zones = [ZoneNow(z.id, z.name, playing.get(z.id), first.get(z.id)) for z in ctx.station.zones]
    report = schedule.status(ctx, week)
    return Overview(
        now=now,
        week=week,
        zones=zones,
        upcoming=planned,
        status=report.rows,
        log_entries=report.head_count,
        log_head=report.head_hash,
        zone_names={z.id: z.name for z in ctx.station.zones},
        requirement_titles={r.id: r.title or r.id for r in ctx.station.requirements},
    )
