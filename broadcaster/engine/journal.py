"""Write-ahead 'playing' marks and batched outcomes: an airing is marked playing
(committed) before any output starts it, and the real-time driver commits the marks, and
later the outcomes, of a shared slot together.

The order is the evidence's promise: if the station dies at any instant, either the mark
is in the database (the restart logs the airing ``interrupted`` and airs it again) or the
output was never started. It is also what makes ``cancel`` and the start one decision:
both move the airing out of ``planned`` in a write transaction, so exactly one of them
wins, and an airing whose cancel won is never handed to an output.

When a thousand zones start at once, a write transaction per zone would make the last
zone wait for the other 999: each lane hands its mark to :class:`StartJournal`, which
commits everything submitted within a few milliseconds in one transaction and then
releases the lanes, which only then start their outputs. The same thousand zones end
together too, and a thousand outcome transactions (each a log entry) held the station's
write lock for seconds, so that a lane whose mark came after them started that much
late: :class:`OutcomeJournal` commits the outcomes of concurrent ends together, each in
its own savepoint so that one that fails is undone alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from broadcaster.store import airings
from broadcaster.store.db import Database, Session

T = TypeVar("T")


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
    """One caller's submission. ``done`` is a bare lock, held until the commit: releasing
    a thousand of them wakes a thousand lanes at once, each with nothing more to take,
    where ``threading.Event`` makes every woken lane take the event's own lock again
    (one by one, each hand-over a switch of the GIL: the last lane of a shared slot
    started a second after the commit)."""

    error: BaseException | None = None
    done: threading.Lock = field(default_factory=_held)


@dataclass
class _Mark(_Ticket):
    airing_id: int = 0
    started_at: datetime | None = None
    marked: bool = False


@dataclass
class _Work(_Ticket):
    work: Callable[[Session], Any] = field(default=lambda s: None)
    result: Any = None


class _BatchingThread(threading.Thread):
    """Collects what concurrent callers submit and commits it together; each caller waits
    for the commit of its own submission.

    A batch is committed once nothing has arrived for ``linger`` seconds (lanes of a
    shared slot arrive within a few milliseconds of each other), or after ``max_wait``
    at the latest, so a steady trickle cannot hold the first submission back. A batch
    holds at most ``max_batch`` submissions, and the thread lingers before each batch,
    so the station's write lock is free for others between two batches (the start
    journal's marks are not kept waiting behind a thousand outcomes)."""

    def __init__(
        self, name: str, db: Database, linger: float, max_wait: float, max_batch: int
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.db = db
        self.linger = linger
        self.max_wait = max(max_wait, linger)
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._open: list[_Ticket] = []
        self._closing = False

    def _submit(self, ticket: _Ticket) -> None:
        """Hand the ticket in and wait for its commit (committed here and now when the
        thread is not running)."""
        with self._cond:
            queued = not self._closing and self.is_alive()
            if queued:
                self._open.append(ticket)
                if len(self._open) == 1:
                    self._cond.notify()  # only the first: the thread then lingers
        if not queued:
            self._commit_and_release([ticket])
            return
        ticket.done.acquire()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._open and not self._closing:
                    self._cond.wait()
                if not self._open:
                    return  # closing, nothing left
                limit = time.monotonic() + self.max_wait
                seen = 0
                while len(self._open) != seen and time.monotonic() < limit:
                    seen = len(self._open)
                    self._cond.wait(min(self.linger, max(0.0, limit - time.monotonic())))
                batch, self._open = self._open[: self.max_batch], self._open[self.max_batch :]
            self._commit_and_release(batch)

    def _commit_and_release(self, batch: list[Any]) -> None:
        try:
            self._commit(batch)
        finally:
            for ticket in batch:
                ticket.done.release()

    def _commit(self, batch: list[Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self.is_alive():
            self.join(timeout=10)
        with self._cond:  # what was submitted while closing is still committed, not dropped
            batch, self._open = self._open, []
        if batch:
            self._commit_and_release(batch)


class StartJournal(_BatchingThread):
    """Commits the 'playing' marks of concurrent starts together; each caller waits for
    the commit of its own mark before it may start the output."""

    def __init__(
        self,
        db: Database,
        linger: float = 0.005,
        max_wait: float = 0.05,
        max_batch: int = 10_000,  # one UPDATE for all of them: a slot's marks go together
    ) -> None:
        super().__init__("start-journal", db, linger, max_wait, max_batch)

    def mark(self, airing_id: int, started_at: datetime) -> bool:
        """Planned -> playing, committed when this returns; False if the airing was no
        longer planned. Raises what the database raised (nothing was marked then)."""
        ticket = _Mark(airing_id=airing_id, started_at=started_at)
        self._submit(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.marked

    def _commit(self, batch: list[_Mark]) -> None:
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


class OutcomeJournal(_BatchingThread):
    """Commits the outcomes (a status move and its log entry) of concurrent ends in one
    transaction, each in a savepoint of its own (:meth:`Database.write_each`)."""

    def __init__(
        self,
        db: Database,
        linger: float = 0.005,
        max_wait: float = 0.1,
        max_batch: int = 200,  # a log entry each: about 0.2 s of the write lock at most
    ) -> None:
        super().__init__("outcome-journal", db, linger, max_wait, max_batch)

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a write transaction shared with other callers' and return its
        result once committed; raises what it (or the commit) raised, nothing of it kept."""
        ticket = _Work(work=work)
        self._submit(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _commit(self, batch: list[_Work]) -> None:
        try:
            outcomes = self.db.write_each([t.work for t in batch])
        except BaseException as exc:  # the commit failed: nothing of the batch was kept
            for ticket in batch:
                ticket.error = exc
            return
        for ticket, (result, error) in zip(batch, outcomes, strict=True):
            ticket.result, ticket.error = result, error
