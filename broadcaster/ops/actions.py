"""The operations behind each command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from broadcaster.config.scripts_loader import key_line
from broadcaster.core.compliance import AiringFact, ZoneWeekStatus, evaluate_week
from broadcaster.core.errors import BroadcasterError, Problem, UsageProblem
from broadcaster.core.model import (
    Airing,
    AiringStatus,
    Bulletin,
    Origin,
    Priority,
)
from broadcaster.core.planner import PlanResult
from broadcaster.core.sessions import week_slots
from broadcaster.core.timeutil import (
    as_utc,
    fmt_local,
    iso_week_of_instant,
    parse_week,
    to_local,
    week_bounds_utc,
)
from broadcaster.engine.library import approved_rendition, latest_rendition
from broadcaster.engine.planning import campaigns_of, new_row, plan_and_store, week_rows
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import _
from broadcaster.ops.context import StationContext
from broadcaster.speech.production import Produced
from broadcaster.speech.render import Pending, Renderer, RenderOutcome, produce_all
from broadcaster.speech.spoken import spoken_text, station_lexicon
from broadcaster.store import aslog
from broadcaster.store.db import Database
from broadcaster.store.tables import AiringRow, Approval, StopRequest
from broadcaster.text import unknown_tokens


# -- render and approve -------------------------------------------------------------------
def render(
    ctx: StationContext,
    ids: list[str] | None = None,
    *,
    force: bool = False,
    engines: tuple[str, ...] | None = None,
    workers: int = 1,
    on_done: Callable[[RenderOutcome], None] | None = None,
    only_fallbacks: bool = False,
) -> list[RenderOutcome]:
    """Render every valid script (or ``ids``): cache hits here, the rest in ``workers``
    processes. One failure does not stop the others; each outcome says what happened."""
    bulletins, problems = ctx.scripts()
    if ids:
        bulletins, problems = [ctx.bulletin(i) for i in ids], []
    renderer = Renderer(ctx.root, ctx.station, engines)
    renderer.out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, RenderOutcome] = {}
    pending: dict[str, Pending] = {}

    def done(outcome: RenderOutcome) -> None:
        outcomes[outcome.bulletin_id] = outcome
        if on_done:
            on_done(outcome)

    for b in bulletins:
        try:
            with ctx.db.write() as s:
                found = renderer.lookup(s, b, ctx.clock.now(), force=force)
        except BroadcasterError as exc:
            done(RenderOutcome(b.id, error=str(exc)))
            continue
        if isinstance(found, Pending):
            if only_fallbacks and found.keep is None:
                continue
            pending[b.id] = found
        elif not only_fallbacks:
            done(found)

    def produced(result: Produced) -> None:
        item = pending[result.bulletin_id]
        if result.error:
            if item.keep is not None:  # the better engines still fail: keep what airs now
                done(replace(item.keep, skipped=result.skipped))
            else:
                done(RenderOutcome(result.bulletin_id, error=result.error, skipped=result.skipped))
            return
        with ctx.db.write() as s:
            row = renderer.record(s, item.bulletin, result, ctx.clock.now())
        outcome = renderer.outcome(row, cached=False, fallback=result.fallback)
        outcome.skipped = result.skipped
        done(outcome)

    produce_all([p.job for p in pending.values()], workers, produced)
    invalid = (
        [] if only_fallbacks else [_invalid_script(p) for p in problems if p.severity == "error"]
    )
    return [outcomes[b.id] for b in bulletins if b.id in outcomes] + invalid


def _invalid_script(problem: Problem) -> RenderOutcome:
    """A script that did not load, as a failed render: the summary must not hide it."""
    return RenderOutcome(Path(problem.path or "?").stem, error=str(problem))


def rerender_fallbacks(ctx: StationContext) -> list[RenderOutcome]:
    """Try the preferred engines again for audio a fallback engine made (the daemon's
    periodic job). A new rendition waits for approval; the approved one keeps airing."""
    return render(ctx, only_fallbacks=True)


@dataclass(frozen=True)
class AudioNote:
    bulletin_id: str
    engine: str
    preferred: str
    note: str


def audio_notes(ctx: StationContext) -> list[AudioNote]:
    """Bulletins whose audio came from a fallback engine, for ``status``."""
    bulletins, _problems = ctx.scripts()
    notes = []
    with ctx.db.read() as s:
        for b in bulletins:
            latest = latest_rendition(s, b)
            approved = approved_rendition(s, b)
            airs = approved[0] if approved else None
            if airs is not None and airs.fallback:
                text = _("airs {engine} audio: the preferred {preferred} failed").format(
                    engine=airs.engine, preferred=airs.preferred_engine
                )
                if latest is not None and latest.id != airs.id and not latest.fallback:
                    text += "; " + _(
                        "new {engine} audio awaits approval (broadcaster approve {id})"
                    ).format(engine=latest.engine, id=b.id)
                notes.append(AudioNote(b.id, airs.engine, airs.preferred_engine, text))
            elif airs is None and latest is not None and latest.fallback:
                text = _("rendered by fallback {engine} ({preferred} failed), not approved").format(
                    engine=latest.engine, preferred=latest.preferred_engine
                )
                notes.append(AudioNote(b.id, latest.engine, latest.preferred_engine, text))
    return notes


def approve(ctx: StationContext, bulletin_id: str, by: str) -> Approval:
    by = by.strip()
    if not by:
        raise UsageProblem(_("--by: give the approver's name"))
    bulletin = ctx.bulletin(bulletin_id)
    with ctx.db.write() as s:
        rendition = latest_rendition(s, bulletin)
        if rendition is None:
            raise BroadcasterError(
                _(
                    "'{id}' has no audio for its current text: run 'broadcaster render {id}' "
                    "first, then listen to it before approving"
                ).format(id=bulletin_id),
                path=bulletin.source_path,
            )
        existing = s.exec(
            select(Approval).where(
                Approval.bulletin_id == bulletin.id,
                Approval.script_sha256 == bulletin.script_sha256,
                Approval.audio_sha256 == rendition.audio_sha256,
            )
        ).first()
        if existing:
            return existing
        approval = Approval(
            bulletin_id=bulletin.id,
            script_sha256=bulletin.script_sha256,
            audio_sha256=rendition.audio_sha256,
            approved_by=by,
            approved_at=as_utc(ctx.clock.now()),
        )
        s.add(approval)
        return approval


def approval_state(ctx: StationContext, bulletin: Bulletin, db: Database | None = None) -> str:
    """'approved', 'not-rendered', 'unapproved' or 'changed-since-approval'."""
    with (db or ctx.db).read() as s:
        found = approved_rendition(s, bulletin)
        if found:
            return "approved"
        if latest_rendition(s, bulletin) is None:
            return "not-rendered"
        ever = s.exec(select(Approval).where(Approval.bulletin_id == bulletin.id)).first()
        return "changed-since-approval" if ever else "unapproved"


def require_approved(session, bulletin: Bulletin):
    """The approved rendition of the bulletin's current content, or a clear refusal."""
    found = approved_rendition(session, bulletin)
    if found is None:
        raise BroadcasterError(
            _(
                "'{id}' is not approved for its current content: "
                "run 'broadcaster approve {id} --by NAME'"
            ).format(id=bulletin.id),
            path=bulletin.source_path,
        )
    return found


def approval_states_readonly(ctx: StationContext, bulletins: list[Bulletin]) -> dict[str, str]:
    """The same, for ``check``, which must not create or change anything."""
    if ctx.db_url.startswith("sqlite:///"):
        path = Path(ctx.db_url.removeprefix("sqlite:///"))
        if not path.is_file():
            return {b.id: "not-rendered" for b in bulletins}
        # A read-only connection would leave -wal/-shm files behind; when no other process
        # has the database open (no -wal), everything is in the main file: read it as is.
        live = path.with_name(path.name + "-wal").exists()
        url = f"sqlite:///file:{path}?{'mode=ro' if live else 'immutable=1'}&uri=true"
    else:
        url = ctx.db_url
    db = Database(url, readonly=True)
    try:
        return {b.id: approval_state(ctx, b, db) for b in bulletins}
    except SQLAlchemyError:
        return {b.id: "unknown" for b in bulletins}
    finally:
        db.dispose()


def script_warnings(ctx: StationContext, bulletins: list[Bulletin]) -> list[Problem]:
    """Things worth fixing that do not stop the station: capitals the lexicon cannot
    say (a TTS engine would spell them letter by letter) and expired scripts. A broken
    station lexicon is an error."""
    today = to_local(ctx.clock.now(), ctx.station.tz).date()
    found = []
    try:
        lexicon = station_lexicon(ctx.root)
    except BroadcasterError as exc:
        return [exc.problem]
    for b in bulletins:
        if b.is_recorded:
            continue
        script = ctx.root / b.source_path
        located = [(key_line(script, "title"), t) for _l, t in unknown_tokens(b.title, lexicon)]
        located += [(b.body_line + n - 1, t) for n, t in unknown_tokens(b.body, lexicon)]
        for line, token in located:
            found.append(
                Problem(
                    _(
                        '"{token}" will be spelled letter by letter: add it to '
                        "schedules/lexicon.yaml"
                    ).format(token=token),
                    path=b.source_path,
                    line=line,
                    severity="warning",
                )
            )
    for b in bulletins:
        if b.valid_until and b.valid_until < today:
            found.append(
                Problem(
                    _("expired on {day}: it will not be planned").format(
                        day=b.valid_until.isoformat()
                    ),
                    path=b.source_path,
                    field="valid_until",
                    severity="warning",
                )
            )
    return found


# -- plan, queue, cancel, emergency ---------------------------------------------------------
@dataclass
class PlanReport:
    week: str
    result: PlanResult
    created: list[AiringRow]
    skipped_scripts: list[Problem] = field(default_factory=list)


def plan(ctx: StationContext, week_label: str) -> PlanReport:
    year, week = parse_week(week_label)
    now = ctx.clock.now()
    _start, end = week_bounds_utc(year, week, ctx.station.tz)
    if end <= now:
        raise UsageProblem(_("--week: {week} is already over").format(week=week_label))
    bulletins, problems = ctx.scripts()
    with ctx.db.write() as s:
        result, created = plan_and_store(s, ctx.station, bulletins, year, week, now)
    return PlanReport(week_label, result, created, problems)


def queue(ctx: StationContext, bulletin_id: str, zone_id: str, at: datetime, by: str) -> AiringRow:
    station = ctx.station
    bulletin = ctx.bulletin(bulletin_id)
    if zone_id not in station.zone_ids:
        raise UsageProblem(
            _("--zone: unknown zone '{zone}' (known: {known})").format(
                zone=zone_id, known=", ".join(station.zone_ids)
            )
        )
    now = ctx.clock.now()
    if at <= now:
        raise UsageProblem(_("--at: {at} is in the past").format(at=fmt_local(at, station.tz)))
    local = to_local(at, station.tz)
    quiet = station.in_quiet_hours(local.time())
    if quiet and bulletin.priority != Priority.EMERGENCY:
        raise UsageProblem(
            _("--at: {at} is in quiet hours {quiet}").format(
                at=local.strftime("%H:%M"), quiet=quiet
            )
        )
    if not bulletin.valid_on(local.date()):
        raise UsageProblem(
            _("--at: '{id}' is not valid on {day}").format(
                id=bulletin.id, day=local.date().isoformat()
            )
        )
    if zone_id not in bulletin.zone_ids:
        raise UsageProblem(
            _("--zone: '{id}' is not meant for zone '{zone}'").format(id=bulletin.id, zone=zone_id)
        )
    with ctx.db.write() as s:
        found = require_approved(s, bulletin)
        year, week, _d = local.date().isocalendar()
        slot = next(
            (sl for sl in week_slots(station, year, week, zone_id) if sl.start <= at < sl.end), None
        )
        airing = Airing(
            id=None,
            zone_id=zone_id,
            bulletin_id=bulletin.id,
            scheduled_at=at,
            window_end=slot.end
            if slot
            else at
            + timedelta(seconds=found[0].duration_seconds)
            + timedelta(minutes=station.grace_minutes),
            session_id=slot.session_id if slot else None,
            priority=bulletin.priority,
            origin=Origin.QUEUE,
            duration_seconds=found[0].duration_seconds,
            created_by=by,
        )
        row = new_row(airing, bulletin, station, now)
        s.add(row)
        s.flush()
        return row


class OnAir(BroadcasterError):
    """``cancel`` of an airing whose start won: it is on air and was not cancelled."""


MAX_AIRING_ID = 2**63 - 1


def _airing_for_operator(s, airing_id: int) -> AiringRow:
    row = s.get(AiringRow, airing_id) if 0 < airing_id <= MAX_AIRING_ID else None
    if row is None:
        raise UsageProblem(_("no airing {id}").format(id=airing_id))
    return row


def cancel(ctx: StationContext, airing_id: int, by: str) -> AiringRow:
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
        row.status = AiringStatus.CANCELLED
        row.reason = _("cancelled by {by}").format(by=by)
        s.add(row)
        aslog.append(
            s,
            aslog.Outcome(
                airing_id=row.id,
                zone_id=row.zone_id,
                bulletin_id=row.bulletin_id,
                outcome="cancelled",
                triggered_by=f"operator:{by}",
                scheduled_at=as_utc(row.scheduled_at),
                reason=row.reason,
            ),
            recorded_at=now,
        )
        return row


def stop_on_air(ctx: StationContext, airing_id: int, by: str) -> AiringRow:
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
        s.add(StopRequest(airing_id=airing_id, requested_by=by[:128], requested_at=as_utc(now)))
        return row


def emergency_airings(
    ctx: StationContext, bulletin: Bulletin, zones: list[str], by: str, at: datetime
) -> list[AiringRow]:
    """Book an emergency on ``zones`` at ``at`` (now, for a live one). Quiet hours do not apply."""
    with ctx.db.write() as s:
        found = require_approved(s, bulletin)
        rows = []
        for zone_id in zones:
            airing = Airing(
                id=None,
                zone_id=zone_id,
                bulletin_id=bulletin.id,
                scheduled_at=at,
                window_end=at + timedelta(hours=1),
                session_id=None,
                priority=Priority.EMERGENCY,
                origin=Origin.EMERGENCY,
                duration_seconds=found[0].duration_seconds,
                created_by=by,
            )
            row = new_row(airing, bulletin, ctx.station, ctx.clock.now())
            s.add(row)
            rows.append(row)
        s.flush()
        return rows


def parse_zones(ctx: StationContext, text: str) -> list[str]:
    if text.strip() == "all":
        return list(ctx.station.zone_ids)
    zones = [z.strip() for z in text.split(",") if z.strip()]
    unknown = [z for z in zones if z not in ctx.station.zone_ids]
    if unknown or not zones:
        raise UsageProblem(
            _("--zones: unknown zone(s) {bad} (known: all, {known})").format(
                bad=", ".join(unknown) or "-", known=", ".join(ctx.station.zone_ids)
            )
        )
    return zones


EMERGENCY_TEMPLATE = """---
id: {id}
title: "{title}"
campaign: khan-cap
priority: emergency
zones: all
language: vi
---
{text}
"""


def write_emergency_script(ctx: StationContext, text: str, now: datetime) -> Path:
    """A typed-on-the-spot alert becomes a real script file, so the evidence can show it."""
    text = text.strip()
    if not text:
        raise UsageProblem(_("--text: the alert is empty"))
    stamp = to_local(now, ctx.station.tz).strftime("%Y%m%d-%H%M%S")
    bulletin_id = f"khan-cap-{stamp}"
    path = ctx.root / "scripts" / f"{bulletin_id}.md"
    title = _("Thông báo khẩn cấp {time}").format(
        time=to_local(now, ctx.station.tz).strftime("%H:%M %d/%m/%Y")
    )
    tmp = path.with_suffix(".md.part")
    tmp.write_text(
        EMERGENCY_TEMPLATE.format(id=bulletin_id, title=title, text=text), encoding="utf-8"
    )
    tmp.replace(path)
    return path


# -- status and the log ------------------------------------------------------------------
@dataclass
class StatusReport:
    week: str
    rows: list[ZoneWeekStatus]
    head_count: int
    head_hash: str
    fallback_note: str = ""


def status(ctx: StationContext, week_label: str | None) -> StatusReport:
    now = ctx.clock.now()
    label = week_label or iso_week_of_instant(now, ctx.station.tz)
    year, week = parse_week(label)
    with ctx.db.read() as s:
        rows = week_rows(s, ctx.station, year, week)
        facts = [
            AiringFact(
                r.zone_id,
                campaigns_of(r),
                AiringStatus(r.status),
                as_utc(r.scheduled_at),
                Origin(r.origin),
            )
            for r in rows
        ]
        count, head_hash = aslog.head(s)
    return StatusReport(label, evaluate_week(ctx.station, year, week, facts, now), count, head_hash)


def airings_of_week(ctx: StationContext, week_label: str) -> list[AiringRow]:
    year, week = parse_week(week_label)
    with ctx.db.read() as s:
        return week_rows(s, ctx.station, year, week)


def log_rows(
    ctx: StationContext, start: datetime | None, end: datetime | None, zone: str | None
) -> list[dict]:
    tz = ctx.station.tz
    out = []
    with ctx.db.read() as s:
        for e in aslog.entries(s, start, end, zone):
            out.append(
                {
                    "seq": e.seq,
                    "airing_id": e.airing_id,
                    "zone": e.zone_id,
                    "bulletin_id": e.bulletin_id,
                    "audio_sha256": e.audio_sha256,
                    "scheduled_at": _iso_local(e.scheduled_at, tz),
                    "started_at": _iso_local(e.started_at, tz),
                    "ended_at": _iso_local(e.ended_at, tz),
                    "outcome": e.outcome,
                    "reason": e.reason,
                    "approved_by": e.approved_by,
                    "triggered_by": e.triggered_by,
                    "recorded_at": _iso_local(e.recorded_at, tz),
                    "receivers": e.receivers,
                    "entry_hash": e.entry_hash,
                }
            )
    return out


def _iso_local(value: datetime | None, tz) -> str | None:
    return to_local(value, tz).isoformat() if value is not None else None


def verify(ctx: StationContext) -> aslog.ChainReport:
    with ctx.db.read() as s:
        return aslog.verify(s)


def engine_for(ctx: StationContext, outputs) -> StationEngine:
    return StationEngine(ctx.root, ctx.station, ctx.db, outputs)


def current_week(ctx: StationContext) -> str:
    return iso_week_of_instant(ctx.clock.now(), ctx.station.tz)


def all_final(ctx: StationContext, ids: list[int | None]) -> bool:
    return all(AiringStatus(r.status).is_final for r in outcomes_of(ctx, ids))


def outcomes_of(ctx: StationContext, ids: list[int | None]) -> list[AiringRow]:
    with ctx.db.read() as s:
        return [r for i in ids if i is not None and (r := s.get(AiringRow, i)) is not None]


def log_head(ctx: StationContext) -> tuple[int, str]:
    with ctx.db.read() as s:
        return aslog.head(s)


def log_since(ctx: StationContext, seq: int) -> list:
    with ctx.db.read() as s:
        return list(
            s.exec(
                select(aslog.LogEntry).where(aslog.LogEntry.seq > seq).order_by(aslog.LogEntry.seq)
            ).all()
        )


def preview(ctx: StationContext, bulletin_id: str) -> str:
    """The exact text the TTS engine will be given for a script."""
    bulletin = ctx.bulletin(bulletin_id)
    if bulletin.is_recorded:
        raise BroadcasterError(
            _("'{id}' is a recorded bulletin ({file}): there is no text to speak").format(
                id=bulletin_id, file=bulletin.audio_file
            ),
            path=bulletin.source_path,
        )
    return spoken_text(bulletin, ctx.root, ctx.station.dialect)
