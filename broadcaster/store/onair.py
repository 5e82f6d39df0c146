"""What is written and read around an airing on air, besides the airing itself: the
receivers' reports of a networked zone and the operators' requests to stop.

The engine writes the reports and handles the requests; the application layer writes the
requests (``cancel ID --stop``) and reads the reports (what each receiver missed). The
receivers' verdicts are also in the log entry's hashed ``receivers`` field; their details
(times, seconds played, the receiver's own reason) are kept here for queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from broadcaster.core.model import AiringStatus, ReceiverOutcome
from broadcaster.core.timeutil import as_utc
from broadcaster.store.tables import AiringRow, ReceiverReport, StopRequest


def add_receiver_reports(session: Session, values: Iterable[Mapping[str, Any]]) -> None:
    """One ``receiver_report`` row per mapping (its column names), in the caller's write
    transaction (the one that closes the airing and appends its log entry)."""
    session.add_all([ReceiverReport(**v) for v in values])


def add_receiver_outcomes(
    session: Session,
    receivers: Iterable[ReceiverOutcome],
    *,
    log_seq: int,
    airing_id: int | None,
    zone_id: str,
    scheduled_at: datetime,
    recorded_at: datetime,
) -> None:
    """Each receiver's outcome of one log entry (an airing's, or a relay window's with no
    airing) as its ``receiver_report`` row."""
    add_receiver_reports(
        session,
        (
            {
                "log_seq": log_seq,
                "airing_id": airing_id,
                "zone_id": zone_id,
                "receiver_id": r.receiver,
                "outcome": r.outcome,
                "reason": r.reason[:512],
                "started_at": as_utc(r.started_at) if r.started_at else None,
                "ended_at": as_utc(r.ended_at) if r.ended_at else None,
                "played_seconds": r.played_seconds,
                "scheduled_at": as_utc(scheduled_at),
                "recorded_at": as_utc(recorded_at),
            }
            for r in receivers
        ),
    )


def request_stop(session: Session, airing_id: int, requested_by: str, at: datetime) -> None:
    """Record an operator's request that the daemon stop an airing on air (``cancel ID
    --stop``), in the caller's write transaction; the daemon's sweep handles it."""
    session.add(
        StopRequest(airing_id=airing_id, requested_by=requested_by[:128], requested_at=as_utc(at))
    )


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


# -- the receivers' reports, as the faces read them ------------------------------------------


def receiver_misses(session: Session, start: datetime, end: datetime) -> list[ReceiverOutcome]:
    """Per-receiver outcomes other than 'played' of the airings scheduled in [start, end)
    (UTC), by receiver then time: what ``status`` says each receiver missed."""
    return [
        row.record()
        for row in session.exec(
            select(ReceiverReport)
            .where(
                ReceiverReport.outcome != "played",
                ReceiverReport.scheduled_at >= as_utc(start),
                ReceiverReport.scheduled_at < as_utc(end),
            )
            .order_by(ReceiverReport.receiver_id, ReceiverReport.scheduled_at)
        )
    ]
