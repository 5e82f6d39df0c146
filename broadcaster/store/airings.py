"""The airing table's writes and its bulk reads: an airing's status moves here, and only
here, and weeks of thousands of zones go in and come out in bulk.

A move is a compare-and-set (``UPDATE airing ... WHERE id = ? AND status IN (...)``):
two writers racing for the same airing (a cancel and the daemon's start, two sweeps)
cannot both win, and the loser learns it from the row count. A move to a final state
appends its as-run entry in the same transaction, so an airing's status and the
evidence of it can never disagree. Which moves exist is the core's rule
(``core.model.TRANSITIONS``); asking for another is a bug, refused before any SQL.

A planned week at 5,000 zones is thousands of rows: adding them one by one through the
ORM (a validating constructor per row, then the unit of work's bookkeeping per row at
flush) cost more than planning them (issue 15). Here they go in as one multi-row
``INSERT ... RETURNING`` per batch, and ``status`` reads only the columns it judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlmodel import Session
from sqlmodel import select as select_rows  # scalars from ``session.exec`` (one entity)

from broadcaster.core.model import AiringRecord, AiringStatus
from broadcaster.core.timeutil import as_utc
from broadcaster.store import aslog
from broadcaster.store.tables import AiringRow, LogEntry


class IllegalTransition(Exception):
    """A move the core does not allow (a bug in the caller, never a user's mistake)."""


def move(
    session: Session,
    airing_id: int,
    to: AiringStatus,
    *,
    outcome: aslog.Outcome,
    recorded_at: datetime,
    values: dict[str, Any] | None = None,
) -> LogEntry | None:
    """Give the airing its final state ``to`` inside the caller's write transaction, from
    whichever state the core lets it come from (aired only from playing; cancelled only
    from planned...), setting ``values`` too, and append its as-run entry, returned.
    None if the airing was in none of those states (someone else moved it first). The
    move to playing, which has no entry, is :func:`start_many`."""
    sources = to.sources()
    if not to.is_final or not sources:
        raise IllegalTransition(f"airing {airing_id}: no move to {to} here")
    moved = session.execute(
        update(AiringRow)
        .where(
            AiringRow.id == airing_id,
            AiringRow.status.in_([s.value for s in sources]),  # type: ignore[attr-defined]
        )
        .values(status=to.value, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return None
    return aslog.append(session, outcome, recorded_at)


def start_many(session: Session, marks: list[tuple[int, datetime]]) -> set[int]:
    """Planned -> playing for many airings at once, inside the caller's write
    transaction (the start journal's batch of a shared slot); the ids that moved.

    One query finds which of them are still planned and one executemany moves exactly
    those (``BEGIN IMMEDIATE`` on SQLite, the rows locked ``FOR UPDATE`` elsewhere), so no
    cancel can slip between the two: a thousand marks of a shared slot cost two
    statements, not a thousand. An airing named twice moves once, with the first instant
    given for it.
    """
    first: dict[int, datetime] = {}
    for airing_id, started_at in marks:
        first.setdefault(airing_id, started_at)
    ids = list(first)
    planned: set[int] = set()
    for i in range(0, len(ids), _CHUNK):
        planned.update(
            session.execute(
                select(AiringRow.id)
                .where(
                    AiringRow.id.in_(ids[i : i + _CHUNK]),  # type: ignore[union-attr]
                    AiringRow.status == AiringStatus.PLANNED,
                )
                .with_for_update()
            ).scalars()
        )
    if planned:
        table = AiringRow.__table__  # type: ignore[attr-defined]
        moved = session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.status == AiringStatus.PLANNED)
            .values(status=AiringStatus.PLAYING, started_at=bindparam("b_started")),
            [{"b_id": a, "b_started": as_utc(first[a])} for a in ids if a in planned],
        )
        # Under the write lock nothing else moved them; a mismatch is a broken
        # database, and marking nothing is the safe answer (the callers fail).
        if moved.rowcount not in (-1, len(planned)):
            raise RuntimeError(f"marked {moved.rowcount} of {len(planned)} airings playing")
    return planned


_CHUNK = 500  # ids per IN (...): far below SQLite's bound on variables


def insert_airings(session: Session, values: list[Mapping[str, Any]]) -> list[AiringRow]:
    """Insert one row per mapping (AiringRow's column names) and return them as ORM
    objects in the session, in the order given, with their ids.

    One ORM bulk ``INSERT ... RETURNING`` (SQLAlchemy batches it into multi-row
    statements): no per-row constructor or unit-of-work bookkeeping, and the returned
    rows are the same persistent objects a flush would have left in the session."""
    if not values:
        return []
    stmt = insert(AiringRow).returning(AiringRow, sort_by_parameter_order=True)
    return list(session.scalars(stmt, [dict(v) for v in values]).all())


class WeekAiring(NamedTuple):
    """The columns of an airing that judging a week needs (``status``)."""

    id: int
    zone_id: str
    campaign: str
    tags: str
    origin: str
    status: str
    scheduled_at: datetime


def week_airings(
    session: Session,
    start: datetime,
    end: datetime,
    statuses: Iterable[str],
    zone_ids: list[str] | None = None,
) -> list[WeekAiring]:
    """Airings of ``statuses`` scheduled in [start, end) (naive UTC), in time order, as
    plain tuples: building thousands of ORM objects to read seven columns of each was a
    third of ``status`` at 5,000 zones."""
    q = select(
        AiringRow.id,
        AiringRow.zone_id,
        AiringRow.campaign,
        AiringRow.tags,
        AiringRow.origin,
        AiringRow.status,
        AiringRow.scheduled_at,
    ).where(
        AiringRow.scheduled_at >= start,
        AiringRow.scheduled_at < end,
        AiringRow.status.in_(list(statuses)),
    )
    if zone_ids is not None:
        q = q.where(or_(*(AiringRow.zone_id == z for z in zone_ids)))
    rows = session.execute(q.order_by(AiringRow.scheduled_at, AiringRow.id)).all()
    return [WeekAiring(*r) for r in rows]


# -- the engine's and the planner's reads (issue 13: no SQL outside the store) ---------------
# They hand back the rows themselves: the engine closes, retries and re-plans the airings
# it reads, inside its own transactions.


def get(session: Session, airing_id: int) -> AiringRow | None:
    return session.get(AiringRow, airing_id)


def add(session: Session, row: AiringRow) -> AiringRow:
    """Book one airing built by the engine (``planning.new_row``) in the caller's write
    transaction; it gets its id at the flush."""
    session.add(row)
    return row


def due(session: Session, now: datetime) -> list[AiringRow]:
    """Airings still planned whose slot has come (scheduled at or before ``now``), in time
    order."""
    return list(
        session.exec(
            select_rows(AiringRow)
            .where(AiringRow.status == AiringStatus.PLANNED, AiringRow.scheduled_at <= now)
            .order_by(AiringRow.scheduled_at, AiringRow.id)
        ).all()
    )


def next_planned_after(session: Session, instant: datetime) -> datetime | None:
    """The first slot of a planned airing after ``instant`` (UTC), if any."""
    return session.exec(
        select_rows(func.min(AiringRow.scheduled_at)).where(
            AiringRow.status == AiringStatus.PLANNED, AiringRow.scheduled_at > instant
        )
    ).first()


def planned_in(session: Session, after: datetime, until: datetime) -> list[AiringRow]:
    """Airings still planned, scheduled in (after, until]."""
    return list(
        session.exec(
            select_rows(AiringRow).where(
                AiringRow.status == AiringStatus.PLANNED,
                AiringRow.scheduled_at > after,
                AiringRow.scheduled_at <= until,
            )
        ).all()
    )


def planned_times(session: Session, after: datetime, until: datetime) -> list[datetime]:
    """The distinct slots of planned airings in (after, until], as stored, unordered."""
    return list(
        session.exec(
            select_rows(AiringRow.scheduled_at)
            .where(
                AiringRow.status == AiringStatus.PLANNED,
                AiringRow.scheduled_at > after,
                AiringRow.scheduled_at <= until,
            )
            .distinct()
        ).all()
    )


def still_planned(session: Session, ids: list[int]) -> set[int]:
    """Which of ``ids`` are still planned (one query)."""
    return set(
        session.exec(
            select_rows(AiringRow.id).where(
                AiringRow.id.in_(ids),  # type: ignore[union-attr]
                AiringRow.status == AiringStatus.PLANNED,
            )
        ).all()
    )


def with_status(session: Session, status: AiringStatus) -> list[AiringRow]:
    """Every airing in ``status`` (the ones left playing by a crash, at the restart)."""
    return list(session.exec(select_rows(AiringRow).where(AiringRow.status == status)).all())


def ahead_in_zone(
    session: Session, zone_id: str, other_than: int | None, before: datetime
) -> list[AiringRow]:
    """The zone's airings planned or playing, scheduled before ``before``, except one."""
    return list(
        session.exec(
            select_rows(AiringRow).where(
                AiringRow.zone_id == zone_id,
                AiringRow.id != other_than,
                AiringRow.status.in_((AiringStatus.PLANNED, AiringStatus.PLAYING)),  # type: ignore[attr-defined]
                AiringRow.scheduled_at < before,
            )
        ).all()
    )


def between(
    session: Session, start: datetime, end: datetime, zone_ids: list[str] | None = None
) -> list[AiringRow]:
    """Every airing scheduled in [start, end) (of those zones), in time order: what the
    planner counts as booked in a week."""
    q = select_rows(AiringRow).where(AiringRow.scheduled_at >= start, AiringRow.scheduled_at < end)
    if zone_ids is not None:
        q = q.where(or_(*(AiringRow.zone_id == z for z in zone_ids)))
    return list(session.exec(q.order_by(AiringRow.scheduled_at, AiringRow.id)).all())


def last_aired(
    session: Session, start: datetime, end: datetime, zone_ids: list[str] | None = None
) -> list[tuple[str, str, datetime]]:
    """(zone, bulletin, latest slot) of the airings that aired, scheduled in [start, end)."""
    q = select_rows(
        AiringRow.zone_id, AiringRow.bulletin_id, func.max(AiringRow.scheduled_at)
    ).where(
        AiringRow.status == AiringStatus.AIRED,
        AiringRow.scheduled_at >= start,
        AiringRow.scheduled_at < end,
    )
    if zone_ids is not None:
        q = q.where(or_(*(AiringRow.zone_id == z for z in zone_ids)))
    rows = session.exec(q.group_by(AiringRow.zone_id, AiringRow.bulletin_id)).all()
    return [(zone_id, bulletin_id, instant) for zone_id, bulletin_id, instant in rows]


def retime(session: Session, moves: list[tuple[AiringRow, datetime]]) -> None:
    """Give rows read in this write transaction their new slots (UTC), flushed."""
    for row, instant in moves:
        row.scheduled_at = instant
        session.add(row)
    session.flush()


# -- the application layer's reads and writes of single airings --------------------------------


def book(session: Session, rows: list[AiringRow]) -> list[AiringRow]:
    """Book airings built by the engine (``planning.new_row``: an operator's queued airing,
    an emergency's on every zone) in the caller's write transaction; flushed, so each has
    its id for the record handed back."""
    session.add_all(rows)
    session.flush()
    return rows


def reload(session: Session, row: AiringRow) -> AiringRow:
    """The row as the database has it now: :func:`move` updates without touching the
    objects in the session, so a row read before it is stale until reloaded."""
    session.refresh(row)
    return row


def in_session(
    session: Session,
    zone_id: str,
    session_id: str,
    start: datetime,
    end: datetime,
    statuses: Iterable[str],
) -> list[AiringRow]:
    """The zone's airings of one session occurrence (``session_id``, scheduled in [start,
    end), UTC) in ``statuses``: what already takes up the session's time when an operator
    queues one more into it."""
    return list(
        session.exec(
            select_rows(AiringRow).where(
                AiringRow.zone_id == zone_id,
                AiringRow.session_id == session_id,
                AiringRow.scheduled_at >= as_utc(start),
                AiringRow.scheduled_at < as_utc(end),
                AiringRow.status.in_([str(s) for s in statuses]),  # type: ignore[attr-defined]
            )
        ).all()
    )


def planned_of_bulletins(session: Session, bulletin_ids: Iterable[str]) -> list[AiringRow]:
    """The airings still planned of these bulletins, soonest first (then by id): the ones
    that will fail at the gate when a bulletin lost its approval or its audio."""
    return list(
        session.exec(
            select_rows(AiringRow)
            .where(
                AiringRow.status == AiringStatus.PLANNED,
                AiringRow.bulletin_id.in_(sorted(bulletin_ids)),  # type: ignore[attr-defined]
            )
            .order_by(AiringRow.scheduled_at, AiringRow.id)
        ).all()
    )


# -- the dashboard's reads: what is on air and what comes next, not the whole fortnight --


def on_air(session: Session) -> list[AiringRecord]:
    """The airings playing now (served by ``ix_airing_status_time``)."""
    q = select_rows(AiringRow).where(AiringRow.status == AiringStatus.PLAYING)
    return [r.record() for r in session.exec(q.order_by(AiringRow.scheduled_at, AiringRow.id))]


def coming_up(session: Session, now: datetime, until: datetime, limit: int) -> list[AiringRecord]:
    """The next ``limit`` planned airings whose window is still open at ``now`` and that
    start before ``until``, soonest first."""
    q = (
        select_rows(AiringRow)
        .where(
            AiringRow.status == AiringStatus.PLANNED,
            AiringRow.scheduled_at < as_utc(until),
            AiringRow.window_end > as_utc(now),
        )
        .order_by(AiringRow.scheduled_at, AiringRow.zone_id, AiringRow.id)
        .limit(limit)
    )
    return [r.record() for r in session.exec(q)]


def next_per_zone(session: Session, now: datetime, until: datetime) -> dict[str, AiringRecord]:
    """Each zone's first planned airing whose window is still open at ``now`` and that
    starts before ``until``: one row per zone, picked by the database (a window
    function), so a thousand zones cost a thousand rows, not their fortnight."""
    ranked = (
        select(
            AiringRow.id.label("id"),  # type: ignore[union-attr]
            func.row_number()
            .over(
                partition_by=AiringRow.zone_id,
                order_by=(AiringRow.scheduled_at, AiringRow.id),
            )
            .label("rank"),
        )
        .where(
            AiringRow.status == AiringStatus.PLANNED,
            AiringRow.scheduled_at < as_utc(until),
            AiringRow.window_end > as_utc(now),
        )
        .subquery()
    )
    q = select_rows(AiringRow).join(ranked, ranked.c.id == AiringRow.id).where(ranked.c.rank == 1)
    return {r.zone_id: r.record() for r in session.exec(q)}


#: The columns of an ``AiringRecord``, in its fields' order.
_RECORD_COLUMNS = (
    AiringRow.id,
    AiringRow.zone_id,
    AiringRow.bulletin_id,
    AiringRow.campaign,
    AiringRow.priority,
    AiringRow.origin,
    AiringRow.status,
    AiringRow.scheduled_at,
    AiringRow.window_end,
    AiringRow.session_id,
    AiringRow.week,
    AiringRow.duration_seconds,
    AiringRow.created_by,
    AiringRow.reason,
    AiringRow.parent_id,
    AiringRow.started_at,
    AiringRow.ended_at,
)


def records_between(
    session: Session, start: datetime, end: datetime, zone_ids: list[str] | None = None
) -> list[AiringRecord]:
    """What :func:`between` reads, as plain records straight from the columns: a page
    that shows a week of airings builds no ORM object per airing."""
    q = select(*_RECORD_COLUMNS).where(
        AiringRow.scheduled_at >= as_utc(start), AiringRow.scheduled_at < as_utc(end)
    )
    if zone_ids is not None:
        q = q.where(AiringRow.zone_id.in_(zone_ids))  # type: ignore[attr-defined]
    rows = session.execute(q.order_by(AiringRow.scheduled_at, AiringRow.id)).all()
    return [AiringRecord(*r) for r in rows]
