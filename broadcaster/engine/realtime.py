"""The real-time driver: APScheduler wakes the engine; the database decides.

Jobs are derived from the airings table: one wake-up per distinct scheduled instant in
the coming hours, rebuilt at start and refreshed by a periodic sweep. The sweep also
dispatches anything due that a job did not (a dropped job, an airing added by another
process such as ``queue`` or ``emergency``), so APScheduler losing a job loses nothing.

The sweep also works ahead for outputs whose devices can prepare (the mqtt output):
airings due within their lead time are cued (devices fetch the audio and start at the
slot by their own clock), cues of airings cancelled meanwhile are withdrawn, and the
audio of approved emergency bulletins is put on the devices. The slot itself runs as
for any output: the engine begins the airing, the output adopts its cue.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from broadcaster.engine.bulletin_silence import BulletinDeadAir
from broadcaster.engine.clock import SystemClock
from broadcaster.engine.journal import OutcomeJournal, StartJournal
from broadcaster.engine.lanes import ThreadLane
from broadcaster.engine.live import LiveDesk
from broadcaster.engine.relaying import RelayDesk
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import N_

log = logging.getLogger("broadcaster.realtime")


def configure_logging(verbose: bool = False) -> None:
    """The daemon's log on stderr. By default one line per airing outcome (and per make-up
    planned), plus warnings and errors: APScheduler logs two INFO lines for every job it
    runs, the sweep included, which is two lines a second and about 170,000 a day, so its
    loggers stay at WARNING unless ``verbose``."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("broadcaster").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose else logging.WARNING)


class RealtimeDriver:
    def __init__(
        self,
        engine: StationEngine,
        clock: SystemClock,
        *,
        sweep_seconds: float = 1.0,
        horizon: timedelta = timedelta(hours=6),
        prime_seconds: float = 0.25,
    ) -> None:
        self.engine = engine
        self.prime_seconds = prime_seconds
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.horizon = horizon
        self.lanes: dict[str, ThreadLane] = {}
        self.dispatched: set[int] = set()
        self._jobs: set[datetime | tuple[str, datetime]] = set()
        self._lock = threading.Lock()
        self.relays = RelayDesk(engine, clock)
        silence = engine.station.silence
        engine.dead_air = BulletinDeadAir(
            self.relays.alerts, silence.threshold_dbfs, silence.min_seconds, clock
        )
        engine.relays = self.relays  # the lanes hold a zone's relay for an emergency
        self.live = LiveDesk(engine, clock, self.lanes, self.relays, self.relays.alerts)
        engine.live = self.live  # ... and its live broadcast; scheduled airings wait
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        self.engine.recover(self.clock.now())
        self.relays.recover(self.clock.now())
        self.live.recover(self.clock.now())
        self.engine.prepare_outputs()
        self.engine.journal = StartJournal(self.engine.db)
        self.engine.journal.start()
        self.engine.outcomes = OutcomeJournal(self.engine.db)
        self.engine.outcomes.start()
        for zone in self.engine.station.zones:  # idle threads now, not at the slot
            self._lane(zone.id)
        self.relays.sweep(self.clock.now())
        self.dispatch_due()
        self.prepare()
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
            self.live.sweep(self.clock.now())
            self.relays.sweep(self.clock.now())
            self.dispatch_due()
            self.stop_requested()
            self.prepare()
            self.sync_jobs()
        except Exception:  # the daemon must survive a bad sweep; the next one tries again
            log.exception("sweep failed")

    def sync_jobs(self) -> None:
        now = self.clock.now()
        with self._lock:
            self._jobs = {t for t in self._jobs if (t[1] if isinstance(t, tuple) else t) > now}
            for instant in self.engine.planned_times(now, now + self.horizon):
                if instant in self._jobs:
                    continue
                self._jobs.add(instant)
                self.scheduler.add_job(
                    self.slot,
                    "date",
                    args=[instant],
                    run_date=instant - self.clock.offset - timedelta(seconds=self.prime_seconds),
                    id=f"wake-{instant.timestamp():.3f}",
                    replace_existing=True,
                )
            for instant in self.relays.starts_between(now, now + self.horizon):
                if ("relay", instant) in self._jobs:
                    continue
                self._jobs.add(("relay", instant))
                self.scheduler.add_job(
                    self.relay_slot,
                    "date",
                    args=[instant],
                    run_date=instant - self.clock.offset,
                    id=f"relay-{instant.timestamp():.3f}",
                    replace_existing=True,
                )

    def relay_slot(self, instant: datetime) -> None:
        """A relay window's wake-up: at its instant (never before), the desk begins what
        the database says is due (the sweep would, within a second)."""
        while (wait := (instant - self.clock.now()).total_seconds()) > 0:
            time.sleep(wait)
        self.relays.sweep(self.clock.now())

    def slot(self, instant: datetime) -> None:
        """A slot's wake-up, ``prime_seconds`` early: the airings due at ``instant`` and
        the gate's verdicts are read now, then handed to their lanes at the instant
        itself (never before it), so a thousand zones do not wait for a thousand rows
        to be read. An airing cancelled meanwhile loses at its 'playing' mark; rows and
        verdicts older than a lane's freshness bound are read again by the lane."""
        with self._lock:
            rows = [r for r in self.engine.due(instant) if r.id not in self.dispatched]
            verdicts = self.engine.clear_many({r.bulletin_id for r in rows}) if rows else {}
        read_at = time.monotonic()
        while (wait := (instant - self.clock.now()).total_seconds()) > 0:
            time.sleep(wait)
        with self._lock:
            for row in rows:
                if row.id not in self.dispatched:
                    self.dispatched.add(row.id)  # type: ignore[arg-type]
                    self._lane(row.zone_id).offer(row, verdicts[row.bulletin_id], read_at)
        self.dispatch_due()  # anything else due by now

    def prepare(self) -> None:
        """Work ahead: cue what is due within the outputs' lead times, withdraw cues of
        airings cancelled meanwhile, keep emergency audio on the devices. After the due
        airings, so preparing never delays what must start now."""
        with self._lock:
            self.engine.cue_upcoming(self.clock.now())
            self.engine.release_cues()
        self.engine.preload_emergencies()

    def dispatch_due(self) -> None:
        """Hand every due airing to its zone's lane, with the gate's verdict taken once
        per bulletin, so a thousand zones sharing a slot start together."""
        with self._lock:
            rows = [r for r in self.engine.due(self.clock.now()) if r.id not in self.dispatched]
            if not rows:
                return
            verdicts = self.engine.clear_many({r.bulletin_id for r in rows})
            for row in rows:
                self.dispatched.add(row.id)  # type: ignore[arg-type]
                self._lane(row.zone_id).offer(row, verdicts[row.bulletin_id])

    def stop_requested(self) -> int:
        """Stop the airings operators asked to stop (``cancel ID --stop``, written to the
        database by another process); the lane logs each one with who asked."""
        requests = self.engine.stop_requests()
        stopped = 0
        for lane in list(self.lanes.values()):
            current = lane.current
            if current is not None and current.airing_id in requests:
                stopped += lane.stop_airing(current.airing_id, requests[current.airing_id])
        return stopped

    def _lane(self, zone_id: str) -> ThreadLane:
        lane = self.lanes.get(zone_id)
        if lane is None:
            lane = ThreadLane(zone_id, self.engine, self.clock)
            self.lanes[zone_id] = lane
            lane.start()
        return lane

    def stop(self, reason: str | None = None) -> None:
        """Stop waking up, cut what plays (logged as interrupted) and wait for the lanes."""
        reason = reason or N_("the station daemon was stopped")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._lock:
            self.engine.release_cues(everything=True)
        self.live.stop(reason)  # each zone logged with what went out
        self.relays.stop(reason)  # each zone-window logged with what went out
        for lane in self.lanes.values():
            lane.stop(reason)
        for lane in self.lanes.values():
            lane.join(timeout=10)
        if self.engine.dead_air is not None:  # the last bulletins' dead air, then alerted
            self.engine.dead_air.stop()
            self.relays.alerts.stop()
        if self.engine.journal is not None:
            self.engine.journal.close()
            self.engine.journal = None
        if self.engine.outcomes is not None:
            self.engine.outcomes.close()
            self.engine.outcomes = None
