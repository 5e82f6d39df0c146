"""Relay runs (issue 16): which relay windows the daemon began and which it closed.

The windows themselves come from the station's configuration (``core.sessions``); what
the database decides is whether a zone's window was already relayed (closed, with its
as-run entry) or was on air when the station stopped (``playing``, found at the
restart). A run is written before any audio of it goes out and closed in the same
transaction as its log entry, like an airing's write-ahead mark and outcome.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store import aslog
from broadcaster.store.tables import LogEntry, RelayRun

PLAYING = "playing"
CLOSED = "closed"


def begin(
    session: Session,
    *,
    zone_id: str,
    relay_id: str,
    source_id: str,
    window_start: datetime,
    window_end: datetime,
    started_at: datetime,
) -> tuple[RelayRun | None, bool]:
    """The run of this zone's window, made ``playing`` now if new: ``(run, adopted)``.

    ``adopted`` is True for a run already ``playing`` (the station stopped during it and
    the window is still open: the caller relays on); ``(None, False)`` when the window
    was already closed (relayed and logged: nothing to do)."""
    found = session.exec(
        select(RelayRun).where(
            RelayRun.zone_id == zone_id,
            RelayRun.relay_id == relay_id,
            RelayRun.window_start == as_utc(window_start),
        )
    ).first()
    if found is not None:
        return (found, True) if found.status == PLAYING else (None, False)
    run = RelayRun(
        zone_id=zone_id,
        relay_id=relay_id,
        source_id=source_id,
        window_start=as_utc(window_start),
        window_end=as_utc(window_end),
        status=PLAYING,
        started_at=as_utc(started_at),
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # another writer began it between the read and the insert
        return None, False
    return run, False


def close(
    session: Session, run_id: int, outcome: aslog.Outcome, recorded_at: datetime
) -> LogEntry | None:
    """``playing`` -> ``closed`` and the window's as-run entry, inside the caller's write
    transaction; None (nothing written) if the run was closed already."""
    moved = session.execute(
        update(RelayRun)
        .where(RelayRun.id == run_id, RelayRun.status == PLAYING)
        .values(status=CLOSED)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return None
    entry = aslog.append(session, outcome, recorded_at)
    session.execute(
        update(RelayRun)
        .where(RelayRun.id == run_id)
        .values(log_seq=entry.seq)
        .execution_options(synchronize_session=False)
    )
    return entry


def playing(session: Session) -> list[RelayRun]:
    """Runs begun and never closed: on air when the station stopped."""
    return list(session.exec(select(RelayRun).where(RelayRun.status == PLAYING)).all())


def closed_since(session: Session, since: datetime) -> set[tuple[str, str, datetime]]:
    """(zone, relay, window start) of the runs closed whose window ends after ``since``:
    windows still open that must not be relayed again."""
    q = select(RelayRun.zone_id, RelayRun.relay_id, RelayRun.window_start).where(
        RelayRun.status == CLOSED, RelayRun.window_end > as_utc(since)
    )
    return {(z, r, as_utc(w)) for z, r, w in session.exec(q).all()}
