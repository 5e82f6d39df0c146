"""Live broadcasts (issue 16): the booking ``broadcaster live`` writes, the process
holding the station takes on air, and the stop asked for; the as-run entries of every
zone are written with ``aslog`` when it ends (``close``), in one transaction with the
``done`` mark, so a broadcast is logged once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store import aslog
from broadcaster.store.tables import LiveBroadcast, LogEntry

BOOKED = "booked"
ON_AIR = "on-air"
DONE = "done"


def book(
    session: Session,
    *,
    zones: list[str],
    input: str,
    speaker: str,
    max_seconds: float,
    at: datetime,
    clock: str = "",
) -> LiveBroadcast:
    row = LiveBroadcast(
        zones=",".join(zones),
        input=input,
        speaker=speaker,
        max_seconds=max_seconds,
        booked_at=as_utc(at),
        clock=clock,
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, live_id: int) -> LiveBroadcast | None:
    return session.get(LiveBroadcast, live_id)


def not_done(session: Session) -> list[LiveBroadcast]:
    """Booked or on air: what the holder of the station sweeps each second."""
    return list(
        session.exec(
            select(LiveBroadcast).where(LiveBroadcast.state != DONE).order_by(LiveBroadcast.id)  # type: ignore[arg-type]
        ).all()
    )


def on_air(session: Session) -> list[LiveBroadcast]:
    """The broadcasts on air now (what the dashboard shows per zone)."""
    return list(session.exec(select(LiveBroadcast).where(LiveBroadcast.state == ON_AIR)).all())


def take(session: Session, live_id: int, now: datetime, recording: str) -> datetime | None:
    """``booked`` -> ``on-air`` now; the time-out instant, or None if another process
    took it (or it was withdrawn) first."""
    found = get(session, live_id)
    if found is None:
        return None
    ends_by = as_utc(now) + timedelta(seconds=found.max_seconds)
    moved = session.execute(
        update(LiveBroadcast)
        .where(LiveBroadcast.id == live_id, LiveBroadcast.state == BOOKED)
        .values(state=ON_AIR, started_at=as_utc(now), ends_by=ends_by, recording=recording)
        .execution_options(synchronize_session=False)
    )
    return ends_by if moved.rowcount == 1 else None


def withdraw(session: Session, live_id: int, by: str) -> bool:
    """A booking nobody took on air yet is withdrawn (``done``, no entry: nothing went
    out); False if it is on air (or over) already."""
    withdrawn = session.execute(
        update(LiveBroadcast)
        .where(LiveBroadcast.id == live_id, LiveBroadcast.state == BOOKED)
        .values(state=DONE, stop_by=by)
        .execution_options(synchronize_session=False)
    )
    return withdrawn.rowcount == 1


def ask_stop(session: Session, live_id: int, by: str) -> bool:
    """The speaker (or an operator) asks it to end now; the holder sees it within a
    second. A booking nobody took yet is withdrawn at once."""
    if withdraw(session, live_id, by):
        return True
    asked = session.execute(
        update(LiveBroadcast)
        .where(
            LiveBroadcast.id == live_id,
            LiveBroadcast.state == ON_AIR,
            LiveBroadcast.stop_by.is_(None),  # type: ignore[union-attr]
        )
        .values(stop_by=by)
        .execution_options(synchronize_session=False)
    )
    return asked.rowcount == 1


def close(
    session: Session,
    live_id: int,
    entries: Iterable[aslog.Outcome],
    ended_at: datetime,
    sha256: str,
) -> list[LogEntry]:
    """``on-air`` -> ``done`` with every zone's entry, inside the caller's write
    transaction; nothing written if it was closed already."""
    moved = session.execute(
        update(LiveBroadcast)
        .where(LiveBroadcast.id == live_id, LiveBroadcast.state == ON_AIR)
        .values(state=DONE, ended_at=as_utc(ended_at), sha256=sha256)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return []
    return [aslog.append(session, entry, ended_at) for entry in entries]


def entries(session: Session, live_id: int) -> list[LogEntry]:
    """Every zone's as-run entry of the broadcast, in the order written."""
    return list(
        session.exec(
            select(LogEntry).where(LogEntry.bulletin_id == f"live:{live_id}").order_by(LogEntry.seq)  # type: ignore[arg-type]
        ).all()
    )
