"""The receivers' reports of given airings (an emergency's progress page)."""

from __future__ import annotations

from sqlmodel import select

from broadcaster.store.db import Session
from broadcaster.store.tables import ReceiverReport


def reports_of_airings(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """Per airing id: (receiver, outcome, reason) of each receiver that reported, by
    receiver id."""
    if not ids:
        return {}
    found: dict[int, list[tuple[str, str, str]]] = {}
    for row in session.exec(
        select(ReceiverReport)
        .where(ReceiverReport.airing_id.in_(ids))  # type: ignore[union-attr]
        .order_by(ReceiverReport.receiver_id)
    ).all():
        if row.airing_id is not None:
            found.setdefault(row.airing_id, []).append((row.receiver_id, row.outcome, row.reason))
    return found
