"""The reports' reads: every grouping an evidence report counts, the raw log of a period
and the planned airings of a calendar, in SQL and in bulk.

The log can hold millions of entries (a year of a province's clusters), so nothing here
hands log rows to Python one by one as objects: each grouping runs in SQL and returns
plain tuples, at most one per zone × week × outcome (or per bulletin, per zone-day), and
the raw log streams as tuples straight off the driver's cursor. ``reports/`` adds those
small groups up and applies the weekly rule; it writes no SQL.

An entry belongs to a period by ``coalesce(scheduled_at, recorded_at)`` (as ``log
--from --to``) or, for the groupings, by its scheduled time. Everything judged comes from
the hashed log: its outcome, campaigns, ISO week and booked duration. An entry written
before the log carried campaign and week ("legacy", ``week`` empty) takes them from its
airing. Instants go in as UTC and come out as stored (naive UTC).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlmodel import Session, select

from broadcaster.core.model import AiringRecord
from broadcaster.core.timeutil import as_utc
from broadcaster.store import aslog
from broadcaster.store.tables import AiringRow, Approval, LogEntry

L = LogEntry
A = AiringRow

OUTCOMES = ("aired", "failed", "missed", "interrupted", "cancelled")

# -- the rules of the log's columns, in SQL --------------------------------------------------


def when_column() -> Any:
    """The instant that places a log entry in a period (as ``aslog.entries`` does)."""
    return func.coalesce(L.scheduled_at, L.recorded_at)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _seconds_between(start: Any, end: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _matches(campaign: str) -> ColumnElement[bool]:
    """The planner's rule: a bulletin counts for a campaign by its campaign or a tag
    (of a planned airing, in the airing table)."""
    return or_(A.campaign == campaign, A.tags.contains(f",{campaign},", autoescape=True))


def _legacy() -> ColumnElement[bool]:
    """An entry written before the log carried campaign and week."""
    return L.week == ""


def _logged_matches(campaign: str) -> ColumnElement[bool]:
    """The same rule on the entry's hashed ``campaigns``; the airing's for a legacy one."""
    return or_(
        and_(~_legacy(), L.campaigns.contains(f",{campaign},", autoescape=True)),
        and_(_legacy(), _matches(campaign)),
    )


def _logged_week() -> Any:
    return case((_legacy(), A.week), else_=L.week)


def _logged_duration() -> Any:
    return case((_legacy(), A.duration_seconds), else_=L.duration_seconds)


#: A relay window's entry (issue 16): origin "relay", bulletin id "relay:<relay id>".
#: Bulletin figures and the weekly rule leave them out; :func:`relay_groups` counts them.
RELAY_ORIGIN = "relay"
RELAY_PREFIX = "relay:"
#: A live broadcast's entries (issue 16): origin "live", bulletin id "live:<id>". They
#: are not bulletins either: no campaign, no approval, never counted for a requirement.
LIVE_ORIGIN = "live"
LIVE_PREFIX = "live:"


def _not_relay() -> ColumnElement[bool]:
    """Bulletins' entries only: not a relay window's, not a live broadcast's."""
    return L.origin.not_in((RELAY_ORIGIN, LIVE_ORIGIN))  # type: ignore[union-attr]


def relay_groups(
    session: Session, start: datetime, end: datetime, only_real: bool = False
) -> list[tuple[str, str, int, float, float]]:
    """(zone, outcome, windows, seconds relayed, seconds of the windows) of the relay
    windows scheduled in [start, end)."""
    return _own_content_groups(session, start, end, RELAY_ORIGIN, only_real)


def live_groups(
    session: Session, start: datetime, end: datetime, only_real: bool = False
) -> list[tuple[str, str, int, float, float]]:
    """(zone, outcome, broadcasts, seconds that went out, seconds on air) of the live
    broadcasts begun in [start, end)."""
    return _own_content_groups(session, start, end, LIVE_ORIGIN, only_real)


def _own_content_groups(
    session: Session, start: datetime, end: datetime, origin: str, only_real: bool
) -> list[tuple[str, str, int, float, float]]:
    q = _real_only(
        select(
            L.zone_id,
            L.outcome,
            func.count(),
            func.sum(L.relayed_seconds),
            func.sum(L.duration_seconds),
        ).where(L.scheduled_at >= start, L.scheduled_at < end, L.origin == origin),
        only_real,
    ).group_by(L.zone_id, L.outcome)
    found = session.execute(q)
    return [(z, o, int(n), float(r or 0.0), float(d or 0.0)) for z, o, n, r, d in found]


def _real_only(q, only_real: bool):
    """Leave out entries made under a clock that is not the real one."""
    return q.where(L.clock == "") if only_real else q


def _narrow(q, dialect: str):
    """On SQLite, make the per-row projection a co-routine (``LIMIT -1`` stops the
    flattener): the GROUP BY sorter then holds a few numbers per row instead of every
    column the aggregates read, which is most of its cost on a million rows."""
    return q.limit(-1) if dialect == "sqlite" else q


def _unindexed(column: Any, dialect: str) -> Any:
    """SQLite's unary ``+``: the same value, but the planner no longer sees the column, so
    it cannot pick the column's index for the range and then sort a million rows."""
    if dialect != "sqlite":
        return column
    return UnaryExpression(column.__clause_element__(), operator=custom_op("+"), type_=column.type)


# -- the figures' groupings ------------------------------------------------------------------


def log_groups(
    session: Session,
    start: datetime,
    end: datetime,
    windows: Sequence[tuple[str, datetime, datetime]],
    only_real: bool = False,
) -> list[tuple]:
    """The log scheduled in [start, end) grouped by (week, zone, outcome, emergency
    occurrence), one tuple per group:

    ``(week, zone_id, outcome, emergency, count, seconds aired, seconds requested,
    smallest reason, legacy count, *per window count)``

    where ``emergency`` is "bulletin scheduled-instant" for an emergency's entries (else
    None), seconds aired are those of aired and interrupted entries, seconds requested
    leave cancelled ones out, the reason is of entries not aired, and each of
    ``windows`` (campaign, from, to) counts the entries of that campaign scheduled in
    [from, to)."""
    dialect = _dialect(session)
    when = L.scheduled_at
    secs = _seconds_between(L.started_at, L.ended_at, dialect)
    cols: list[Any] = [
        _logged_week().label("w"),
        L.zone_id.label("z"),
        L.outcome.label("o"),
        case(
            (
                L.triggered_by.startswith("emergency:", autoescape=True),
                L.bulletin_id + " " + cast(L.scheduled_at, String),
            )
        ).label("e"),
        case((L.outcome.in_(("aired", "interrupted")), secs)).label("secs"),
        case((L.outcome != "cancelled", _logged_duration())).label("req"),
        case((L.outcome != "aired", L.reason)).label("r"),
        case((and_(_legacy(), L.airing_id.is_not(None)), 1), else_=0).label("old"),
    ]
    for i, (campaign, ws, we) in enumerate(windows):
        cols.append(
            case((and_(_logged_matches(campaign), when >= ws, when < we), 1), else_=0).label(
                f"c{i}"
            )
        )
    inner = _narrow(
        _real_only(
            select(*cols)
            .select_from(L)
            .outerjoin(A, A.id == L.airing_id)
            .where(when >= start, when < end, _not_relay()),
            only_real,
        ),
        dialect,
    ).subquery()
    c = inner.c
    q = select(
        c.w,
        c.z,
        c.o,
        c.e,
        func.count(),
        func.sum(c.secs),
        func.sum(c.req),
        func.min(c.r),
        func.sum(c.old),
        *(func.sum(c[f"c{i}"]) for i in range(len(windows))),
    ).group_by(c.w, c.z, c.o, c.e)
    return [tuple(row) for row in session.execute(q)]


def bulletin_groups(
    session: Session, start: datetime, end: datetime, only_real: bool = False
) -> list[tuple[str, str, str, int]]:
    """(bulletin, outcome, zone, count) of the log scheduled in [start, end), read in the
    order of ``ix_log_bulletin``, which holds every column the query needs: SQLite
    aggregates while it walks the index, no sort (leaving out non-real entries reads the
    rows too; only databases holding some pay)."""
    when = _unindexed(L.scheduled_at, _dialect(session))
    q = _real_only(
        select(L.bulletin_id, L.outcome, L.zone_id, func.count()).where(
            when >= start,
            when < end,
            ~L.bulletin_id.startswith(RELAY_PREFIX, autoescape=True),
            ~L.bulletin_id.startswith(LIVE_PREFIX, autoescape=True),
        ),
        only_real,
    ).group_by(L.bulletin_id, L.outcome, L.zone_id)
    return [tuple(row) for row in session.execute(q)]


def pending_groups(
    session: Session, start: datetime, end: datetime, campaigns: Sequence[str]
) -> list[tuple]:
    """Booked airings without an outcome, found through the (status, time) index: rows
    still planned or playing whose airing has no outcome in the log (a row set back to
    'planned' behind the log's back stays what the log says). One tuple per zone-week:
    ``(zone_id, week, count, seconds booked, *count of each campaign's)``, what a week not
    over yet can still air."""
    closed = select(L.seq).where(L.airing_id == A.id, L.outcome.in_(OUTCOMES)).correlate(A).exists()
    per_campaign = [func.sum(case((_matches(c), 1), else_=0)) for c in campaigns]
    q = (
        select(A.zone_id, A.week, func.count(), func.sum(A.duration_seconds), *per_campaign)
        .where(
            A.status.in_(("planned", "playing")),
            A.scheduled_at >= start,
            A.scheduled_at < end,
            ~closed,
        )
        .group_by(A.zone_id, A.week)
    )
    return [tuple(row) for row in session.execute(q)]


def aired_by_day(
    session: Session,
    campaign: str,
    start: datetime,
    end: datetime,
    days: Sequence[tuple[str, datetime, datetime]],
    only_real: bool = False,
) -> list[tuple[str, str, int]]:
    """(zone, day, count) of the campaign's entries aired and scheduled in [start, end),
    each in the first of ``days`` (label, from, to) whose [from, to) holds it; entries in
    none are left out."""
    if not days:
        return []
    when = L.scheduled_at
    bucket = case(
        *[(and_(when >= ds, when < de), label) for label, ds, de in days],
        else_=literal(None),
    )
    q = _real_only(
        select(L.zone_id, bucket, func.count())
        .select_from(L)
        .outerjoin(A, A.id == L.airing_id)
        .where(when >= start, when < end, L.outcome == "aired", _logged_matches(campaign)),
        only_real,
    ).group_by(L.zone_id, bucket)
    return [(zone_id, day, n) for zone_id, day, n in session.execute(q) if day is not None]


def unreal_in_period(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, str, int]]:
    """(zone, outcome, count) of the entries placed in [start, end) that were made under a
    clock that is not the real one."""
    when = when_column()
    q = (
        select(L.zone_id, L.outcome, func.count())
        .where(L.clock > "", when >= start, when < end)
        .group_by(L.zone_id, L.outcome)
    )
    return [(zone_id, outcome, n) for zone_id, outcome, n in session.execute(q)]


def first_approvals(session: Session) -> list[tuple[str, Any]]:
    """(bulletin, instant of its first approval) for every bulletin ever approved; the
    instant as the driver returns it (naive UTC, or its text)."""
    q = select(Approval.bulletin_id, func.min(Approval.approved_at)).group_by(Approval.bulletin_id)
    return [(bid, first) for bid, first in session.execute(q)]


def aired_audio(
    session: Session,
    start: datetime,
    end: datetime,
    zone_ids: Sequence[str],
    only_real: bool = True,
) -> list[tuple[str, str, int]]:
    """(audio hash, bulletin, times) of every audio the log says aired (or was cut off
    on air) in the zones, placed in [start, end): what the evidence pack finds again on
    disk by hash. Entries with no audio hash are left out; with ``only_real``, so are
    those made under a clock that is not the real one."""
    when = when_column()
    q = _real_only(select(L.audio_sha256, L.bulletin_id, func.count()), only_real)
    q = q.where(
        when >= start,
        when < end,
        L.zone_id.in_(list(zone_ids)),
        L.outcome.in_(("aired", "interrupted")),
        L.audio_sha256 != "",
        _not_relay(),  # a relay's recording is the file output's, not an approved audio
    ).group_by(L.audio_sha256, L.bulletin_id)
    return [(sha, bulletin_id, n) for sha, bulletin_id, n in session.execute(q)]


def week_outcomes(
    session: Session, start: datetime, end: datetime, week: str, outcomes: Sequence[str]
) -> list[tuple[LogEntry, AiringRow | None]]:
    """The log's entries of ``outcomes`` scheduled in [start, end) (UTC) that count for
    ``week`` (the ISO week they carry, or none: an entry older than the judged fields),
    in ``seq`` order, each with its airing row when it has one (the only place such an
    old entry's campaigns were kept): what ``status`` judges a week from."""
    q = (
        select(L, A)
        .outerjoin(A, A.id == L.airing_id)
        .where(L.scheduled_at >= as_utc(start), L.scheduled_at < as_utc(end))  # ix_log_time
        .where(L.outcome.in_(list(outcomes)), or_(L.week == week, L.week == ""), _not_relay())
        .order_by(L.seq)
    )
    return [(entry, row) for entry, row in session.exec(q).all()]


# -- the calendar ----------------------------------------------------------------------------


def planned_airings(session: Session, start: datetime, end: datetime) -> list[AiringRecord]:
    """Airings planned or playing, scheduled in [start, end), by time, zone and id."""
    rows = session.exec(
        select(AiringRow)
        .where(
            AiringRow.status.in_(("planned", "playing")),  # type: ignore[attr-defined]
            AiringRow.scheduled_at >= start,
            AiringRow.scheduled_at < end,
        )
        .order_by(AiringRow.scheduled_at, AiringRow.zone_id, AiringRow.id)
    ).all()
    return [r.record() for r in rows]


# -- the raw log -----------------------------------------------------------------------------

# Every hashed field (``zone_id`` among them) and the entry's hash and its predecessor's.
LOG_COLUMNS = (*aslog.HASHED_FIELDS, "entry_hash", "prev_hash")
_TIME_COLUMNS = frozenset({"scheduled_at", "started_at", "ended_at", "recorded_at"})
_SOURCE = [
    type_coerce(getattr(L, c), String) if c in _TIME_COLUMNS else getattr(L, c) for c in LOG_COLUMNS
]
_ZONE_AT = LOG_COLUMNS.index("zone_id")


def log_rows(
    session: Session, start: datetime, end: datetime, zone_ids: Sequence[str], batch: int = 20000
) -> Iterator[tuple[Any, ...]]:
    """The log placed in [start, end), in ``seq`` order, as tuples in LOG_COLUMNS order;
    instants as stored (naive UTC text on SQLite).

    The period is matched on ``coalesce(scheduled_at, recorded_at)`` like ``log --from``,
    which also keeps SQLite walking the table in ``seq`` order instead of sorting a
    million rows; zones are filtered here for the same reason."""
    when = when_column()
    wanted = set(zone_ids)
    q = (
        select(*_SOURCE)
        .where(when >= start, when < end)
        .order_by(L.seq)
        .execution_options(yield_per=batch)
    )
    # Core, not the ORM session: no per-row entity bookkeeping on a million rows.
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        yield from _sqlite_rows(connection, start, end, wanted, batch)
        return
    for part in connection.execute(q).partitions(batch):
        for row in part:
            if row[_ZONE_AT] in wanted:
                yield tuple(row)


_SQLITE_SELECT = (
    "SELECT "
    + ", ".join(LOG_COLUMNS)
    + " FROM as_run_log WHERE coalesce(scheduled_at, recorded_at) >= ?"
    " AND coalesce(scheduled_at, recorded_at) < ? ORDER BY seq"
)


def _stored(instant: datetime) -> str:
    """An instant as SQLAlchemy stores DateTime in SQLite (naive UTC text)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_rows(connection, start: datetime, end: datetime, wanted: set[str], batch: int):
    """The same query on the sqlite3 cursor itself: rows come out as plain tuples, without
    SQLAlchemy's per-row result machinery (a third of the CSV's time on a million rows).
    It runs inside the session's transaction, so it sees the same snapshot."""
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(_SQLITE_SELECT, (_stored(start), _stored(end)))
        while part := cursor.fetchmany(batch):
            for row in part:
                if row[_ZONE_AT] in wanted:
                    yield row
    finally:
        cursor.close()


def count_log_rows(
    session: Session, start: datetime, end: datetime, zone_ids: Sequence[str]
) -> int:
    """How many rows :func:`log_rows` yields (call both in one read transaction)."""
    when = when_column()
    q = select(func.count()).where(when >= start, when < end, L.zone_id.in_(list(zone_ids)))
    return int(session.connection().execute(q).scalar_one())
