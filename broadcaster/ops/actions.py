"""The operations behind each command."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_
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
    Slot,
)
from broadcaster.core.planner import OCCUPYING, PlanResult, first_free, sequence_session
from broadcaster.core.sessions import week_slots
from broadcaster.core.timeutil import (
    as_utc,
    fmt_local,
    iso_week_of_instant,
    parse_week,
    to_local,
    week_bounds_utc,
)
from broadcaster.engine.clock import clock_kind
from broadcaster.engine.library import approved_rendition, latest_rendition
from broadcaster.engine.planning import (
    Unairable,
    campaigns_of,
    new_row,
    plan_and_store,
    sort_airable,
    to_domain,
    week_rows,
)
from broadcaster.engine.station_engine import StationEngine, judged_fields
from broadcaster.i18n import N_, _
from broadcaster.ops.context import StationContext
from broadcaster.speech.production import Produced
from broadcaster.speech.render import Pending, Renderer, RenderOutcome, produce_all
from broadcaster.speech.spoken import spoken_text, station_lexicon
from broadcaster.store import aslog, signing
from broadcaster.store.db import Database
from broadcaster.store.tables import AiringRow, Approval, Rendition, StopRequest
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
                # the daemon's periodic retry (only_fallbacks) is what the memory waits for
                found = renderer.lookup(s, b, ctx.clock.now(), force=force, retry=only_fallbacks)
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
        renderer.memory.note(result, ctx.clock.now())
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

    try:
        produce_all([p.job for p in pending.values()], workers, produced)
    finally:
        renderer.memory.save()
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
    key = station_key(ctx)
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
            # Approving again vouches again: an approval made before the station key
            # (or under a retired key) is signed now and airs again.
            if signing.approval_problem(s, existing, key.public_hex):
                signing.sign_approval(s, existing, key, ctx.clock.now())
            return existing
        approval = Approval(
            bulletin_id=bulletin.id,
            script_sha256=bulletin.script_sha256,
            audio_sha256=rendition.audio_sha256,
            approved_by=by,
            approved_at=as_utc(ctx.clock.now()),
        )
        s.add(approval)
        s.flush()
        signing.sign_approval(s, approval, key, ctx.clock.now())
        return approval


def approved_audio_warning(ctx: StationContext, approval: Approval) -> str:
    """What an approver must know about the audio just approved: that it came from a
    fallback engine (espeak because gTTS was unreachable), or ''."""
    with ctx.db.read() as s:
        rendition = s.exec(
            select(Rendition).where(
                Rendition.bulletin_id == approval.bulletin_id,
                Rendition.script_sha256 == approval.script_sha256,
                Rendition.audio_sha256 == approval.audio_sha256,
            )
        ).first()
    if rendition is None or not rendition.fallback:
        return ""
    return _(
        "this is fallback audio: {engine} spoke it because the preferred {preferred} "
        "failed. Listen to it before it airs; once {preferred} works again, 'render' makes "
        "new audio that needs its own approval"
    ).format(engine=rendition.engine, preferred=rendition.preferred_engine or "?")


# -- the station key and signed log heads -----------------------------------------------
def station_key(ctx: StationContext) -> signing.StationKey:
    """The station key, made on first use (the first approval of a new station) so no
    approval is ever unsigned; refused if the file is readable by others."""
    key = signing.load_key(ctx.root, required=False)
    return key if key is not None else signing.create_key(ctx.root)


def keys_init(ctx: StationContext) -> signing.StationKey:
    """``keys init``: create the station key (never replaces one)."""
    return signing.create_key(ctx.root)


def public_key(ctx: StationContext) -> str | None:
    """The station's public key (hex), or None when it has no key yet. A key file that
    others can read is an error here too: printing it would bless it."""
    key = signing.load_key(ctx.root, required=False)
    return key.public_hex if key is not None else None


def sign_log_head(ctx: StationContext) -> signing.SignedLogHead:
    """Sign the log's current head and store it (the daemon does this periodically)."""
    key = signing.load_key(ctx.root)
    assert key is not None
    with ctx.db.write() as s:
        count, head_hash = aslog.head(s)
        head = signing.make_head(key, ctx.station.id, count, head_hash, ctx.clock.now())
        return signing.store_head(s, head)


def export_head(head: signing.SignedLogHead, path: Path | None) -> dict:
    """The head as its exported JSON; written to ``path`` (whole or not at all)."""
    data = signing.head_to_json(head)
    if path is None:
        return data
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise BroadcasterError(
            _("--export: cannot write: {why}").format(why=exc.strerror or exc), path=str(path)
        ) from None
    return data


@dataclass
class HeadCheck:
    """``log verify``: the chain itself, the stored signed heads, and (with --against)
    a head taken out of the station earlier."""

    chain: aslog.ChainReport
    public_key: str | None
    heads_checked: int = 0
    against: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. heads signed by a retired key

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def verify_signed(ctx: StationContext, against: Path | None = None) -> HeadCheck:
    """The chain, every stored signed head (signature by this station's key, and the
    entry at its count still has its hash), and optionally an exported head, a JSON
    report or an evidence pack made earlier."""
    from broadcaster.ops import against_files

    key = signing.load_key(ctx.root, required=False)
    public = key.public_hex if key is not None else None
    reference = against_files.read_reference(against) if against is not None else None
    with ctx.db.read() as s:
        check = HeadCheck(aslog.verify(s), public)
        for head in signing.stored_heads(s):
            check.heads_checked += 1
            label = _("signed head {id} ({count} entries)").format(id=head.id, count=head.count)
            if not signing.head_signature_ok(head):
                check.problems.append(
                    _("{label}: its signature does not verify (forged or edited)").format(
                        label=label
                    )
                )
            elif head.public_key != public:
                check.notes.append(
                    _("{label}: signed by another key ({fp}), e.g. before a rotation").format(
                        label=label, fp=head.public_key[:16]
                    )
                )
            check.problems += signing.check_against(
                s, head.count, head.head_hash, head.signed_at, label
            )
        if reference is not None:
            check.against = reference.describe()
            check.problems += reference.problems(public)
            check.problems += signing.check_against(
                s, reference.count, reference.head_hash, reference.signed_at, reference.label
            )
    return check


def approval_state(ctx: StationContext, bulletin: Bulletin, db: Database | None = None) -> str:
    """'approved', 'audio-missing' (approved, but its audio file is gone), 'not-rendered',
    'unapproved' or 'changed-since-approval'."""
    with (db or ctx.db).read() as s:
        found = approved_rendition(s, bulletin)
        if found:
            if not (ctx.root / found[0].audio_path).is_file():
                return "audio-missing"
            return "approved"
        # Edited after approval, whether or not the new text was rendered yet: what was
        # approved no longer airs, and the planned airings of it are at risk.
        ever = s.exec(select(Approval).where(Approval.bulletin_id == bulletin.id)).first()
        if ever:
            return "changed-since-approval"
        if latest_rendition(s, bulletin) is None:
            return "not-rendered"
        return "unapproved"


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


def _readonly_database(ctx: StationContext) -> Database | None:
    """The station's database opened so that reading it creates or changes nothing (for
    ``check``); None when there is no database yet."""
    if ctx.db_url.startswith("sqlite:///"):
        path = Path(ctx.db_url.removeprefix("sqlite:///"))
        if not path.is_file():
            return None
        # A read-only connection would leave -wal/-shm files behind; when no other process
        # has the database open (no -wal), everything is in the main file: read it as is.
        live = path.with_name(path.name + "-wal").exists()
        url = f"sqlite:///file:{path}?{'mode=ro' if live else 'immutable=1'}&uri=true"
    else:
        url = ctx.db_url
    return Database(url, readonly=True)


def approval_states_readonly(ctx: StationContext, bulletins: list[Bulletin]) -> dict[str, str]:
    """The same, for ``check``, which must not create or change anything."""
    db = _readonly_database(ctx)
    if db is None:
        return {b.id: "not-rendered" for b in bulletins}
    try:
        return {b.id: approval_state(ctx, b, db) for b in bulletins}
    except SQLAlchemyError:
        return {b.id: "unknown" for b in bulletins}
    finally:
        db.dispose()


@dataclass(frozen=True)
class AiringAtRisk:
    """A planned airing of a bulletin that lost its approval or its audio: it will be
    refused at the gate (logged ``failed``) unless the bulletin is approved again."""

    airing_id: int
    zone_id: str
    bulletin_id: str
    scheduled_at: datetime


def airings_at_risk(
    ctx: StationContext, bulletin_ids: set[str], *, readonly: bool = False
) -> dict[str, list[AiringAtRisk]]:
    """Planned airings of these bulletins, soonest first, per bulletin."""
    if not bulletin_ids:
        return {}
    db = _readonly_database(ctx) if readonly else ctx.db
    if db is None:
        return {}
    found: dict[str, list[AiringAtRisk]] = {}
    try:
        with db.read() as s:
            rows = s.exec(
                select(AiringRow)
                .where(
                    AiringRow.status == AiringStatus.PLANNED,
                    AiringRow.bulletin_id.in_(sorted(bulletin_ids)),  # type: ignore[attr-defined]
                )
                .order_by(AiringRow.scheduled_at, AiringRow.id)
            ).all()
            for r in rows:
                found.setdefault(r.bulletin_id, []).append(
                    AiringAtRisk(r.id or 0, r.zone_id, r.bulletin_id, as_utc(r.scheduled_at))
                )
    except SQLAlchemyError:
        return {}
    finally:
        if readonly:
            db.dispose()
    return found


def at_risk_note(ctx: StationContext, airings: list[AiringAtRisk], shown: int = 5) -> str:
    """'' or the planned airings that will fail, named by the ids ``cancel`` takes."""
    if not airings:
        return ""
    listed = ", ".join(
        f"#{a.airing_id} {a.zone_id} {fmt_local(a.scheduled_at, ctx.station.tz)}"
        for a in airings[:shown]
    )
    more = len(airings) - shown
    return _(
        "{n} planned airing(s) will fail at the gate unless it is approved again: {list}"
    ).format(n=len(airings), list=listed + (f", … (+{more})" if more > 0 else ""))


def approval_warnings(
    bulletins: list[Bulletin],
    states: dict[str, str],
    at_risk: dict[str, str] | None = None,
) -> list[Problem]:
    """What ``check`` says of approved bulletins that cannot air: they are not planned,
    and (``at_risk``: bulletin id -> a note) the airings already planned will fail."""
    found = []
    for b in bulletins:
        state = states.get(b.id)
        if state == "audio-missing":
            text = _(
                "its approved audio file is missing: it will not be planned; run "
                "'broadcaster render {id}' and approve it again"
            ).format(id=b.id)
        elif state == "changed-since-approval" and b.priority != Priority.EMERGENCY:
            text = _("changed since its approval: it will not be planned until approved again")
        else:
            continue
        note = (at_risk or {}).get(b.id)
        if note:
            text += "; " + note
        found.append(Problem(text, path=b.source_path, severity="warning"))
    return found


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
    unairable: list[Unairable] = field(default_factory=list)


def plan(ctx: StationContext, week_label: str) -> PlanReport:
    year, week = parse_week(week_label)
    now = ctx.clock.now()
    _start, end = week_bounds_utc(year, week, ctx.station.tz)
    if end <= now:
        raise UsageProblem(_("--week: {week} is already over").format(week=week_label))
    bulletins, problems = ctx.scripts()
    with ctx.db.write() as s:
        left_out = sort_airable(s, bulletins, ctx.root)[1]
        result, created = plan_and_store(s, ctx.station, bulletins, year, week, now, root=ctx.root)
    return PlanReport(week_label, result, created, problems, left_out)


@dataclass
class QueueResult:
    row: AiringRow
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
    ctx: StationContext, bulletin_id: str, zone_id: str, at: datetime, by: str
) -> QueueResult:
    """Book one airing at an operator's time. Inside a session it keeps to the session's
    cap: it starts at the first moment from ``at`` that nothing fixed occupies, the
    planner's airings move around it, and it is refused if the session cannot hold it."""
    station = ctx.station
    bulletin = ctx.bulletin(bulletin_id)
    if zone_id not in station.zones_by_id:
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
    if zone_id not in bulletin.zone_set:
        raise UsageProblem(
            _("--zone: '{id}' is not meant for zone '{zone}'").format(id=bulletin.id, zone=zone_id)
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
        if slot is not None:
            in_session = _session_rows(s, slot)
            at = _fit_in_session(station, bulletin, slot, in_session, at, seconds, warnings)
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
            retimed = _resequence(station, slot, in_session, airing)
        row = new_row(airing, bulletin, station, now)
        s.add(row)
        s.flush()
        return QueueResult(row, warnings, retimed)


def _session_rows(session, slot: Slot) -> list[AiringRow]:
    """The airings of one session occurrence that take up its time."""
    return list(
        session.exec(
            select(AiringRow).where(
                AiringRow.zone_id == slot.zone_id,
                AiringRow.session_id == slot.session_id,
                AiringRow.scheduled_at >= as_utc(slot.start),
                AiringRow.scheduled_at < as_utc(slot.end),
                AiringRow.status.in_([s.value for s in OCCUPYING]),  # type: ignore[attr-defined]
            )
        ).all()
    )


def _fit_in_session(
    station, bulletin: Bulletin, slot: Slot, rows: list[AiringRow], at, seconds, warnings
) -> datetime:
    """Where the queued airing starts in its session, or a refusal naming what is booked."""
    tz = station.tz
    label = fmt_local(slot.start, tz)[11:16]
    if any(r.bulletin_id == bulletin.id for r in rows):
        warnings.append(
            _("'{id}' is already in the {time} session on {zone}: it will air twice").format(
                id=bulletin.id, time=label, zone=slot.zone_id
            )
        )
    booked = sum(r.duration_seconds for r in rows)
    cap = slot.capacity_seconds
    start = first_free(slot, [to_domain(r) for r in rows], at, seconds)
    ends = start + timedelta(seconds=seconds)
    if booked + seconds > cap + 1e-6 or ends > slot.end:
        items = ", ".join(
            f"{fmt_local(r.scheduled_at, tz)[11:16]} {r.bulletin_id}"
            for r in sorted(rows, key=lambda r: as_utc(r.scheduled_at))
        )
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


def _resequence(station, slot: Slot, rows: list[AiringRow], queued: Airing) -> int:
    """Move the planner's airings of the session around the queued one; refuse if that
    would push one past the session's end (it could only be missed)."""
    domain = {r.id: to_domain(r) for r in rows}
    moved = sequence_session(slot, [*domain.values(), queued])
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
        row.reason = N_("cancelled by {by}").format(by=by)
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
                **judged_fields(row),
                clock=clock_kind(ctx.clock),
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
    ctx: StationContext,
    bulletin: Bulletin,
    zones: list[str],
    by: str,
    at: datetime,
    *,
    force: bool = False,
) -> list[AiringRow]:
    """Book an emergency on ``zones`` at ``at`` (now, for a live one). Quiet hours do not apply.

    An emergency cuts whatever plays and ignores quiet hours, so only a bulletin written as
    an emergency may be aired as one; ``force`` overrides that, and the override is part of
    who started it (the log's hashed ``triggered_by``), so the evidence shows who forced it.
    """
    if bulletin.priority != Priority.EMERGENCY:
        if not force:
            raise UsageProblem(
                _(
                    "'{id}' is a {priority} bulletin, not an emergency: it would cut what "
                    "plays and ignore quiet hours. Give --force to air it as an emergency "
                    "anyway (who forced it is logged)"
                ).format(id=bulletin.id, priority=bulletin.priority)
            )
        by = N_("{by} (forced: {priority} bulletin)").format(by=by, priority=bulletin.priority)
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
    # The script's own title, in the language of the bulletins (not a message).
    title = "Thông báo khẩn cấp {time}".format(
        time=to_local(now, ctx.station.tz).strftime("%H:%M %d/%m/%Y")
    )
    folder = ctx.root / "scripts"
    for _attempt in range(16):
        # Two alerts typed in the same second must never share a file: the second would
        # replace the first one's text under the first one's airings.
        bulletin_id = f"khan-cap-{stamp}-{secrets.token_hex(3)}"
        path = folder / f"{bulletin_id}.md"
        content = EMERGENCY_TEMPLATE.format(id=bulletin_id, title=title, text=text)
        try:
            _create_exclusive(path, content.encode("utf-8"))
        except FileExistsError:
            continue
        return path
    raise BroadcasterError(_("could not find a free name for the alert"), path=str(folder))


def typed_alert(ctx: StationContext, text: str, approved_by: str) -> Bulletin:
    """An alert typed on the spot: written as its own script, rendered and approved now.

    The bulletin returned is exactly the text this call wrote (its approval is bound to
    those bytes), or the call fails and leaves no script behind.
    """
    if not approved_by or not approved_by.strip():
        raise UsageProblem(_("--approved-by: give the name of who approved the typed alert"))
    path = write_emergency_script(ctx, text, ctx.clock.now())
    written = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        results = render(ctx, [path.stem])
        if results[0].error:
            raise BroadcasterError(results[0].error, path=str(path.relative_to(ctx.root)))
        approve(ctx, path.stem, approved_by)
        bulletin = ctx.bulletin(path.stem)
        if bulletin.script_sha256 != written:
            raise BroadcasterError(
                _("the alert's script changed while it was being prepared: not aired"),
                path=str(path.relative_to(ctx.root)),
            )
        return bulletin
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write a new file complete under a temporary name, then link it to ``path``, which
    must not exist yet: readers never see half a script, and no file is ever replaced."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# -- status and the log ------------------------------------------------------------------
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
        for r in week_rows(s, ctx.station, year, week):
            if r.status in (AiringStatus.PLANNED, AiringStatus.PLAYING) and r.id not in closed:
                facts.append(  # a plan, not an outcome: it never counts as aired
                    AiringFact(
                        r.zone_id,
                        campaigns_of(r),
                        AiringStatus.PLANNED,
                        as_utc(r.scheduled_at),
                        Origin(r.origin),
                    )
                )
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
    L = aslog.LogEntry
    q = (
        select(L, AiringRow)
        .outerjoin(AiringRow, AiringRow.id == L.airing_id)
        .where(L.scheduled_at >= as_utc(start), L.scheduled_at < as_utc(end))  # ix_log_time
        .where(L.outcome.in_(FINAL_OUTCOMES), or_(L.week == label, L.week == ""))
        .order_by(L.seq)
    )
    for entry, row in s.exec(q).all():
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


def airings_of_week(ctx: StationContext, week_label: str) -> list[AiringRow]:
    year, week = parse_week(week_label)
    with ctx.db.read() as s:
        return week_rows(s, ctx.station, year, week)


def list_airings(
    ctx: StationContext, week_label: str, zone: str | None = None, state: str | None = None
) -> list[AiringRow]:
    """The week's airings in time order, for ``schedule list``: what ``cancel`` takes."""
    if zone is not None and zone not in ctx.station.zones_by_id:
        raise UsageProblem(
            _("--zone: unknown zone '{zone}' (known: {known})").format(
                zone=zone, known=", ".join(ctx.station.zone_ids)
            )
        )
    if state is not None and state not in {s.value for s in AiringStatus}:
        raise UsageProblem(
            _("--state: '{state}' is not one of {known}").format(
                state=state, known=", ".join(s.value for s in AiringStatus)
            )
        )
    year, week = parse_week(week_label)
    with ctx.db.read() as s:
        rows = week_rows(s, ctx.station, year, week, [zone] if zone else None)
    return [r for r in rows if state is None or r.status == state]


def unairable(ctx: StationContext) -> list[Unairable]:
    """Approved bulletins the planner leaves out (audio deleted, script changed since)."""
    bulletins, _problems = ctx.scripts()
    with ctx.db.read() as s:
        return sort_airable(s, bulletins, ctx.root)[1]


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
                    "campaigns": e.campaigns,
                    "week": e.week,
                    "priority": e.priority,
                    "origin": e.origin,
                    "duration_seconds": e.duration_seconds,
                    "clock": e.clock,
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
    engine = StationEngine(ctx.root, ctx.station, ctx.db, outputs)
    engine.clock_kind = clock_kind(ctx.clock)
    return engine


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
