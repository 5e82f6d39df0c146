"""Dead-air alerts (issue 16): written by the engine, read by ``status`` and the web
dashboard. Every query on the ``air_alert`` table is here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store.tables import AirAlert


def raise_alert(
    session: Session,
    *,
    zone_id: str,
    what: str,
    source: str,
    started_at: datetime,
    seconds: float,
    raised_at: datetime,
    clock: str = "",
    kind: str = "silence",
) -> int:
    """A new alert, in the caller's write transaction; its id."""
    row = AirAlert(
        kind=kind,
        zone_id=zone_id,
        what=what[:128],
        source=source[:64],
        started_at=as_utc(started_at),
        seconds=round(seconds, 1),
        raised_at=as_utc(raised_at),
        clock=clock[:64],
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def end_alert(session: Session, alert_id: int, seconds: float, ended_at: datetime) -> None:
    """The silence is over: its full length."""
    session.execute(
        update(AirAlert)
        .where(col(AirAlert.id) == alert_id)
        .values(seconds=round(seconds, 1), ended_at=as_utc(ended_at))
        .execution_options(synchronize_session=False)
    )


def note_hook(session: Session, alert_id: int, outcome: str) -> None:
    """What the station's hook command did with the alert (``ok`` or why not)."""
    session.execute(
        update(AirAlert)
        .where(col(AirAlert.id) == alert_id)
        .values(hook=outcome[:256])
        .execution_options(synchronize_session=False)
    )


def recent(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> list[AirAlert]:
    """The latest alerts first (started in [since, until) when given)."""
    q = select(AirAlert)
    if since is not None:
        q = q.where(col(AirAlert.started_at) >= as_utc(since))
    if until is not None:
        q = q.where(col(AirAlert.started_at) < as_utc(until))
    q = q.order_by(col(AirAlert.started_at).desc(), col(AirAlert.id).desc()).limit(limit)
    rows = list(session.exec(q).all())
    for row in rows:
        session.expunge(row)
    return rows
