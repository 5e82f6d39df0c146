"""An airing's status moves here, and only here: one transition for every face and the
engine.

A move is a compare-and-set (``UPDATE airing ... WHERE id = ? AND status IN (...)``):
two writers racing for the same airing (a cancel and the daemon's start, two sweeps)
cannot both win, and the loser learns it from the row count. A move to a final state
appends its as-run entry in the same transaction, so an airing's status and the
evidence of it can never disagree. Which moves exist is the core's rule
(``core.model.TRANSITIONS``); asking for another is a bug, refused before any SQL.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from broadcaster.core.model import AiringStatus
from broadcaster.store import aslog
from broadcaster.store.tables import AiringRow, LogEntry


class IllegalTransition(Exception):
    """A move the core does not allow (a bug in the caller, never a user's mistake)."""


def move(
    session: Session,
    airing_id: int,
    to: AiringStatus,
    *,
    expected: Collection[AiringStatus],
    values: dict[str, Any] | None = None,
    outcome: aslog.Outcome | None = None,
    recorded_at: datetime | None = None,
) -> LogEntry | bool:
    """Move the airing from one of ``expected`` to ``to`` inside the caller's write
    transaction, setting ``values`` too; False if it was no longer in ``expected``
    (someone else moved it first). A final state needs its ``outcome`` (the as-run
    entry), which is appended and returned."""
    for state in expected:
        if not state.may_become(to):
            raise IllegalTransition(f"airing {airing_id}: {state} -> {to} is not allowed")
    if to.is_final and (outcome is None or recorded_at is None):
        raise IllegalTransition(f"airing {airing_id}: {to} needs its as-run entry")
    moved = session.execute(
        update(AiringRow)
        .where(
            AiringRow.id == airing_id,
            AiringRow.status.in_([s.value for s in expected]),  # type: ignore[attr-defined]
        )
        .values(status=to.value, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return False
    if outcome is None:
        return True
    assert recorded_at is not None
    return aslog.append(session, outcome, recorded_at)
