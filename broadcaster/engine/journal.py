"""Batched 'playing' marks for the real-time driver.

When a thousand zones start at once, a write transaction per zone would make the last
zone wait for the other 999. Outputs start first; their 'playing' marks are written here
in one transaction per few milliseconds. An airing cancelled in between is stopped as
soon as its mark finds it no longer planned.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update

from broadcaster.core.model import AiringStatus
from broadcaster.core.timeutil import as_utc
from broadcaster.store.db import Database
from broadcaster.store.tables import AiringRow

Mark = tuple[int, datetime, Callable[[], None]]


def mark_playing(db: Database, marks: list[Mark]) -> None:
    """Planned -> playing for each airing; call its ``on_lost`` if it was not planned."""
    lost = []
    with db.write() as s:
        for airing_id, started_at, on_lost in marks:
            moved = s.execute(
                update(AiringRow)
                .where(AiringRow.id == airing_id, AiringRow.status == AiringStatus.PLANNED)
                .values(status=AiringStatus.PLAYING, started_at=as_utc(started_at))
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:
                lost.append(on_lost)
    for on_lost in lost:
        on_lost()


class StartJournal(threading.Thread):
    def __init__(self, db: Database, linger: float = 0.02) -> None:
        super().__init__(name="start-journal", daemon=True)
        self.db = db
        self.linger = linger
        self._queue: queue.Queue[Mark | None] = queue.Queue()

    def submit(self, airing_id: int, started_at: datetime, on_lost: Callable[[], None]) -> None:
        self._queue.put((airing_id, started_at, on_lost))

    def run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            try:
                while True:
                    item = self._queue.get(timeout=self.linger)
                    if item is None:
                        mark_playing(self.db, batch)
                        return
                    batch.append(item)
            except queue.Empty:
                pass
            mark_playing(self.db, batch)

    def close(self) -> None:
        self._queue.put(None)
        self.join(timeout=10)
