"""The simulated driver: the same engine on a clock that jumps from event to event.

Events are the airings' scheduled times and the ends of what plays; between them nothing
happens, so a week of a commune runs in seconds and writes the real log.

At the end of what plays the driver takes the output's own result (``wait(None)``): a
file output has it at once; a networked output (``simulate --network``) waits for its
real receivers, which run on real time but play instantly when told to, so the clock
never moves past an airing whose devices have not yet answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broadcaster.core.timeutil import iso_week_of_instant, parse_week, week_bounds_utc
from broadcaster.engine.clock import SimClock
from broadcaster.engine.lanes import LaneQueue, interruption_reason, preempts
from broadcaster.engine.station_engine import Started, StationEngine
from broadcaster.i18n import N_
from broadcaster.playout.base import Output, OutputError, PlayItem, PlayResult


@dataclass(frozen=True)
class Outage:
    """An injected output failure: zone ``zone_id`` cannot play in [start, end)."""

    zone_id: str
    start: datetime
    end: datetime


class OutageOutput:
    """Wraps a zone's output and fails it during injected outages."""

    def __init__(self, inner: Output, outages: list[Outage], clock: SimClock) -> None:
        self.name = inner.name
        self.inner = inner
        self.outages = outages
        self.clock = clock

    def start(self, item: PlayItem) -> Any:
        now = self.clock.now()
        for o in self.outages:
            if o.zone_id == item.zone_id and o.start <= now < o.end:
                raise OutputError(N_("zone unreachable (simulated outage)"))
        return self.inner.start(item)


class SimulatedDriver:
    def __init__(self, engine: StationEngine, clock: SimClock, *, autoplan: bool = True) -> None:
        self.engine = engine
        self.autoplan = autoplan
        self.clock = clock
        self.queues: dict[str, LaneQueue] = {}
        self.current: dict[str, Started] = {}
        self.dispatched: set[int] = set()
        self.steps = 0

    def run(self, until: datetime) -> None:
        """Advance the clock event by event up to ``until``."""
        engine = self.engine
        engine.recover(self.clock.now())
        planned_week = None
        while True:
            week = iso_week_of_instant(self.clock.now(), engine.station.tz)
            if week != planned_week and self.autoplan:
                engine.autoplan(self.clock.now())
                planned_week = week
            self._settle(self.clock.now())
            week_end = week_bounds_utc(*parse_week(week), engine.station.tz)[1]
            candidates = [week_end, *(s.ends_at for s in self.current.values())]
            upcoming = engine.next_planned_after(self.clock.now())
            if upcoming is not None:
                candidates.append(upcoming)
            nxt = min(candidates)
            if nxt >= until:
                break
            self.clock.advance_to(nxt)
            self.steps += 1
        # Let what is on air at the end finish, as a real station would; start nothing new.
        for zone_id, started in sorted(self.current.items(), key=lambda kv: kv[1].ends_at):
            self.clock.advance_to(started.ends_at)
            result = started.playback.wait(None) or PlayResult(True)
            self.engine.finish(started, result, self.clock.now())
            del self.current[zone_id]
        self.clock.advance_to(until)

    def _settle(self, now: datetime) -> None:
        """Process everything that happens at ``now`` until nothing changes."""
        changed = True
        while changed:
            changed = False
            for zone_id, started in list(self.current.items()):
                if started.ends_at <= now:
                    result = started.playback.wait(None) or PlayResult(True)
                    del self.current[zone_id]
                    self.engine.finish(started, result, now)
                    changed = True
            for row in self.engine.due(now):
                if row.id not in self.dispatched:
                    self.dispatched.add(row.id)  # type: ignore[arg-type]
                    self.queues.setdefault(row.zone_id, LaneQueue()).offer(row)
                    changed = True
            for zone_id, queue in self.queues.items():
                current = self.current.get(zone_id)
                if preempts(queue, current):
                    assert current is not None
                    reason = interruption_reason(queue)
                    current.playback.stop()
                    del self.current[zone_id]
                    result = current.playback.wait(None) or PlayResult(False)
                    self.engine.finish(current, result, now, interrupted=reason, retry=True)
                    changed = True
                while zone_id not in self.current and queue:
                    started = self.engine.begin(queue.pop().airing_id, now)
                    changed = True
                    if started is not None:
                        self.current[zone_id] = started


def outage_outputs(
    outputs: dict[str, Output], outages: list[Outage], clock: SimClock
) -> dict[str, Output]:
    if not outages:
        return outputs
    return {name: OutageOutput(out, outages, clock) for name, out in outputs.items()}
