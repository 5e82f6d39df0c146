"""Glue between the pure planner and the store: what may be booked, and booking it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from broadcaster.core.compliance import AiringFact
from broadcaster.core.model import Airing, AiringStatus, Bulletin, Origin, Priority, Station
from broadcaster.core.planner import BookedAiring, PlanResult, Playable, plan_week
from broadcaster.core.timeutil import as_utc, iso_week_of_instant, week_bounds_utc
from broadcaster.i18n import _
from broadcaster.store import airings, renditions
from broadcaster.store.airings import WeekAiring, insert_airings, week_airings
from broadcaster.store.approvals import approved_rendition
from broadcaster.store.db import Session
from broadcaster.store.tables import AiringRow


@dataclass(frozen=True)
class Unairable:
    """A bulletin the planner leaves out (it would only fail at the gate), and why."""

    bulletin_id: str
    source_path: str
    reason: str


def sort_airable(
    session: Session, bulletins: list[Bulletin], root: Path | None
) -> tuple[list[Playable], list[Unairable]]:
    """Split bulletins into those that can air (approved audio of their current content,
    whose file is there; with real durations) and the approved-once ones that cannot.

    The gate re-checks every airing; planning a bulletin whose audio was deleted or whose
    script changed after approval would only book failures and then make-ups of them.
    A bulletin never approved is simply not planned (``check`` says it is unapproved).
    """
    airable: list[Playable] = []
    left_out: list[Unairable] = []
    ever = renditions.approved_bulletin_ids(session)
    for b in bulletins:
        found = approved_rendition(session, b)
        if found is None:
            if b.id in ever and b.priority != Priority.EMERGENCY:
                left_out.append(
                    Unairable(
                        b.id,
                        b.source_path,
                        _("changed since its approval: not planned until approved again"),
                    )
                )
            continue
        rendition = found[0]
        if root is not None and not (root / rendition.audio_path).is_file():
            left_out.append(
                Unairable(
                    b.id,
                    b.source_path,
                    _(
                        "approved audio {path} is missing: not planned; run "
                        "'broadcaster render {id}' and approve it again"
                    ).format(path=rendition.audio_path, id=b.id),
                )
            )
            continue
        airable.append(Playable(b, rendition.duration_seconds))
    return airable, left_out


def playables(
    session: Session, bulletins: list[Bulletin], root: Path | None = None
) -> list[Playable]:
    """Bulletins that can air, with real durations (see :func:`sort_airable`)."""
    return sort_airable(session, bulletins, root)[0]


HISTORY = timedelta(weeks=8)  # older airings rank as 'never aired' in the rotation


def last_aired(
    session: Session, before: datetime, zone_ids: list[str] | None = None
) -> dict[str, dict[str, datetime]]:
    """Per zone and bulletin, the latest airing that really aired in the weeks before
    ``before``: the rotation's history (older ones rank as never aired, which is the
    same order, and the query stays small on a station with years of log)."""
    out: dict[str, dict[str, datetime]] = {}
    for zone_id, bulletin_id, instant in airings.last_aired(
        session, as_utc(before - HISTORY), as_utc(before), zone_ids
    ):
        out.setdefault(zone_id, {})[bulletin_id] = as_utc(instant)
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


def campaigns_of(row: AiringRow | WeekAiring) -> frozenset[str]:
    return frozenset([row.campaign, *(t for t in row.tags.split(",") if t)])


def week_rows(
    session: Session, station: Station, year: int, week: int, zone_ids: list[str] | None = None
) -> list[AiringRow]:
    start, end = week_bounds_utc(year, week, station.tz)
    return airings.between(session, as_utc(start), as_utc(end), zone_ids)


def planned_facts(
    session: Session, station: Station, year: int, week: int, closed: set[int]
) -> list[AiringFact]:
    """The week's airings still planned or playing that the log has not closed, as facts
    for :func:`~broadcaster.core.compliance.evaluate_week`: a plan, not an outcome, so
    each counts as planned, never as aired. Reads only the columns judged."""
    start, end = week_bounds_utc(year, week, station.tz)
    return [
        AiringFact(
            r.zone_id,
            campaigns_of(r),
            AiringStatus.PLANNED,
            as_utc(r.scheduled_at),
            Origin(r.origin),
        )
        for r in week_airings(
            session, as_utc(start), as_utc(end), (AiringStatus.PLANNED, AiringStatus.PLAYING)
        )
        if r.id not in closed
    ]


def row_values(
    airing: Airing, bulletin: Bulletin, station: Station, now: datetime, status: str = "planned"
) -> dict[str, object]:
    """The airing table's columns for a new airing (what :func:`new_row` builds, as a
    mapping a bulk insert takes)."""
    return {
        "zone_id": airing.zone_id,
        "bulletin_id": airing.bulletin_id,
        "campaign": bulletin.campaign,
        "tags": "," + ",".join(bulletin.tags) + ("," if bulletin.tags else ""),
        "priority": airing.priority.value,
        "origin": airing.origin.value,
        "status": status,
        "scheduled_at": as_utc(airing.scheduled_at),
        "window_end": as_utc(airing.window_end),
        "session_id": airing.session_id,
        "week": iso_week_of_instant(airing.scheduled_at, station.tz),
        "duration_seconds": airing.duration_seconds,
        "created_by": airing.created_by,
        "created_at": as_utc(now),
        "reason": airing.reason,
        "parent_id": airing.parent_id,
    }


def new_row(
    airing: Airing, bulletin: Bulletin, station: Station, now: datetime, status: str = "planned"
) -> AiringRow:
    return AiringRow(**row_values(airing, bulletin, station, now, status))


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
    root: Path | None = None,
) -> tuple[PlanResult, list[AiringRow]]:
    """Run the planner against what is booked and persist its result in ``session``.

    ``root`` is the station folder: with it, bulletins whose approved audio file is gone
    are left out (make-ups included), as the gate would refuse them on air."""
    rows = week_rows(session, station, year, week, zone_ids)
    week_start, _end = week_bounds_utc(year, week, station.tz)
    by_id = {r.id: r for r in rows}
    booked = [BookedAiring(to_domain(r), campaigns_of(r)) for r in rows]
    # A booking needs a minute of notice: nothing is planned into a slot already starting.
    result = plan_week(
        station,
        year,
        week,
        playables(session, bulletins, root),
        booked,
        now + timedelta(minutes=1),
        zone_ids=zone_ids,
        origin=origin,
        created_by=created_by,
        last_aired=last_aired(session, week_start, zone_ids) if origin == Origin.PLAN else None,
    )
    catalogue = {b.id: b for b in bulletins}
    created = insert_airings(
        session, [row_values(a, catalogue[a.bulletin_id], station, now) for a in result.new]
    )
    airings.retime(session, [(by_id[m.id], as_utc(m.scheduled_at)) for m in result.retimed])
    return result, created
