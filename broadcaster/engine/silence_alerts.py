"""Dead-air alerts (issue 16): what the engine does with a silence the detector found.

The detector (``playout/silence.py``) runs inside the relay's pacing loop, which must
hand out a chunk every 100 ms; so events are only queued here, and one worker thread
writes the alert rows (``store/alerts``) and runs the station's hook command:

- :class:`~broadcaster.playout.silence.SilenceStarted` (the air has been dead for the
  minimum): an ``air_alert`` row, then the hook, once per silence;
- :class:`~broadcaster.playout.silence.SilenceSpan` (it is over): the row's full length.

The hook (``silence.hook`` in station.yaml) is run without a shell, in the station's
folder, with the alert as arguments (kind, zone, start in local ISO time, seconds so far,
what was on air) and as ``BROADCASTER_ALERT_*`` variables (the same, the zone's and the
station's names, the source, and a Vietnamese sentence ready for an SMS). It is killed
(with its process group) after ``hook_timeout_seconds``; its failure is logged and noted
on the row, never raised: the daemon goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from broadcaster.core.model import Station
from broadcaster.core.timeutil import to_local
from broadcaster.i18n import _
from broadcaster.playout.base import Clock
from broadcaster.playout.silence import SilenceEvent, SilenceSpan, SilenceStarted
from broadcaster.store import alerts
from broadcaster.store.db import Database

log = logging.getLogger("broadcaster.alerts")

MAX_OUTPUT = 300  # characters of the hook's error output kept on the row


@dataclass(frozen=True)
class Report:
    """One detector event of one zone's stream."""

    zone_id: str
    what: str  # "relay:<relay id>"
    source: str
    event: SilenceEvent


def alert_message(station: Station, zone_id: str, at_local: str, seconds: float, what: str) -> str:
    """The alert in one sentence (the hook's SMS text), in the station's language."""
    zone = station.zones_by_id.get(zone_id)
    return _("{station}: dead air on {zone} since {at} ({seconds} s), during {what}").format(
        station=station.name,
        zone=zone.name if zone else zone_id,
        at=at_local,
        seconds=round(seconds),
        what=what,
    )


def run_hook(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[bool, str]:
    """Run the hook (no shell; its own process group, killed whole at the time-out):
    (True, "ok") or (False, why)."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return False, f"{argv[0]}: {exc.strerror or exc}"
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return False, _("killed after {seconds} s").format(seconds=round(timeout))
    if proc.returncode != 0:
        text = (err or b"").decode("utf-8", "replace").strip().splitlines()
        tail = f": {text[-1][:MAX_OUTPUT]}" if text else ""
        return False, _("exited with {code}").format(code=proc.returncode) + tail
    return True, "ok"


class SilenceAlerts:
    """The queue and its worker (see the module). ``report`` never blocks."""

    def __init__(
        self, db: Database, station: Station, root: Path, clock: Clock, clock_kind: str = ""
    ) -> None:
        self.db = db
        self.clock = clock
        self.station = station
        self.root = root
        self.clock_kind = clock_kind
        self._queue: queue.Queue[Report | None] = queue.Queue(maxsize=10_000)
        self._open: dict[tuple[str, str, object], int] = {}  # (zone, what, start) -> row
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.hook_runs = 0

    def report(self, zone_id: str, what: str, source: str, event: SilenceEvent) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="alerts", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(Report(zone_id, what, source, event))
        except queue.Full:
            log.warning("alerts: queue full, dropped a silence on %s", zone_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Handle what is queued (a hook may still be running), then end the worker; a
        report after this starts a new one (the lanes' last bulletins end after the
        relays), which the next ``stop`` ends."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._handle(item)
            except Exception:  # an alert that cannot be written must not stop the next
                log.exception("alerts: handling a silence on %s failed", item.zone_id)

    def _handle(self, item: Report) -> None:
        event = item.event
        key = (item.zone_id, item.what, event.at)
        if isinstance(event, SilenceStarted):
            alert_id = self._raise(item, event.seconds)
            self._open[key] = alert_id
            self._hook(alert_id, item, event.seconds)
        elif isinstance(event, SilenceSpan):
            alert_id = self._open.pop(key, None)
            if alert_id is None:  # its start was lost (queue full): raise it now
                alert_id = self._raise(item, event.seconds)
            ended = event.at + timedelta(seconds=event.seconds)
            with self.db.write() as s:
                alerts.end_alert(s, alert_id, event.seconds, ended)
            log.warning(
                "dead air on %s during %s: %.0f s from %s",
                item.zone_id,
                item.what,
                event.seconds,
                event.at.isoformat(),
            )

    def _raise(self, item: Report, seconds: float) -> int:
        with self.db.write() as s:
            return alerts.raise_alert(
                s,
                zone_id=item.zone_id,
                what=item.what,
                source=item.source,
                started_at=item.event.at,
                seconds=seconds,
                raised_at=self.clock.now(),
                clock=self.clock_kind,
            )

    def _hook(self, alert_id: int, item: Report, seconds: float) -> None:
        settings = self.station.silence
        if not settings.hook:
            return
        at_local = to_local(item.event.at, self.station.tz).isoformat(timespec="seconds")
        args = ["silence", item.zone_id, at_local, str(round(seconds)), item.what]
        zone = self.station.zones_by_id.get(item.zone_id)
        env = {
            "BROADCASTER_ALERT_KIND": "silence",
            "BROADCASTER_ALERT_ZONE": item.zone_id,
            "BROADCASTER_ALERT_ZONE_NAME": zone.name if zone else item.zone_id,
            "BROADCASTER_ALERT_AT": at_local,
            "BROADCASTER_ALERT_SECONDS": str(round(seconds)),
            "BROADCASTER_ALERT_WHAT": item.what,
            "BROADCASTER_ALERT_SOURCE": item.source,
            "BROADCASTER_ALERT_STATION": self.station.name,
            "BROADCASTER_ALERT_MESSAGE": alert_message(
                self.station, item.zone_id, at_local, seconds, item.what
            ),
        }
        self.hook_runs += 1
        ok, outcome = run_hook(
            [*settings.hook, *args], env, self.root, settings.hook_timeout_seconds
        )
        if not ok:
            log.warning("alerts: the silence hook failed: %s", outcome)
        with self.db.write() as s:
            alerts.note_hook(s, alert_id, outcome)
