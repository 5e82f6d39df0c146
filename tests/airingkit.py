"""Test kit: an airing booked straight into a station's database (the engine's tests need
one at an exact instant, without the planner), and a file's SHA-256."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, Origin, Priority
from broadcaster.engine.planning import new_row


def book(ctx: StationContext, bulletin_id: str, zone: str, when: datetime) -> int:
    """A queued airing of ``bulletin_id`` on ``zone`` at ``when`` in session ``sang``."""
    bulletin = ctx.bulletin(bulletin_id)
    with ctx.db.write() as s:
        row = new_row(
            Airing(
                None,
                zone,
                bulletin_id,
                when,
                when + timedelta(minutes=10),
                "sang",
                Priority(bulletin.priority),
                Origin.QUEUE,
                created_by="test",
            ),
            bulletin,
            ctx.station,
            when - timedelta(hours=1),
        )
        s.add(row)
        s.flush()
        return row.id  # type: ignore[return-value]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
