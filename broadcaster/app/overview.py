"""The station at a glance (the web station's Tổng quan): what is on air now per zone,
the next airings, and this week's state per zone and requirement, all from the schedule
and the hashed as-run log as ``status`` counts them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcaster.app import schedule
from broadcaster.app.context import StationContext
from broadcaster.core.compliance import ZoneWeekStatus
from broadcaster.core.model import AiringRecord, AiringStatus
from broadcaster.core.timeutil import iso_week_of_instant


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
    now = ctx.clock.now()
    week = iso_week_of_instant(now, ctx.station.tz)
    following = iso_week_of_instant(now + timedelta(days=7), ctx.station.tz)
    airings = schedule.list_airings(ctx, week) + schedule.list_airings(ctx, following)
    playing: dict[str, AiringRecord] = {}
    planned: list[AiringRecord] = []
    for a in airings:
        if a.status == AiringStatus.PLAYING:
            playing.setdefault(a.zone_id, a)
        elif a.status == AiringStatus.PLANNED and a.window_end > now:
            planned.append(a)
    planned.sort(key=lambda a: (a.scheduled_at, a.zone_id, a.id))
    first: dict[str, AiringRecord] = {}
    for a in planned:
        first.setdefault(a.zone_id, a)
    zones = [ZoneNow(z.id, z.name, playing.get(z.id), first.get(z.id)) for z in ctx.station.zones]
    report = schedule.status(ctx, week)
    return Overview(
        now=now,
        week=week,
        zones=zones,
        upcoming=planned[:upcoming],
        status=report.rows,
        log_entries=report.head_count,
        log_head=report.head_hash,
        zone_names={z.id: z.name for z in ctx.station.zones},
        requirement_titles={r.id: r.title or r.id for r in ctx.station.requirements},
    )
