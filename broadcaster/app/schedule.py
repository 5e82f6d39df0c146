"""The schedule: planning a week, queueing, cancelling, stopping on air, the week's status and
the airings booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from broadcaster.app.actors import Actor
from broadcaster.app.approvals import require_approved
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action
from broadcaster.core.compliance import AiringFact, ZoneWeekStatus, evaluate_week
from broadcaster.core.errors import BroadcasterError, FieldProblem, Problem, UsageProblem
from broadcaster.core.model import (
    Airing,
    AiringRecord,
    AiringStatus,
    Bulletin,
    Origin,
    Priority,
    RelayWindow,
    Slot,
)
from broadcaster.core.planner import OCCUPYING, PlanResult, first_free, sequence_session
from broadcaster.core.sessions import relay_seconds, relays_in, week_slots, zone_week_relays
from broadcaster.core.timeutil import (
    as_utc,
    fmt_local,
    iso_week_of_instant,
    parse_week,
    to_local,
    week_bounds_utc,
)
from broadcaster.engine.clock import clock_kind
from broadcaster.engine.lock import StationLock
from broadcaster.engine.planning import (
    Unairable,
    campaigns_of,
    new_row,
    plan_and_store,
    planned_facts,
    sort_airable,
    to_domain,
    week_rows,
)
from broadcaster.engine.station_engine import StationEngine, judged_fields
from broadcaster.i18n import N_, _
from broadcaster.store import airings, aslog, onair, reporting

if TYPE_CHECKING:
    from broadcaster.store.tables import AiringRow


@dataclass
class PlanReport:
    week: str
    result: PlanResult
    created: list[AiringRecord]
    skipped_scripts: list[Problem] = field(default_factory=list)
    unairable: list[Unairable] = field(default_factory=list)


def plan(ctx: StationContext, week_label: str, actor: Actor) -> PlanReport:
    """Book the week on every zone: an operator's action (of every zone), audited. A week
    that is not one, or is over, is the user's mistake: refused before anything is
    opened or written."""
    _week_to_plan(ctx, week_label)
    with audited(ctx, actor, Action.SCHEDULE_PLAN, week_label) as note:
        report = plan_week(ctx, week_label)
        note.detail = f"{len(report.created)} airing(s) booked"
        return report


def _week_to_plan(ctx: StationContext, week_label: str) -> tuple[int, int]:
    year, week = parse_week(week_label)
    _start, end = week_bounds_utc(year, week, ctx.station.tz)
    if end <= ctx.clock.now():
        raise FieldProblem(_("{week} is already over").format(week=week_label), field="week")
    return year, week


def plan_week(ctx: StationContext, week_label: str) -> PlanReport:
    year, week = _week_to_plan(ctx, week_label)
    now = ctx.clock.now()
    bulletins, problems = ctx.scripts()
    with ctx.db.write() as s:
        left_out = sort_airable(s, bulletins, ctx.root)[1]
        result, created = plan_and_store(s, ctx.station, bulletins, year, week, now, root=ctx.root)
        records = [r.record() for r in created]
    return PlanReport(week_label, result, records, problems, left_out)


@dataclass
class QueueResult:
    row: AiringRecord
    warnings: list[str] = field(default_factory=list)
    retimed: int = 0  # the planner's airings of the session moved around the new one


def duration_words(seconds: float) -> str:
    """'14 min 30 s', '15 min', '45 s': how an operator reads a session's fill."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes and secs:
        return _("{m} min {s} s").format(m=minutes, s=secs)
    if minutes:
        return _("{m} min").format(m=minutes)
    return _("{s} s").format(s=secs)


def queue(
    ctx: StationContext, bulletin_id: str, zone_id: str, at: datetime, actor: Actor
) -> QueueResult:
    """:func:`queue_as` for an operator of ``zone_id``; audited, refused or not."""
    with audited(ctx, actor, Action.SCHEDULE_QUEUE, bulletin_id, zone=zone_id) as note:
        result = queue_as(ctx, bulletin_id, zone_id, at, actor.name)
        note.detail = f"airing {result.row.id} on {zone_id} at {as_utc(result.row.scheduled_at)}"
        return result


def queue_as(
    ctx: StationContext, bulletin_id: str, zone_id: str, at: datetime, by: str
) -> QueueResult:
    """Book one airing at an operator's time. Inside a session it keeps to the session's
    cap: it starts at the first moment from ``at`` that nothing fixed occupies, the
    planner's airings move around it, and it is refused if the session cannot hold it."""
    station = ctx.station
    bulletin = ctx.bulletin(bulletin_id)
    if zone_id not in station.zones_by_id:
        raise FieldProblem(
            _("unknown zone '{zone}' (known: {known})").format(
                zone=zone_id, known=", ".join(station.zone_ids)
            ),
            field="zone",
        )
    now = ctx.clock.now()
    if at <= now:
        raise FieldProblem(
            _("{at} is in the past").format(at=fmt_local(at, station.tz)), field="at"
        )
    local = to_local(at, station.tz)
    quiet = station.in_quiet_hours(local.time())
    if quiet and bulletin.priority != Priority.EMERGENCY:
        raise FieldProblem(
            _("{at} is in quiet hours {quiet}").format(at=local.strftime("%H:%M"), quiet=quiet),
            field="at",
        )
    if not bulletin.valid_on(local.date()):
        raise FieldProblem(
            _("'{id}' is not valid on {day}").format(id=bulletin.id, day=local.date().isoformat()),
            field="at",
        )
    if zone_id not in bulletin.zone_set:
        raise FieldProblem(
            _("'{id}' is not meant for zone '{zone}'").format(id=bulletin.id, zone=zone_id),
            field="zone",
        )
    with ctx.db.write() as s:
        found = require_approved(s, bulletin)
        seconds = found[0].duration_seconds
        year, week, _d = local.date().isocalendar()
        slot = next(
            (sl for sl in week_slots(station, year, week, zone_id) if sl.start <= at < sl.end), None
        )
        warnings: list[str] = []
        in_session: list[AiringRow] = []
        relays: list[RelayWindow] = []
        if slot is not None:
            in_session = _session_rows(s, slot)
            relays = relays_in(slot, zone_week_relays(station, year, week, [zone_id])[zone_id])
            at = _fit_in_session(station, bulletin, slot, in_session, at, seconds, warnings, relays)
        airing = Airing(
            id=None,
            zone_id=zone_id,
            bulletin_id=bulletin.id,
            scheduled_at=at,
            window_end=slot.end
            if slot
            else at + timedelta(seconds=seconds) + timedelta(minutes=station.grace_minutes),
            session_id=slot.session_id if slot else None,
            priority=bulletin.priority,
            origin=Origin.QUEUE,
            duration_seconds=seconds,
            created_by=by,
        )
        retimed = 0
        if slot is not None:
            retimed = _resequence(station, slot, in_session, airing, relays)
        (row,) = airings.book(s, [new_row(airing, bulletin, station, now)])
        return QueueResult(row.record(), warnings, retimed)


def _session_rows(session, slot: Slot) -> list[AiringRow]:
    """The airings of one session occurrence that take up its time."""
    return airings.in_session(
        session, slot.zone_id, slot.session_id, slot.start, slot.end, OCCUPYING
    )


def _fit_in_session(
    station,
    bulletin: Bulletin,
    slot: Slot,
    rows: list[AiringRow],
    at,
    seconds,
    warnings,
    relays: Sequence[RelayWindow] = (),
) -> datetime:
    """Where the queued airing starts in its session, or a refusal naming what is booked.
    The session's relay windows take up their time: they count against its cap, and the
    airing starts after a relay it would overlap."""
    tz = station.tz
    label = fmt_local(slot.start, tz)[11:16]
    if any(r.bulletin_id == bulletin.id for r in rows):
        warnings.append(
            _("'{id}' is already in the {time} session on {zone}: it will air twice").format(
                id=bulletin.id, time=label, zone=slot.zone_id
            )
        )
    booked = sum(r.duration_seconds for r in rows) + relay_seconds(slot, relays)
    cap = slot.capacity_seconds
    blocked = [(w.start, w.end) for w in relays]
    start = first_free(slot, [to_domain(r) for r in rows], at, seconds, blocked)
    ends = start + timedelta(seconds=seconds)
    if booked + seconds > cap + 1e-6 or ends > slot.end:
        taken = [(as_utc(r.scheduled_at), r.bulletin_id) for r in rows]
        taken += [
            (
                w.start,
                _("relay {source} until {end}").format(
                    source=w.source_id, end=fmt_local(w.end, tz)[11:16]
                ),
            )
            for w in relays
        ]
        items = ", ".join(f"{fmt_local(t, tz)[11:16]} {what}" for t, what in sorted(taken))
        if booked + seconds > cap + 1e-6:
            head = _("{time} is full: {used} of {cap}").format(
                time=label, used=duration_words(booked), cap=duration_words(cap)
            )
        else:
            head = _("{time}: '{id}' would end at {end}, after the session's end").format(
                time=label, id=bulletin.id, end=fmt_local(ends, tz, with_seconds=True)[11:]
            )
        raise BroadcasterError(
            _("{head}; '{id}' needs {need} ({zone}; booked: {items})").format(
                head=head,
                id=bulletin.id,
                need=duration_words(seconds),
                zone=slot.zone_id,
                items=items or "-",
            )
        )
    if start != at:
        warnings.append(
            _("starts at {time}, when what is booked before it has ended").format(
                time=fmt_local(start, tz, with_seconds=True)[11:]
            )
        )
    return start


def _resequence(
    station,
    slot: Slot,
    rows: list[AiringRow],
    queued: Airing,
    relays: Sequence[RelayWindow] = (),
) -> int:
    """Move the planner's airings of the session around the queued one (and its relay
    windows); refuse if that would push one past the session's end (it could only be
    missed)."""
    domain = {r.id: to_domain(r) for r in rows}
    moved = sequence_session(slot, [*domain.values(), queued], [(w.start, w.end) for w in relays])
    late = [
        a
        for a in [*domain.values(), queued]
        if a.scheduled_at + timedelta(seconds=a.duration_seconds) > slot.end + timedelta(seconds=1)
    ]
    if late:
        raise BroadcasterError(
            _("{time}: no room for '{id}' without pushing {other} past the session's end").format(
                time=fmt_local(slot.start, station.tz)[11:16],
                id=queued.bulletin_id,
                other=late[0].bulletin_id,
            )
        )
    by_id = {r.id: r for r in rows}
    for a in moved:
        stored = by_id[a.id]
        stored.scheduled_at = as_utc(a.scheduled_at)
    return len(moved)


class OnAir(BroadcasterError):
    """``cancel`` of an airing whose start won: it is on air and was not cancelled."""


MAX_AIRING_ID = 2**63 - 1


def _airing_for_operator(s, airing_id: int) -> AiringRow:
    row = airings.get(s, airing_id) if 0 < airing_id <= MAX_AIRING_ID else None
    if row is None:
        raise UsageProblem(_("no airing {id}").format(id=airing_id))
    return row


def cancel(ctx: StationContext, airing_id: int, actor: Actor) -> AiringRecord:
    """:func:`cancel_as` for an operator of the airing's zone; audited, refused or not."""
    return _on_airing(ctx, airing_id, actor, cancel_as, "")


def _on_airing(ctx: StationContext, airing_id: int, actor: Actor, operation, what: str):
    """An operator's action on one airing: allowed in the airing's zone, audited."""
    zone = _zone_of(ctx, airing_id)
    with audited(ctx, actor, Action.SCHEDULE_CANCEL, f"airing {airing_id}", zone=zone) as note:
        record = operation(ctx, airing_id, actor.name)
        note.detail = f"{what}{record.bulletin_id} on {record.zone_id}"
        return record


def _zone_of(ctx: StationContext, airing_id: int) -> str | None:
    """The zone an airing is booked on (None for no such airing: the operation itself
    then says so, after the permission check)."""
    with ctx.db.read() as s:
        row = airings.get(s, airing_id) if 0 < airing_id <= MAX_AIRING_ID else None
        return row.zone_id if row is not None else None


def cancel_as(ctx: StationContext, airing_id: int, by: str) -> AiringRecord:
    """Planned -> cancelled, logged, in one write transaction.

    The daemon marks an airing playing (committed) before its output starts, in a write
    transaction too, so the cancel and the start are one decision: if the cancel wins,
    nothing plays; if the start won, this raises :class:`OnAir` and nothing is logged
    (``stop_on_air`` asks the daemon to cut it)."""
    now = ctx.clock.now()
    with ctx.db.write() as s:
        row = _airing_for_operator(s, airing_id)
        if row.status == AiringStatus.PLAYING:
            raise OnAir(
                _(
                    "airing {id} ({bulletin} on {zone}) is on air since {since}: it was not "
                    "cancelled; 'cancel {id} --stop' asks the daemon to stop it"
                ).format(
                    id=airing_id,
                    bulletin=row.bulletin_id,
                    zone=row.zone_id,
                    since=fmt_local(row.started_at, ctx.station.tz, with_seconds=True)
                    if row.started_at
                    else "?",
                )
            )
        if row.status != AiringStatus.PLANNED:
            raise BroadcasterError(
                _("airing {id} is {status}: only planned airings can be cancelled").format(
                    id=airing_id, status=row.status
                )
            )
        reason = N_("cancelled by {by}").format(by=by)
        moved = airings.move(
            s,
            row.id,
            AiringStatus.CANCELLED,
            values={"reason": reason[:512]},
            outcome=aslog.Outcome(
                airing_id=row.id,
                zone_id=row.zone_id,
                bulletin_id=row.bulletin_id,
                outcome="cancelled",
                triggered_by=f"operator:{by}",
                scheduled_at=as_utc(row.scheduled_at),
                reason=reason,
                **judged_fields(row),
                clock=clock_kind(ctx.clock),
            ),
            recorded_at=now,
        )
        if moved is None:  # the daemon's start won the race: nothing was cancelled
            raise OnAir(
                _("airing {id} started meanwhile: it was not cancelled").format(id=airing_id)
            )
        return airings.reload(s, row).record()


def stop_on_air(ctx: StationContext, airing_id: int, actor: Actor) -> AiringRecord:
    """Ask the daemon to stop an airing on air, for an operator of its zone; audited."""
    return _on_airing(ctx, airing_id, actor, _stop_on_air, "stop on air: ")


def _stop_on_air(ctx: StationContext, airing_id: int, by: str) -> AiringRecord:
    """Ask the daemon to stop an airing on air (``cancel ID --stop``).

    Only a request is written: the daemon's sweep cuts the playback and logs the airing
    ``interrupted`` with who asked (or, if the station is down, its restart does), so the
    log says what really went out."""
    now = ctx.clock.now()
    with ctx.db.write() as s:
        row = _airing_for_operator(s, airing_id)
        if row.status != AiringStatus.PLAYING:
            raise BroadcasterError(
                _("airing {id} is {status}: it is not on air, nothing to stop").format(
                    id=airing_id, status=row.status
                )
            )
        onair.request_stop(s, airing_id, by, now)
        return row.record()


@dataclass
class StatusReport:
    week: str
    rows: list[ZoneWeekStatus]
    head_count: int
    head_hash: str
    fallback_note: str = ""
    # Entries in the whole database made under a clock that is not the real one, by kind.
    unreal: dict[str, int] = field(default_factory=dict)
    unreal_in_week: int = 0  # this week's outcomes among them (counted only if included)
    include_unreal: bool = False
    legacy_in_week: int = 0  # outcomes whose campaign came from the unchained airing table


FINAL_OUTCOMES = ("aired", "failed", "missed", "interrupted", "cancelled")


def status(
    ctx: StationContext, week_label: str | None, *, include_unreal: bool = False
) -> StatusReport:
    """Compliance of one week, judged from the hashed as-run log (issue 10).

    Outcomes (and the campaign, week and origin they count for) come from the log's hashed
    fields, never from the ``airing`` table, which anyone can edit without breaking the
    chain; that table only supplies the airings still *planned* (rows with no outcome in
    the log yet). Entries made under a simulated or shifted clock count only with
    ``include_unreal`` (simulations, demos, tests); otherwise they are left out and
    counted apart, and the caller warns."""
    now = ctx.clock.now()
    label = week_label or iso_week_of_instant(now, ctx.station.tz)
    year, week = parse_week(label)
    facts: list[AiringFact] = []
    unreal_in_week = legacy = 0
    with ctx.db.read() as s:
        closed: set[int] = set()
        for entry, legacy_campaigns in _week_outcomes(s, ctx, year, week, label):
            if entry.airing_id is not None:
                closed.add(entry.airing_id)
            if entry.clock:
                unreal_in_week += 1
                if not include_unreal:
                    continue
            if legacy_campaigns is not None:
                legacy += 1
            campaigns = (
                legacy_campaigns
                if legacy_campaigns is not None
                else frozenset(c for c in entry.campaigns.split(",") if c)
            )
            facts.append(
                AiringFact(
                    entry.zone_id,
                    campaigns,
                    AiringStatus(entry.outcome),
                    as_utc(entry.scheduled_at or entry.recorded_at),
                    _origin(entry.origin or entry.triggered_by),
                )
            )
        facts.extend(planned_facts(s, ctx.station, year, week, closed))  # never aired
        count, head_hash = aslog.head(s)
        unreal = aslog.unreal_counts(s)
    return StatusReport(
        label,
        evaluate_week(ctx.station, year, week, facts, now),
        count,
        head_hash,
        unreal=unreal,
        unreal_in_week=unreal_in_week,
        include_unreal=include_unreal,
        legacy_in_week=legacy,
    )


def _week_outcomes(s, ctx: StationContext, year: int, week: int, label: str):
    """The week's log outcomes, each with None, or for an entry older than the judged
    fields the campaigns of its airing row (the only place they were kept then)."""
    start, end = week_bounds_utc(year, week, ctx.station.tz)
    for entry, row in reporting.week_outcomes(s, start, end, label, FINAL_OUTCOMES):
        if entry.week:
            yield entry, None
        else:
            yield entry, campaigns_of(row) if row is not None else frozenset()


def _origin(text: str) -> Origin:
    """The hashed origin; for a legacy entry, the origin its ``triggered_by`` implies."""
    try:
        return Origin(text)
    except ValueError:
        if text.startswith("daemon:"):
            return _origin(text.removeprefix("daemon:"))
        if text.startswith("emergency:"):
            return Origin.EMERGENCY
        if text.startswith("operator:"):
            return Origin.QUEUE
        return Origin.PLAN


def airings_of_week(ctx: StationContext, week_label: str) -> list[AiringRecord]:
    year, week = parse_week(week_label)
    with ctx.db.read() as s:
        return [r.record() for r in week_rows(s, ctx.station, year, week)]


def list_airings(
    ctx: StationContext, week_label: str, zone: str | None = None, state: str | None = None
) -> list[AiringRecord]:
    """The week's airings in time order, for ``schedule list``: what ``cancel`` takes."""
    if zone is not None:
        check_zone(ctx, zone)
    if state is not None and state not in {s.value for s in AiringStatus}:
        raise FieldProblem(
            _("'{state}' is not one of {known}").format(
                state=state, known=", ".join(s.value for s in AiringStatus)
            ),
            field="state",
        )
    year, week = parse_week(week_label)
    with ctx.db.read() as s:
        rows = week_rows(s, ctx.station, year, week, [zone] if zone else None)
    return [r.record() for r in rows if state is None or r.status == state]


def check_zone(ctx: StationContext, zone: str) -> None:
    """A :class:`FieldProblem` on ``zone`` unless the station has it."""
    if zone not in ctx.station.zones_by_id:
        raise FieldProblem(
            _("unknown zone '{zone}' (known: {known})").format(
                zone=zone, known=", ".join(ctx.station.zone_ids)
            ),
            field="zone",
        )


def week_airings_of(
    ctx: StationContext, week_label: str, zone_ids: list[str]
) -> list[AiringRecord]:
    """The week's airings of these zones, in time order (a page of the calendar)."""
    start, end = week_bounds_utc(*parse_week(week_label), ctx.station.tz)
    with ctx.db.read() as s:
        return airings.records_between(s, start, end, zone_ids)


def daemon_is_running(ctx: StationContext) -> bool:
    """Whether a daemon holds the station now (it will act on what is written for it)."""
    lock = StationLock(ctx.root, ctx.db_url)
    running = not lock.try_acquire("cancel")
    lock.release()
    return running


def engine_for(ctx: StationContext, outputs) -> StationEngine:
    engine = StationEngine(ctx.root, ctx.station, ctx.db, outputs)
    engine.clock_kind = clock_kind(ctx.clock)
    return engine


def current_week(ctx: StationContext) -> str:
    return iso_week_of_instant(ctx.clock.now(), ctx.station.tz)


def all_final(ctx: StationContext, ids: list[int | None]) -> bool:
    return all(AiringStatus(r.status).is_final for r in outcomes_of(ctx, ids))


def outcomes_of(ctx: StationContext, ids: list[int | None]) -> list[AiringRecord]:
    with ctx.db.read() as s:
        found = (airings.get(s, i) for i in ids if i is not None)
        return [r.record() for r in found if r is not None]
