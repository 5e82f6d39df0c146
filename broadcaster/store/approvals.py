"""Renditions and approvals: the one repository the approval gate (at air time), the
approve command and the approval states all read, so they cannot disagree about what is
approved.

An approval is for exact content: the script's bytes (``script_sha256``) and the audio's
(``audio_sha256``). Editing either voids it: the queries here always match all three of
bulletin, script and audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from broadcaster.core.model import Bulletin
from broadcaster.store.tables import Approval, Rendition


def approved_rendition(session: Session, bulletin: Bulletin) -> tuple[Rendition, Approval] | None:
    """Newest rendition of the current script content that has an approval."""
    rows = session.exec(
        select(Rendition, Approval)
        .join(
            Approval,
            (Approval.bulletin_id == Rendition.bulletin_id)
            & (Approval.script_sha256 == Rendition.script_sha256)
            & (Approval.audio_sha256 == Rendition.audio_sha256),
        )
        .where(
            Rendition.bulletin_id == bulletin.id,
            Rendition.script_sha256 == bulletin.script_sha256,
        )
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ).first()
    return (rows[0], rows[1]) if rows else None


@dataclass(frozen=True)
class ApprovalFacts:
    """What the approval states of many bulletins are decided from, read in three
    queries (a page lists every bulletin with its state on each visit)."""

    approved_audio: dict[str, str]  # bulletin id -> audio path of its approved rendition
    approved_fallback: set[str]  # ... whose approved audio a fallback engine spoke
    ever_approved: set[str]
    rendered: set[str]  # bulletins whose current content has a rendition


def approval_facts(session: Session, bulletins: list[Bulletin]) -> ApprovalFacts:
    """The facts of :func:`approved_rendition`, :func:`ever_approved` and
    :func:`latest_rendition` for many bulletins at once, each for its current content."""
    current = {b.id: b.script_sha256 for b in bulletins}
    if not current:
        return ApprovalFacts({}, set(), set(), set())
    ids = list(current)
    approved: dict[str, str] = {}
    fallback: set[str] = set()
    for rendition_bulletin, script, audio_path, spoken_by_fallback in session.exec(
        select(
            Rendition.bulletin_id, Rendition.script_sha256, Rendition.audio_path, Rendition.fallback
        )
        .join(
            Approval,
            (Approval.bulletin_id == Rendition.bulletin_id)
            & (Approval.script_sha256 == Rendition.script_sha256)
            & (Approval.audio_sha256 == Rendition.audio_sha256),
        )
        .where(Rendition.bulletin_id.in_(ids))  # type: ignore[union-attr]
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ):
        if script == current[rendition_bulletin] and rendition_bulletin not in approved:
            approved[rendition_bulletin] = audio_path
            if spoken_by_fallback:
                fallback.add(rendition_bulletin)
    ever = set(
        session.exec(
            select(Approval.bulletin_id)
            .where(Approval.bulletin_id.in_(ids))  # type: ignore[union-attr]
            .distinct()
        )
    )
    rendered = {
        bulletin_id
        for bulletin_id, script in session.exec(
            select(Rendition.bulletin_id, Rendition.script_sha256)
            .where(Rendition.bulletin_id.in_(ids))  # type: ignore[union-attr]
            .distinct()
        )
        if script == current[bulletin_id]
    }
    return ApprovalFacts(approved, fallback, ever, rendered)


def latest_rendition(session: Session, bulletin: Bulletin) -> Rendition | None:
    return session.exec(
        select(Rendition)
        .where(
            Rendition.bulletin_id == bulletin.id,
            Rendition.script_sha256 == bulletin.script_sha256,
        )
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ).first()


def approval_of(
    session: Session, bulletin_id: str, script_sha256: str, audio_sha256: str
) -> Approval | None:
    """The approval of exactly this script and audio, if any."""
    return _for_content(session, Approval, bulletin_id, script_sha256, audio_sha256)


def rendition_of(
    session: Session, bulletin_id: str, script_sha256: str, audio_sha256: str
) -> Rendition | None:
    """The rendition that made exactly this audio for this script, if any."""
    return _for_content(session, Rendition, bulletin_id, script_sha256, audio_sha256)


def _for_content(session: Session, table, bulletin_id: str, script: str, audio: str):
    return session.exec(
        select(table).where(
            table.bulletin_id == bulletin_id,
            table.script_sha256 == script,
            table.audio_sha256 == audio,
        )
    ).first()


def ever_approved(session: Session, bulletin_id: str) -> bool:
    """Whether any content of the bulletin was ever approved (an edit since voided it)."""
    return (
        session.exec(select(Approval).where(Approval.bulletin_id == bulletin_id)).first()
        is not None
    )


def add_approval(
    session: Session,
    *,
    bulletin_id: str,
    script_sha256: str,
    audio_sha256: str,
    approved_by: str,
    approved_at: datetime,
) -> Approval:
    """Record the approval of exactly this script and audio, in the caller's write
    transaction; flushed, so it has its id (the signature that follows names it)."""
    approval = Approval(
        bulletin_id=bulletin_id,
        script_sha256=script_sha256,
        audio_sha256=audio_sha256,
        approved_by=approved_by,
        approved_at=approved_at,
    )
    session.add(approval)
    session.flush()
    return approval
