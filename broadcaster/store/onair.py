"""What the engine writes and reads around an airing on air, besides the airing itself:
the receivers' reports of a networked zone and the operators' requests to stop.

The receivers' verdicts are also in the log entry's hashed ``receivers`` field; their
details (times, seconds played, the receiver's own reason) are kept here for queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from broadcaster.core.model import AiringStatus
from broadcaster.store.tables import AiringRow, ReceiverReport, StopRequest


def add_receiver_reports(session: Session, values: Iterable[Mapping[str, Any]]) -> None:
    """One ``receiver_report`` row per mapping (its column names), in the caller's write
    transaction (the one that closes the airing and appends its log entry)."""
    session.add_all([ReceiverReport(**v) for v in values])


def stop_requests(session: Session) -> dict[int, str]:
    """Pending stop requests for airings on air: airing id -> who asked."""
    found = session.exec(
        select(StopRequest.airing_id, StopRequest.requested_by)
        .join(AiringRow, AiringRow.id == StopRequest.airing_id)  # type: ignore[arg-type]
        .where(
            StopRequest.handled_at.is_(None),  # type: ignore[union-attr]
            AiringRow.status == AiringStatus.PLAYING,
        )
    ).all()
    return {airing_id: by for airing_id, by in found}


def stop_handled(session: Session, airing_id: int, at: datetime) -> None:
    """Mark the airing's pending stop requests handled at ``at`` (UTC)."""
    session.execute(
        update(StopRequest)
        .where(
            StopRequest.airing_id == airing_id,
            StopRequest.handled_at.is_(None),  # type: ignore[union-attr]
        )
        .values(handled_at=at)
        .execution_options(synchronize_session=False)
    )
