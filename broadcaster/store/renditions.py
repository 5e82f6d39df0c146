"""Renditions as the renderer reads and records them: the audio made for a content key.

The approval gate and ``approve`` read renditions through :mod:`broadcaster.store.approvals`
(always together with the approval of the same content); rendering only needs to find
the newest audio made for a render key and to add a new one; planning, which bulletins
were ever approved.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from broadcaster.store.tables import Approval, Rendition


def newest_for_key(session: Session, bulletin_id: str, render_key: str) -> Rendition | None:
    """The newest rendition of the bulletin made for exactly this render key, if any."""
    return session.exec(
        select(Rendition)
        .where(Rendition.bulletin_id == bulletin_id, Rendition.render_key == render_key)
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ).first()


def add(session: Session, **values: Any) -> Rendition:
    """Record a rendition (Rendition's column names) in the caller's write transaction;
    flushed, so it has its id."""
    row = Rendition(**values)
    session.add(row)
    session.flush()
    return row


def approved_bulletin_ids(session: Session) -> set[str]:
    """Every bulletin any content of which was ever approved (the planner says why one of
    them is left out: changed since its approval)."""
    return set(session.exec(select(Approval.bulletin_id).distinct()).all())


def audio_paths(session: Session, audio_sha256: str) -> list[str]:
    """Every file (relative to the station) a rendition recorded for exactly this audio,
    each once: where the evidence pack looks for an audio the log says aired."""
    return list(
        session.exec(
            select(Rendition.audio_path).where(Rendition.audio_sha256 == audio_sha256).distinct()
        ).all()
    )
