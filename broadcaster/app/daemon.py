"""The station on air: the daemon's wiring, whichever face starts it.

``broadcaster run`` starts it today and the web station will host it in its own process
(``--with-daemon``): both open one :class:`Daemon`, so what the daemon does (its lock,
its jobs, how it stops) is decided here once. The database stays the one source of
truth; APScheduler only wakes the engine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from broadcaster.app import bulletins, logbook, schedule
from broadcaster.app.context import StationContext
from broadcaster.engine.lock import StationLock
from broadcaster.engine.realtime import RealtimeDriver, configure_logging
from broadcaster.playout.base import Output, close_outputs

__all__ = ["Daemon", "DaemonOptions", "configure_logging"]

log = logging.getLogger("broadcaster.daemon")


@dataclass(frozen=True)
class DaemonOptions:
    sweep_seconds: float = 1.0
    autoplan: bool = True
    #: Sign the log's head this often, and at start and stop (0: never).
    head_minutes: float = 60


@dataclass
class Daemon:
    """One daemon per database: it holds the station lock from :meth:`start` to
    :meth:`stop`, so a second one (or an emergency outside it) is refused or handed to
    it instead of airing twice."""

    ctx: StationContext
    options: DaemonOptions = field(default_factory=DaemonOptions)
    _lock: StationLock | None = None
    _outputs: dict[str, Output] = field(default_factory=dict)
    _driver: RealtimeDriver | None = None
    _signing_heads: bool = False

    @property
    def lock_path(self) -> Path | None:
        return self._lock.path if self._lock else None

    def start(self) -> datetime | None:
        """Take the lock, open the outputs, plan the week, start the jobs; the next airing
        due (or None). Anything that fails here releases what was taken."""
        ctx, opts = self.ctx, self.options
        self._lock = StationLock(ctx.root, ctx.db_url)
        self._lock.acquire("daemon")
        try:
            self._outputs = ctx.outputs(ctx.clock)
            engine = schedule.engine_for(ctx, self._outputs)
            driver = RealtimeDriver(engine, ctx.clock, sweep_seconds=opts.sweep_seconds)
            if opts.autoplan:
                engine.autoplan(ctx.clock.now())
                driver.scheduler.add_job(
                    lambda: engine.autoplan(ctx.clock.now()), "interval", hours=1, id="autoplan"
                )
            retry = ctx.station.production.get("retry_fallback_minutes", 0)
            if retry:
                driver.scheduler.add_job(
                    lambda: bulletins.rerender_fallbacks(ctx),
                    "interval",
                    minutes=retry,
                    id="rerender",
                )
            self._signing_heads = opts.head_minutes > 0 and logbook.public_key(ctx) is not None
            if self._signing_heads:
                logbook.sign_log_head(ctx)
                driver.scheduler.add_job(
                    self._sign_head, "interval", minutes=opts.head_minutes, id="log-head"
                )
            driver.start()
            self._driver = driver
            return engine.next_planned_after(ctx.clock.now())
        except BaseException:
            self._release()
            raise

    def stop(self, reason: str) -> None:
        """Cut what plays (logged with ``reason``), sign the head once more, let go."""
        try:
            if self._driver is not None:
                self._driver.stop(reason)
                self._driver = None
                if self._signing_heads:
                    self._sign_head()
        finally:
            self._release()

    def close(self) -> None:
        """Let go of the outputs and the lock without the orderly stop (a face that failed
        between start and stop); harmless after :meth:`stop`."""
        self._release()

    def _release(self) -> None:
        close_outputs(self._outputs)
        self._outputs = {}
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _sign_head(self) -> None:
        """A periodic signed head; a failure (key gone, database busy) is logged, and the
        daemon airs on."""
        try:
            logbook.sign_log_head(self.ctx)
        except Exception:
            log.exception("could not sign the log head")
