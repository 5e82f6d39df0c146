"""Approvals: approving a rendition, its state, and the airings an approval puts at risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.logbook import station_key
from broadcaster.app.permissions import Action
from broadcaster.core.errors import BroadcasterError, FieldProblem, Problem
from broadcaster.core.model import (
    ApprovalRecord,
    Bulletin,
    Priority,
)
from broadcaster.core.timeutil import (
    as_utc,
    fmt_local,
)
from broadcaster.i18n import _
from broadcaster.store import approvals as repo
from broadcaster.store import reviews, signing
from broadcaster.store.airings import planned_of_bulletins
from broadcaster.store.approvals import approved_rendition, latest_rendition
from broadcaster.store.db import Database, open_readonly
from broadcaster.store.errors import DatabaseFailure


def approve(ctx: StationContext, bulletin_id: str, actor: Actor) -> ApprovalRecord:
    """Approve the bulletin's current audio, signed with the station key: if ``actor`` is
    an approver (and not the bulletin's author, unless the station allows it). Recorded
    in the audit trail, refused or not; the approval names ``actor.name``."""
    bulletin = ctx.bulletin(bulletin_id)
    with audited(ctx, actor, Action.BULLETIN_APPROVE, bulletin.id, author=bulletin.author) as note:
        approval = approve_as(ctx, bulletin_id, actor.name)
        note.detail = f"audio {approval.audio_sha256[:16]}"
        return approval


def approve_as(ctx: StationContext, bulletin_id: str, by: str) -> ApprovalRecord:
    """The approval itself, in the name ``by``, without asking who may: for the callers
    that have decided that already (:func:`approve`, a typed emergency alert approved on
    the spot by the person its operator names)."""
    by = by.strip()
    if not by:
        raise FieldProblem(_("give the approver's name"), field="by")
    bulletin = ctx.bulletin(bulletin_id)
    key = station_key(ctx)
    text = (ctx.root / bulletin.source_path).read_text(encoding="utf-8")
    with ctx.db.write() as s:
        # The approved text is kept beside the approval: the base of the next diff.
        reviews.keep_text(s, bulletin.id, bulletin.script_sha256, text, ctx.clock.now())
        rendition = latest_rendition(s, bulletin)
        if rendition is None:
            raise BroadcasterError(
                _(
                    "'{id}' has no audio for its current text: run 'broadcaster render {id}' "
                    "first, then listen to it before approving"
                ).format(id=bulletin_id),
                path=bulletin.source_path,
            )
        existing = repo.approval_of(s, bulletin.id, bulletin.script_sha256, rendition.audio_sha256)
        if existing:
            # Approving again vouches again: an approval made before the station key
            # (or under a retired key) is signed now and airs again.
            if signing.approval_problem(s, existing, key.public_hex):
                signing.sign_approval(s, existing, key, ctx.clock.now())
            return existing.record()
        approval = repo.add_approval(
            s,
            bulletin_id=bulletin.id,
            script_sha256=bulletin.script_sha256,
            audio_sha256=rendition.audio_sha256,
            approved_by=by,
            approved_at=as_utc(ctx.clock.now()),
        )
        signing.sign_approval(s, approval, key, ctx.clock.now())
        return approval.record()


def approved_audio_warning(ctx: StationContext, approval: ApprovalRecord) -> str:
    """What an approver must know about the audio just approved: that it came from a
    fallback engine (espeak because gTTS was unreachable), or ''."""
    with ctx.db.read() as s:
        rendition = repo.rendition_of(
            s, approval.bulletin_id, approval.script_sha256, approval.audio_sha256
        )
    if rendition is None or not rendition.fallback:
        return ""
    return _(
        "this is fallback audio: {engine} spoke it because the preferred {preferred} "
        "failed. Listen to it before it airs; once {preferred} works again, 'render' makes "
        "new audio that needs its own approval"
    ).format(engine=rendition.engine, preferred=rendition.preferred_engine or "?")


def approval_state(ctx: StationContext, bulletin: Bulletin, db: Database | None = None) -> str:
    """'approved', 'audio-missing' (approved, but its audio file is gone), 'not-rendered',
    'unapproved' or 'changed-since-approval'."""
    return approval_states(ctx, [bulletin], db)[bulletin.id]


def fallback_approved(ctx: StationContext, bulletins: list[Bulletin]) -> list[Bulletin]:
    """The bulletins whose approved audio a fallback engine spoke (the preferred one had
    failed): they air in that voice until rendered again and approved."""
    with ctx.db.read() as s:
        facts = repo.approval_facts(s, bulletins)
    return [b for b in bulletins if b.id in facts.approved_fallback]


def approval_states(
    ctx: StationContext, bulletins: list[Bulletin], db: Database | None = None
) -> dict[str, str]:
    """:func:`approval_state` of each bulletin, from one read of the database."""
    with (db or ctx.db).read() as s:
        facts = repo.approval_facts(s, bulletins)
    states: dict[str, str] = {}
    for b in bulletins:
        audio = facts.approved_audio.get(b.id)
        if audio is not None:
            states[b.id] = "approved" if (ctx.root / audio).is_file() else "audio-missing"
        elif b.id in facts.ever_approved:
            # Edited after approval, whether or not the new text was rendered yet: what
            # was approved no longer airs, and the planned airings of it are at risk.
            states[b.id] = "changed-since-approval"
        elif b.id not in facts.rendered:
            states[b.id] = "not-rendered"
        else:
            states[b.id] = "unapproved"
    return states


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
    return open_readonly(ctx.db_url)


def approval_states_readonly(ctx: StationContext, bulletins: list[Bulletin]) -> dict[str, str]:
    """The same, for ``check``, which must not create or change anything."""
    db = _readonly_database(ctx)
    if db is None:
        return {b.id: "not-rendered" for b in bulletins}
    try:
        return approval_states(ctx, bulletins, db)
    except DatabaseFailure:
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
            for r in planned_of_bulletins(s, bulletin_ids):
                found.setdefault(r.bulletin_id, []).append(
                    AiringAtRisk(r.id or 0, r.zone_id, r.bulletin_id, as_utc(r.scheduled_at))
                )
    except DatabaseFailure:
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
