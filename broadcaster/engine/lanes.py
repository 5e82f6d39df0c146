"""Per-zone play queues. Each zone plays one thing at a time, in its own order, so a busy
zone never delays another: a thousand zones sharing a slot all start together."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from broadcaster.core.model import Priority
from broadcaster.engine.library import Cleared, Refused
from broadcaster.engine.station_engine import Started, StationEngine
from broadcaster.i18n import N_
from broadcaster.playout.base import Clock, PlayResult
from broadcaster.store.tables import AiringRow


@dataclass(order=True)
class Queued:
    rank: int
    scheduled_at: datetime
    seq: int
    airing_id: int = field(compare=False)
    priority: str = field(compare=False)
    row: AiringRow | None = field(default=None, compare=False)
    verdict: Cleared | Refused | None = field(default=None, compare=False)
    offered_at: float = field(default=0.0, compare=False)

    def fresh(self, max_age: float = 1.0) -> bool:
        """Row and verdict read just now may be reused; after a wait they are re-read."""
        return self.row is not None and time.monotonic() - self.offered_at < max_age


class LaneQueue:
    """Emergency first, then priority, then normal; within a rank, by scheduled time."""

    _counter = itertools.count()

    def __init__(self) -> None:
        self._heap: list[Queued] = []

    def offer(
        self,
        row: AiringRow,
        verdict: Cleared | Refused | None = None,
        read_at: float | None = None,
    ) -> Queued:
        """Queue an airing; ``read_at`` (monotonic) is when its row and verdict were read,
        if before now, so :meth:`Queued.fresh` judges their age, not the queue's."""
        item = Queued(
            Priority(row.priority).rank,
            row.scheduled_at,
            next(self._counter),
            row.id or 0,
            row.priority,
            row,
            verdict,
            time.monotonic() if read_at is None else read_at,
        )
        heapq.heappush(self._heap, item)
        return item

    def pop(self) -> Queued:
        return heapq.heappop(self._heap)

    def emergency_waiting(self) -> bool:
        return bool(self._heap) and self._heap[0].priority == Priority.EMERGENCY

    def __bool__(self) -> bool:
        return bool(self._heap)


def preempts(waiting: LaneQueue, current: Started | None) -> bool:
    return (
        current is not None
        and current.priority != Priority.EMERGENCY
        and waiting.emergency_waiting()
    )


def interruption_reason(waiting: LaneQueue) -> str:
    return cut_by_emergency(waiting._heap[0].airing_id)


def cut_by_emergency(emergency_id: int) -> str:
    """The reason logged for an airing cut by the emergency airing ``emergency_id`` (the
    English the log keeps; a face finds the cut airing by it)."""
    return N_("interrupted by emergency airing {id}").format(id=emergency_id)


class ThreadLane(threading.Thread):
    """Real-time lane: a thread that plays its zone's queue."""

    def __init__(self, zone_id: str, engine: StationEngine, clock: Clock) -> None:
        super().__init__(name=f"lane-{zone_id}", daemon=True)
        self.zone_id = zone_id
        self.engine = engine
        self.clock = clock
        self.queue = LaneQueue()
        self.cond = threading.Condition()
        self.current: Started | None = None
        self.stopping: str | None = None
        self.preempted: str | None = None
        self.operator_stop: str | None = None  # who asked to stop what plays (cancel --stop)

    def offer(
        self,
        row: AiringRow,
        verdict: Cleared | Refused | None = None,
        read_at: float | None = None,
    ) -> None:
        with self.cond:
            self.queue.offer(row, verdict, read_at)
            self._maybe_preempt()
            self.cond.notify()

    def _maybe_preempt(self) -> None:
        if preempts(self.queue, self.current) and self.preempted is None:
            assert self.current is not None
            self.preempted = interruption_reason(self.queue)
            self.current.playback.stop()

    def cut_for_live(self, reason: str) -> None:
        """A live broadcast takes the zone: what plays (unless an emergency) is cut, as
        an emergency cuts it; what is queued waits until the broadcast ends."""
        with self.cond:
            current = self.current
            if (
                current is not None
                and current.priority != Priority.EMERGENCY
                and self.preempted is None
            ):
                self.preempted = reason
                current.playback.stop()
            self.cond.notify()

    def _held_by_live(self) -> bool:
        """Scheduled content waits while the zone is live; an emergency does not."""
        return not self.queue.emergency_waiting() and self.engine.live_in(self.zone_id)

    def stop(self, reason: str) -> None:
        with self.cond:
            self.stopping = reason
            if self.current is not None:
                self.current.playback.stop()
            self.cond.notify()

    def stop_airing(self, airing_id: int, by: str) -> bool:
        """An operator's ``cancel --stop``: cut this airing if it is what plays now."""
        with self.cond:
            current = self.current
            if current is None or current.airing_id != airing_id or self.operator_stop:
                return False
            self.operator_stop = by
            current.playback.stop()
            return True

    def run(self) -> None:
        while True:
            with self.cond:
                while (not self.queue or self._held_by_live()) and self.stopping is None:
                    self.cond.wait(0.25 if self.queue else None)  # a live end is polled
                if self.stopping is not None:
                    return
                item = self.queue.pop()
            emergency = item.priority == Priority.EMERGENCY
            if emergency:  # a relay on the zone goes quiet before the emergency starts
                self.engine.relay_hold(self.zone_id, str(item.airing_id))
            try:
                self._play(item)
            finally:
                if emergency:
                    with self.cond:
                        more = self.queue.emergency_waiting()
                    if not more:  # the relay goes on, if its window is still open
                        self.engine.relay_release(self.zone_id)

    def _play(self, item: Queued) -> None:
        """Begin one airing, wait for its end, log it."""
        now = self.clock.now()
        if item.fresh():
            started = self.engine.begin(item.airing_id, now, row=item.row, verdict=item.verdict)
        else:
            started = self.engine.begin(item.airing_id, now)
        if started is None:
            return
        with self.cond:
            self.current, self.preempted, self.operator_stop = started, None, None
            self._maybe_preempt()
            if self.stopping is not None:  # stop() came while this one was starting
                started.playback.stop()
        self.engine.on_air(started)
        result: PlayResult | None = None
        while result is None:
            result = started.playback.wait(1.0)
        with self.cond:
            asked_by, self.operator_stop = self.operator_stop, None
            cut = self.preempted or self.stopping
            self.current = None
        now = self.clock.now()
        self.engine.off_air(started, now)
        if asked_by is not None:
            self._finish_operator_stop(started, result, now, asked_by)
            return
        # One rule for every interruption (an emergency, SIGTERM, a crash found at the
        # restart): air it again in its own session if there is time, else make up.
        self.engine.finish(started, result, now, interrupted=cut, retry=cut is not None)

    def _finish_operator_stop(
        self, started: Started, result: PlayResult, now: datetime, asked_by: str
    ) -> None:
        """Stopped on an operator's request: logged interrupted with who asked and after
        how long; not aired again (the operator decided against it)."""
        played = max(0.0, (now - started.started_at).total_seconds())
        reason = N_("stopped on air by {by} after {played:.1f} s of {total:.0f} s").format(
            by=asked_by, played=played, total=started.duration_seconds
        )
        self.engine.finish(
            started,
            result,
            now,
            interrupted=reason,
            by=f"operator:{asked_by}",
            recover=False,
        )
        self.engine.stop_handled(started.airing_id, now)
