"""Write-ahead 'playing' marks: an airing is marked playing (committed) before any
output starts it, and the real-time driver batches the marks of a shared slot.

The order is the evidence's promise: if the station dies at any instant, either the mark
is in the database (the restart logs the airing ``interrupted`` and airs it again) or the
output was never started. It is also what makes ``cancel`` and the start one decision:
both move the airing out of ``planned`` in a write transaction, so exactly one of them
wins, and an airing whose cancel won is never handed to an output.

When a thousand zones start at once, a write transaction per zone would make the last
zone wait for the other 999: each lane hands its mark to :class:`StartJournal`, which
commits everything submitted within a few milliseconds in one transaction and then
releases the lanes, which only then start their outputs.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update

from broadcaster.core.model import AiringStatus
from broadcaster.core.timeutil import as_utc
from broadcaster.store.db import Database
from broadcaster.store.tables import AiringRow


def mark_playing(db: Database, marks: list[tuple[int, datetime]]) -> set[int]:
    """Planned -> playing for each airing, in one committed transaction; the ids that
    moved (an airing no longer planned, e.g. cancelled, is left alone and not returned)."""
    moved_ids: set[int] = set()
    with db.write() as s:
        for airing_id, started_at in marks:
            moved = s.execute(
                update(AiringRow)
                .where(AiringRow.id == airing_id, AiringRow.status == AiringStatus.PLANNED)
                .values(status=AiringStatus.PLAYING, started_at=as_utc(started_at))
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:
                moved_ids.add(airing_id)
    return moved_ids


@dataclass
class _Ticket:
    airing_id: int
    started_at: datetime
    done: threading.Event = field(default_factory=threading.Event)
    marked: bool = False
    error: BaseException | None = None


class StartJournal(threading.Thread):
    """Commits the 'playing' marks of concurrent starts together; each caller waits for
    the commit of its own mark before it may start the output."""

    def __init__(self, db: Database, linger: float = 0.005) -> None:
        super().__init__(name="start-journal", daemon=True)
        self.db = db
        self.linger = linger
        self._queue: queue.Queue[_Ticket | None] = queue.Queue()
        self._closed = threading.Event()

    def mark(self, airing_id: int, started_at: datetime) -> bool:
        """Planned -> playing, committed when this returns; False if the airing was no
        longer planned. Raises what the database raised (nothing was marked then)."""
        if self._closed.is_set() or not self.is_alive():
            return airing_id in mark_playing(self.db, [(airing_id, started_at)])
        ticket = _Ticket(airing_id, started_at)
        self._queue.put(ticket)
        ticket.done.wait()
        if ticket.error is not None:
            raise ticket.error
        return ticket.marked

    def run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            try:
                while True:
                    item = self._queue.get(timeout=self.linger)
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
            except queue.Empty:
                pass
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Ticket]) -> None:
        try:
            moved = mark_playing(self.db, [(t.airing_id, t.started_at) for t in batch])
        except BaseException as exc:  # the callers decide; none of them was marked
            for ticket in batch:
                ticket.error = exc
                ticket.done.set()
            return
        for ticket in batch:
            ticket.marked = ticket.airing_id in moved
            ticket.done.set()

    def close(self) -> None:
        self._closed.set()
        self._queue.put(None)
        self.join(timeout=10)
        while True:  # a mark submitted while closing is still committed, not dropped
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._commit([item])
