"""The real-time driver: APScheduler wakes the engine; the database decides.

Jobs are derived from the airings table: one wake-up per distinct scheduled instant in
the coming hours, rebuilt at start and refreshed by a periodic sweep. The sweep also
dispatches anything due that a job did not (a dropped job, an airing added by another
process such as ``queue`` or ``emergency``), so APScheduler losing a job loses nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from broadcaster.engine.clock import SystemClock
from broadcaster.engine.lanes import ThreadLane
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import _

log = logging.getLogger("broadcaster.realtime")


class RealtimeDriver:
    def __init__(
        self,
        engine: StationEngine,
        clock: SystemClock,
        *,
        sweep_seconds: float = 1.0,
        horizon: timedelta = timedelta(hours=6),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.horizon = horizon
        self.lanes: dict[str, ThreadLane] = {}
        self.dispatched: set[int] = set()
        self._jobs: set[datetime] = set()
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        self.engine.recover(self.clock.now())
        self.dispatch_due()
        self.sync_jobs()
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_seconds,
            id="sweep",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()

    def sweep(self) -> None:
        try:
            self.dispatch_due()
            self.sync_jobs()
        except Exception:  # the daemon must survive a bad sweep; the next one tries again
            log.exception("sweep failed")

    def sync_jobs(self) -> None:
        now = self.clock.now()
        with self._lock:
            self._jobs = {t for t in self._jobs if t > now}
            for instant in self.engine.planned_times(now, now + self.horizon):
                if instant in self._jobs:
                    continue
                self._jobs.add(instant)
                self.scheduler.add_job(
                    self.dispatch_due,
                    "date",
                    run_date=instant - self.clock.offset,
                    id=f"wake-{instant.timestamp():.3f}",
                    replace_existing=True,
                )

    def dispatch_due(self) -> None:
        with self._lock:
            for row in self.engine.due(self.clock.now()):
                if row.id in self.dispatched:
                    continue
                self.dispatched.add(row.id)  # type: ignore[arg-type]
                lane = self.lanes.get(row.zone_id)
                if lane is None:
                    lane = ThreadLane(row.zone_id, self.engine, self.clock)
                    self.lanes[row.zone_id] = lane
                    lane.start()
                lane.offer(row)

    def stop(self, reason: str | None = None) -> None:
        """Stop waking up, cut what plays (logged as interrupted) and wait for the lanes."""
        reason = reason or _("the station daemon was stopped")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for lane in self.lanes.values():
            lane.stop(reason)
        for lane in self.lanes.values():
            lane.join(timeout=10)

    def busy(self) -> bool:
        return any(lane.current is not None or lane.queue for lane in self.lanes.values())
