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

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from broadcaster.store import airings
from broadcaster.store.db import Database


def mark_playing(db: Database, marks: list[tuple[int, datetime]]) -> set[int]:
    """Planned -> playing for each airing, in one committed transaction; the ids that
    moved (an airing no longer planned, e.g. cancelled, is left alone and not returned).
    The SQL is the store's (:func:`broadcaster.store.airings.start_many`)."""
    if not marks:
        return set()
    with db.write() as s:
        return airings.start_many(s, marks)


def _held() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Ticket:
    """One caller's mark. ``done`` is a bare lock, held until the commit: releasing a
    thousand of them wakes a thousand lanes at once, each with nothing more to take,
    where ``threading.Event`` makes every woken lane take the event's own lock again
    (one by one, each hand-over a switch of the GIL: the last lane of a shared slot
    started a second after the commit)."""

    airing_id: int
    started_at: datetime
    marked: bool = False
    error: BaseException | None = None
    done: threading.Lock = field(default_factory=_held)


@dataclass
class _Batch:
    """The marks committed together."""

    tickets: list[_Ticket] = field(default_factory=list)

    def release(self) -> None:
        for ticket in self.tickets:
            ticket.done.release()


class StartJournal(threading.Thread):
    """Commits the 'playing' marks of concurrent starts together; each caller waits for
    the commit of its own mark before it may start the output.

    A batch is committed once no mark has arrived for ``linger`` seconds (lanes of a
    shared slot arrive within a few milliseconds of each other), or after ``max_wait``
    at the latest, so a steady trickle cannot hold the first mark back."""

    def __init__(self, db: Database, linger: float = 0.005, max_wait: float = 0.05) -> None:
        super().__init__(name="start-journal", daemon=True)
        self.db = db
        self.linger = linger
        self.max_wait = max(max_wait, linger)
        self._cond = threading.Condition()
        self._open = _Batch()
        self._closing = False
        self._closed = threading.Event()

    def mark(self, airing_id: int, started_at: datetime) -> bool:
        """Planned -> playing, committed when this returns; False if the airing was no
        longer planned. Raises what the database raised (nothing was marked then)."""
        ticket = _Ticket(airing_id, started_at)
        with self._cond:
            if self._closing or not self.is_alive():
                batch = None
            else:
                batch = self._open
                batch.tickets.append(ticket)
                if len(batch.tickets) == 1:
                    self._cond.notify()  # only the first: the journal then lingers
        if batch is None:
            return airing_id in mark_playing(self.db, [(airing_id, started_at)])
        ticket.done.acquire()
        if ticket.error is not None:
            raise ticket.error
        return ticket.marked

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._open.tickets and not self._closing:
                    self._cond.wait()
                if not self._open.tickets:
                    return  # closing, nothing left
                limit = time.monotonic() + self.max_wait
                seen = 0
                while len(self._open.tickets) != seen and time.monotonic() < limit:
                    seen = len(self._open.tickets)
                    self._cond.wait(min(self.linger, max(0.0, limit - time.monotonic())))
                batch, self._open = self._open, _Batch()
            try:
                self._commit(batch.tickets)
            finally:
                batch.release()

    def _commit(self, batch: list[_Ticket]) -> None:
        try:
            moved = mark_playing(self.db, [(t.airing_id, t.started_at) for t in batch])
        except BaseException as exc:  # the callers decide; none of them was marked
            for ticket in batch:
                ticket.error = exc
            return
        claimed: set[int] = set()
        for ticket in batch:  # an airing named twice starts once: the first caller's
            ticket.marked = ticket.airing_id in moved and ticket.airing_id not in claimed
            claimed.add(ticket.airing_id)

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self.join(timeout=10)
        with self._cond:  # a mark submitted while closing is still committed, not dropped
            batch, self._open = self._open, _Batch()
        if batch.tickets:
            try:
                self._commit(batch.tickets)
            finally:
                batch.release()
