"""Glue between the pure planner and the store: what may be booked, and booking it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from broadcaster.core.model import Airing, AiringStatus, Bulletin, Origin, Priority, Station
from broadcaster.core.planner import BookedAiring, PlanResult, Playable, plan_week
from broadcaster.core.timeutil import as_utc, iso_week_of_instant, week_bounds_utc
from broadcaster.engine.library import approved_rendition
from broadcaster.store.tables import AiringRow


def playables(session: Session, bulletins: list[Bulletin]) -> list[Playable]:
    """Bulletins with approved audio for their current content, with real durations."""
    out = []
    for b in bulletins:
        found = approved_rendition(session, b)
        if found is not None:
            out.append(Playable(b, found[0].duration_seconds))
    return out


def to_domain(row: AiringRow) -> Airing:
    return Airing(
        id=row.id,
        zone_id=row.zone_id,
        bulletin_id=row.bulletin_id,
        scheduled_at=as_utc(row.scheduled_at),
        window_end=as_utc(row.window_end),
        session_id=row.session_id,
        priority=Priority(row.priority),
        origin=Origin(row.origin),
        status=AiringStatus(row.status),
        duration_seconds=row.duration_seconds,
        created_by=row.created_by,
        reason=row.reason,
        parent_id=row.parent_id,
    )


def campaigns_of(row: AiringRow) -> frozenset[str]:
    return frozenset([row.campaign, *(t for t in row.tags.split(",") if t)])


def week_rows(
    session: Session, station: Station, year: int, week: int, zone_ids: list[str] | None = None
) -> list[AiringRow]:
    start, end = week_bounds_utc(year, week, station.tz)
    q = select(AiringRow).where(
        AiringRow.scheduled_at >= as_utc(start), AiringRow.scheduled_at < as_utc(end)
    )
    if zone_ids is not None:
        q = q.where(or_(*(AiringRow.zone_id == z for z in zone_ids)))
    return list(session.exec(q.order_by(AiringRow.scheduled_at, AiringRow.id)).all())


def new_row(
    airing: Airing, bulletin: Bulletin, station: Station, now: datetime, status: str = "planned"
) -> AiringRow:
    return AiringRow(
        zone_id=airing.zone_id,
        bulletin_id=airing.bulletin_id,
        campaign=bulletin.campaign,
        tags="," + ",".join(bulletin.tags) + ("," if bulletin.tags else ""),
        priority=airing.priority.value,
        origin=airing.origin.value,
        status=status,
        scheduled_at=as_utc(airing.scheduled_at),
        window_end=as_utc(airing.window_end),
        session_id=airing.session_id,
        week=iso_week_of_instant(airing.scheduled_at, station.tz),
        duration_seconds=airing.duration_seconds,
        created_by=airing.created_by,
        created_at=as_utc(now),
        reason=airing.reason,
        parent_id=airing.parent_id,
    )


def plan_and_store(
    session: Session,
    station: Station,
    bulletins: list[Bulletin],
    year: int,
    week: int,
    now: datetime,
    *,
    zone_ids: list[str] | None = None,
    origin: Origin = Origin.PLAN,
    created_by: str = "planner",
) -> tuple[PlanResult, list[AiringRow]]:
    """Run the planner against what is booked and persist its result in ``session``."""
    rows = week_rows(session, station, year, week, zone_ids)
    by_id = {r.id: r for r in rows}
    booked = [BookedAiring(to_domain(r), campaigns_of(r)) for r in rows]
    # A booking needs a minute of notice: nothing is planned into a slot already starting.
    result = plan_week(
        station,
        year,
        week,
        playables(session, bulletins),
        booked,
        now + timedelta(minutes=1),
        zone_ids=zone_ids,
        origin=origin,
        created_by=created_by,
    )
    catalogue = {b.id: b for b in bulletins}
    created = [new_row(a, catalogue[a.bulletin_id], station, now) for a in result.new]
    for row in created:
        session.add(row)
    for moved in result.retimed:
        stored = by_id[moved.id]
        stored.scheduled_at = as_utc(moved.scheduled_at)
        session.add(stored)
    session.flush()
    return result, created
