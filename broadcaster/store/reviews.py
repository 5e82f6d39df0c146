"""The editorial trail of scripts: texts as they were submitted or approved, and each
submission for approval and rejection.

The station stays a folder (``scripts/*.md`` is what airs), so the database keeps only
what the folder cannot say: that a version was sent to the approvers, that one was sent
back with a reason, and the exact text of those versions, so that an approver can see
what changed since the version they approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from broadcaster.core.timeutil import as_utc
from broadcaster.store.db import Session
from broadcaster.store.tables import Approval, ScriptReview, ScriptText

SUBMITTED = "submitted"
REJECTED = "rejected"


@dataclass(frozen=True)
class ReviewRecord:
    bulletin_id: str
    script_sha256: str
    action: str
    by: str
    at: datetime
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "at": self.at.isoformat()}


def _record(row: ScriptReview) -> ReviewRecord:
    return ReviewRecord(
        row.bulletin_id, row.script_sha256, row.action, row.by, as_utc(row.at), row.reason or ""
    )


def _stored(at: datetime) -> datetime:
    """Instants go in as UTC (the column type refuses a naive one)."""
    return as_utc(at)


def keep_text(session: Session, bulletin_id: str, sha256: str, text: str, at: datetime) -> None:
    """Keep one content's text (once: the same content is the same text)."""
    found = session.exec(
        select(ScriptText.id).where(
            ScriptText.bulletin_id == bulletin_id, ScriptText.script_sha256 == sha256
        )
    ).first()
    if found is None:
        session.add(
            ScriptText(
                bulletin_id=bulletin_id, script_sha256=sha256, text=text, kept_at=_stored(at)
            )
        )


def text_of(session: Session, bulletin_id: str, sha256: str) -> str | None:
    return session.exec(
        select(ScriptText.text).where(
            ScriptText.bulletin_id == bulletin_id, ScriptText.script_sha256 == sha256
        )
    ).first()


def add_review(session: Session, review: ReviewRecord) -> ReviewRecord:
    session.add(
        ScriptReview(
            bulletin_id=review.bulletin_id,
            script_sha256=review.script_sha256,
            action=review.action,
            by=review.by,
            at=_stored(review.at),
            reason=review.reason,
        )
    )
    return review


def latest_reviews(session: Session) -> dict[str, ReviewRecord]:
    """Each bulletin's latest submission or rejection (one read for the whole list)."""
    latest: dict[str, ReviewRecord] = {}
    for row in session.exec(select(ScriptReview).order_by(ScriptReview.id)).all():
        latest[row.bulletin_id] = _record(row)
    return latest


def reviews_of(session: Session, bulletin_id: str) -> list[ReviewRecord]:
    rows = session.exec(
        select(ScriptReview)
        .where(ScriptReview.bulletin_id == bulletin_id)
        .order_by(ScriptReview.id)
    ).all()
    return [_record(r) for r in rows]


def last_approved_script(session: Session, bulletin_id: str) -> str | None:
    """The script SHA-256 of the bulletin's latest approval, if it was ever approved."""
    return session.exec(
        select(Approval.script_sha256)
        .where(Approval.bulletin_id == bulletin_id)
        .order_by(Approval.approved_at.desc(), Approval.id.desc())  # type: ignore[union-attr]
    ).first()
