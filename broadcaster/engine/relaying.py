"""Relays on air (issue 16): the real-time driver's relay desk.

APScheduler only wakes the desk (a job at each window's start, and the driver's sweep
every second); what is due is decided from the station's relay windows (``core``) and
the database: a zone's window is begun once (a ``relay_run`` row written before any audio
goes out) and closed once, with its as-run entry, in one transaction (``store/relays``).

Every source open in a window is pulled by ONE ffmpeg (``playout/relay_pull``), fanned
out to the zones taking it through their outputs' relay sinks (``RelayingOutput``); the
pull stops at the window's end whatever happens. An emergency in a zone holds that zone's
share (the relay goes on for the others) and the zone carries the relay again when the
emergency is over, if the window is still open.

The entry per zone-window says what went out: the source, the seconds relayed, each
dropout and cut with its time, and the outcome: ``aired`` when at least the window's
``min_share`` was relayed; else ``interrupted`` when an emergency or the daemon's stop
took the rest, or ``failed`` with the reason (the source never came up, the output
failed, too little relayed).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from broadcaster.core.model import RelayWindow, Station
from broadcaster.core.sessions import zone_week_relays
from broadcaster.core.timeutil import as_utc, iso_week_of_instant, parse_week
from broadcaster.engine.silence_alerts import SilenceAlerts
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import N_
from broadcaster.playout.base import (
    Clock,
    DeviceRelay,
    DeviceRelayingOutput,
    DeviceRelayResult,
    ReceiverOutcome,
    RelayingOutput,
    RelayTarget,
)
from broadcaster.playout.relay_pull import Gap, RelayPull, Share
from broadcaster.playout.silence import SilenceEvent
from broadcaster.store import aslog, onair, relays

log = logging.getLogger("broadcaster.relay")

#: The log entry's bulletin id for a relay window: "relay:<relay id>" (bulletin ids are
#: slugs, never with a colon), so reports tell relays from bulletins by the index alone.
RELAY_PREFIX = "relay:"
TRIGGERED_BY = "daemon:relay"
#: The most ahead of a window its devices are told of it (see RelayDesk._device_lead).
DEVICE_LEAD_MAX = 10.0
#: How long before a window the station connects to its source (RelayDesk._preroll).
PREROLL_SECONDS = 3.0

R_NEVER = N_("source '{source}' never came up: {err}")
R_SHORT = N_("relayed {relayed} s of {total} s (at least {need} s required)")
R_CUT = N_("cut by emergency airing {id} for {seconds} s")
R_CUT_LIVE = N_("cut by {id} for {seconds} s")
R_DEAD_AIR = N_("{seconds} s of dead air not counted as relayed")
R_CRASH = N_(
    "the station stopped during the relay (crash or power loss): what went out before "
    "is not counted"
)
R_NO_RELAY = N_("output '{name}' cannot carry a relay")
R_OUTPUT = N_("output '{name}' failed: {err}")
R_NO_SOURCE = N_("source '{source}' is not configured")
R_RECEIVERS_SHORT = N_("relayed on {ok} of {total} receivers: {details}")
R_RECEIVER_SHORT = N_("{receiver}: relayed {relayed} s (at least {need} s required)")


@dataclass
class Running:
    """A zone's window on air in this process."""

    run_id: int
    window: RelayWindow
    output: str
    started_at: datetime
    adopted: bool  # begun before a crash: what went out then is not known


def week_of(instant: datetime, station: Station) -> tuple[int, int]:
    return parse_week(iso_week_of_instant(instant, station.tz))


class RelayDesk:
    """Begins, holds, resumes and closes the station's relays (see the module)."""

    def __init__(self, engine: StationEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.station = engine.station
        self.pulls: dict[tuple[str, datetime, datetime], RelayPull] = {}
        self.running: dict[tuple[str, str, datetime], Running] = {}
        self.held: dict[str, tuple[str, str]] = {}  # zone -> (what holds it, its kind)
        # Zone-windows this process closed: not asked of the database again each sweep
        # (a window whose output cannot relay is closed at once and stays open for long).
        self.closed: set[tuple[str, str, datetime]] = set()
        self._weeks: dict[tuple[int, int], list[RelayWindow]] = {}
        self._of_pull: dict[int, dict[str, tuple[str, str, datetime]]] = {}  # zone -> run
        # Windows carried by the output's devices themselves (mqtt receivers).
        self.device_relays: dict[tuple[str, str, datetime], DeviceRelay] = {}
        self._device_threads: list[threading.Thread] = []
        self._lock = threading.RLock()
        self._stopping = False
        # Dead air in what the relays carry (issue 16): every zone's share has a detector;
        # its alerts are written and the station's hook run off the pacing threads.
        self.alerts = SilenceAlerts(engine.db, self.station, engine.root, clock, engine.clock_kind)

    # -- the windows --------------------------------------------------------------------------
    def _week(self, year: int, week: int) -> list[RelayWindow]:
        found = self._weeks.get((year, week))
        if found is None:
            per_zone = zone_week_relays(self.station, year, week)
            found = sorted((w for ws in per_zone.values() for w in ws), key=lambda w: w.start)
            self._weeks = {(year, week): found, **dict(list(self._weeks.items())[-2:])}
        return found

    def windows_between(self, start: datetime, end: datetime) -> list[RelayWindow]:
        """Every zone's relay windows overlapping [start, end)."""
        if not self.station.relays:
            return []
        weeks = {week_of(start, self.station), week_of(end, self.station)}
        return [
            w for yw in sorted(weeks) for w in self._week(*yw) if w.start < end and w.end > start
        ]

    def starts_between(self, start: datetime, end: datetime) -> set[datetime]:
        """The instants relays begin in [start, end): the driver's wake-ups."""
        return {w.start for w in self.windows_between(start, end) if start <= w.start < end}

    # -- beginning ----------------------------------------------------------------------------
    def sweep(self, now: datetime) -> int:
        """Begin every zone's window open now that is neither on air here nor closed in
        the database. Cheap when nothing is due (no query)."""
        if self._stopping or not self.station.relays:
            return 0
        ahead = self._device_lead()
        self._preroll(now)
        due = [
            w
            for w in self.windows_between(now, now + (ahead or timedelta(microseconds=1)))
            if (w.start <= now or (w.start - ahead <= now and self._on_devices(w.zone_id)))
            and now < w.end
            and (key := (w.zone_id, w.relay_id, w.start)) not in self.running
            and key not in self.closed
        ]
        if not due:
            return 0
        with self.engine.db.read() as s:
            closed = relays.closed_since(s, now)
        begun = 0
        # The zones this station pulls for first, their pulls started at once; then the
        # zones whose devices pull themselves (a command to each device takes longer).
        local = [w for w in due if not self._on_devices(w.zone_id)]
        devices = [w for w in due if self._on_devices(w.zone_id)]
        with self._lock:
            for group in (local, devices):
                for w in group:
                    key = (w.zone_id, w.relay_id, w.start)
                    if key in closed or key in self.running or self._stopping:
                        continue
                    begun += self._begin(w, now)
                for pull in self.pulls.values():  # a prerolled pull starts with its zones
                    if not pull.running and not pull.stopped_by and pull.shares:
                        pull.start()
        return begun

    def _preroll(self, now: datetime) -> None:
        """Sources of windows opening within :data:`PREROLL_SECONDS` are connected now
        (one pull per source and window, as at the start), so their programme flows at
        the window's start rather than a connection later."""
        soon = now + timedelta(seconds=PREROLL_SECONDS)
        for w in self.windows_between(now, soon):
            if not (now < w.start <= soon) or self._on_devices(w.zone_id):
                continue
            key = (w.source_id, w.start, w.end)
            with self._lock:
                if key in self.pulls or self._stopping:
                    continue
                source = self.station.sources.get(w.source_id)
                if source is None:
                    continue
                pull = self._new_pull(w, source)
            pull.preroll()

    def _new_pull(self, w: RelayWindow, source) -> RelayPull:
        pull = RelayPull(
            w.source_id,
            [source.url, *([source.backup_url] if source.backup_url else [])],
            self.clock,
            w.end,
            on_done=self._pull_done,
            silence=self._thresholds(),
        )
        pull.on_silence = self._silence_of(pull)
        self.pulls[(w.source_id, w.start, w.end)] = pull
        return pull

    def _device_lead(self) -> timedelta:
        """How long before a window the devices that pull for themselves are told of it
        (the output's ``lead_seconds``, at most :data:`DEVICE_LEAD_MAX`): they begin at
        its start by their own clock, so 1,000 commands are not sent at the instant."""
        leads = [
            getattr(inner, "lead_seconds", 0.0)
            for o in self.engine.outputs.values()
            if isinstance(inner := getattr(o, "inner", o), DeviceRelayingOutput)
        ]
        return timedelta(seconds=min(max(leads, default=0.0), DEVICE_LEAD_MAX))

    def _on_devices(self, zone_id: str) -> bool:
        output = self.engine.outputs.get(self.station.zone(zone_id).output)
        return isinstance(getattr(output, "inner", output), DeviceRelayingOutput)

    def _begin(self, w: RelayWindow, now: datetime) -> int:
        now = max(now, w.start)  # a device window told ahead begins at its start
        with self.engine.db.write() as s:
            run, adopted = relays.begin(
                s,
                zone_id=w.zone_id,
                relay_id=w.relay_id,
                source_id=w.source_id,
                window_start=w.start,
                window_end=w.end,
                started_at=now,
            )
            run_id = run.id if run is not None else None
        if run_id is None:
            return 0
        zone = self.station.zone(w.zone_id)
        running = Running(run_id, w, zone.output, now, adopted)
        self.running[(w.zone_id, w.relay_id, w.start)] = running
        source = self.station.sources.get(w.source_id)
        if source is None:
            self._close_unstarted(running, R_NO_SOURCE.format(source=w.source_id), now)
            return 0
        output = self.engine.outputs.get(zone.output)
        output = getattr(output, "inner", output)
        target = RelayTarget(
            w.zone_id,
            w.relay_id,
            w.source_id,
            w.start,
            w.end,
            source.url,
            source.backup_url,
            silence=self._thresholds(),
            on_silence=self._heard_by_devices(w),
        )
        if isinstance(output, DeviceRelayingOutput):
            return self._begin_on_devices(output, running, target, now)
        if not isinstance(output, RelayingOutput):
            self._close_unstarted(running, R_NO_RELAY.format(name=zone.output), now)
            return 0
        try:
            sink = output.open_relay(target)
        except Exception as exc:  # whatever stops it, the window gets its entry now
            err = str(exc) if exc.args else type(exc).__name__
            self._close_unstarted(running, R_OUTPUT.format(name=zone.output, err=err), now)
            return 0
        pull = self.pulls.get((w.source_id, w.start, w.end)) or self._new_pull(w, source)
        by, kind = self.held.get(w.zone_id, ("", "emergency"))
        pull.add(w.zone_id, sink, held_by=by, held_kind=kind)
        self._of_pull.setdefault(id(pull), {})[w.zone_id] = (w.zone_id, w.relay_id, w.start)
        log.info(
            "relay %s on %s: %s until %s%s",
            w.relay_id,
            w.zone_id,
            w.source_id,
            w.end.isoformat(),
            " (resumed after a restart)" if adopted else "",
        )
        return 1

    def _thresholds(self) -> tuple[float, float]:
        """What dead air is at this station: (threshold dBFS, minimum seconds)."""
        return (self.station.silence.threshold_dbfs, self.station.silence.min_seconds)

    def _heard_by_devices(self, w: RelayWindow) -> Callable[[str, SilenceEvent, str], None]:
        """Dead air the zone's receivers heard in the programme they pulled themselves
        (protocol version 4): alerted like the station's own, one per receiver."""

        def heard(zone_id: str, event: SilenceEvent, receiver: str) -> None:
            what = f"{RELAY_PREFIX}{w.relay_id} ({receiver})"
            self.alerts.report(zone_id, what, w.source_id, event)

        return heard

    def _silence_of(self, pull: RelayPull) -> Callable[[str, SilenceEvent], None]:
        """The pull's dead-air callback: the zone's relay told to the alerts' queue,
        which never blocks the pacing thread."""

        def told(zone_id: str, event: SilenceEvent) -> None:
            key = self._of_pull.get(id(pull), {}).get(zone_id)
            what = RELAY_PREFIX + (key[1] if key else "?")
            self.alerts.report(zone_id, what, pull.source_id, event)

        return told

    def _begin_on_devices(
        self, output: DeviceRelayingOutput, running: Running, target: RelayTarget, now: datetime
    ) -> int:
        """The zone's devices pull the source themselves (mqtt receivers): no pull here;
        their reports, collected by the output, become the window's entry."""
        key = (target.zone_id, target.relay_id, target.start)
        try:
            relay = output.start_relay(target)
        except Exception as exc:
            err = str(exc) if exc.args else type(exc).__name__
            self._close_unstarted(running, R_OUTPUT.format(name=running.output, err=err), now)
            return 0
        self.device_relays[key] = relay

        def settle() -> None:
            result = relay.wait(None)
            with self._lock:
                self.device_relays.pop(key, None)
            if result is not None:
                try:
                    self._close_devices(running, result, self.clock.now())
                except Exception:  # the thread must end; the window stays 'playing'
                    log.exception("relay %s on %s: closing failed", target.relay_id, key[0])

        thread = threading.Thread(target=settle, name=f"relay-{target.zone_id}", daemon=True)
        self._device_threads = [t for t in self._device_threads if t.is_alive()] + [thread]
        thread.start()
        log.info(
            "relay %s on %s: %s until %s, carried by the receivers",
            target.relay_id,
            target.zone_id,
            target.source_id,
            target.end.isoformat(),
        )
        return 1

    def _close_devices(self, running: Running, result: DeviceRelayResult, now: datetime) -> None:
        """``aired`` when every device of the zone relayed at least ``min_share`` of the
        window (as a bulletin airs only if every receiver played it); the zone's seconds
        are the least any device relayed; each device's verdict and seconds go with the
        entry (hashed ``receivers`` field, ``receiver_report`` rows)."""
        w = running.window
        total = w.seconds
        need = w.min_share * total
        judged: list[ReceiverOutcome] = []
        for r in result.receivers:
            seconds = min(r.played_seconds or 0.0, total)
            if r.outcome == "relayed" and seconds < need:
                r = replace(
                    r,
                    outcome="short",
                    reason=R_RECEIVER_SHORT.format(
                        receiver=r.receiver, relayed=round(seconds), need=math.ceil(need)
                    ),
                )
            judged.append(replace(r, played_seconds=round(seconds, 1)))
        ok = [r for r in judged if r.outcome == "relayed"]
        relayed = min((r.played_seconds or 0.0 for r in judged), default=0.0)
        parts: list[str] = [R_CRASH] if running.adopted else []
        if judged and len(ok) == len(judged):
            outcome = "aired"
        else:
            outcome = "interrupted" if result.stopped_by else "failed"
            details = "; ".join(
                r.reason or f"{r.receiver}: {r.outcome}" for r in judged if r not in ok
            )
            parts.append(R_RECEIVERS_SHORT.format(ok=len(ok), total=len(judged), details=details))
        self._write(
            running,
            outcome,
            "; ".join(parts),
            now,
            relayed,
            list(result.dropouts)[:40],
            "",
            receivers=tuple(judged),
        )

    # -- emergencies ----------------------------------------------------------------------------
    def hold(self, zone_id: str, by: str, kind: str = "emergency") -> None:
        """An emergency (or a live broadcast, ``kind`` "live") is about to start in the
        zone: its relay (if any) goes quiet."""
        with self._lock:
            self.held[zone_id] = (by, kind)
            for pull in self.pulls.values():
                pull.hold(zone_id, by, kind)

    def release(self, zone_id: str) -> None:
        """The emergency is over: the zone carries its relay again if the window is open."""
        with self._lock:
            self.held.pop(zone_id, None)
            for pull in self.pulls.values():
                pull.resume(zone_id)

    # -- closing ------------------------------------------------------------------------------
    def _pull_done(self, pull: RelayPull) -> None:
        now = self.clock.now()
        with self._lock:
            self.pulls = {k: p for k, p in self.pulls.items() if p is not pull}
            keys = self._of_pull.pop(id(pull), {})
            found = [
                (share, self.running.get(keys[zone]))
                for zone, share in pull.shares.items()
                if zone in keys
            ]
        for share, running in found:
            if running is not None:
                self._close(running, share, pull, now)

    def _close(self, running: Running, share: Share, pull: RelayPull, now: datetime) -> None:
        w = running.window
        total = w.seconds
        need = w.min_share * total
        relayed = min(share.audible, total)  # dead air is not the programme
        parts: list[str] = [R_CRASH] if running.adopted else []
        if share.dead_air >= 1:
            parts.append(R_DEAD_AIR.format(seconds=round(share.dead_air)))
        cut = [g for g in share.gaps if g.kind in ("emergency", "live")]
        if relayed >= need:
            outcome = "aired"
        elif pull.stopped_by:
            outcome = "interrupted"
            parts.append(pull.stopped_by)
        elif cut and relayed + share.held_seconds >= need:
            outcome = "interrupted"
            parts += [
                (R_CUT if g.kind == "emergency" else R_CUT_LIVE).format(
                    id=g.by or "?", seconds=round(g.seconds)
                )
                for g in cut
            ]
        else:
            outcome = "failed"
            if share.error:
                parts.append(R_OUTPUT.format(name=running.output, err=share.error))
            elif not pull.came_up:
                parts.append(R_NEVER.format(source=w.source_id, err=pull.last_error or "no audio"))
        if outcome != "aired":
            parts.append(
                R_SHORT.format(relayed=round(relayed), total=round(total), need=math.ceil(need))
            )
        gaps = [g.as_dict() for g in share.gaps]
        backup = _backup_gap(pull, running, now)
        if backup is not None:
            gaps.append(backup.as_dict())
        self._write(running, outcome, "; ".join(parts), now, relayed, gaps, share.sha256)

    def _close_unstarted(self, running: Running, reason: str, now: datetime) -> None:
        self._write(running, "failed", reason, now, 0.0, [], "")

    def _write(
        self,
        running: Running,
        outcome: str,
        reason: str,
        now: datetime,
        relayed: float,
        gaps: list[dict[str, object]],
        sha256: str,
        receivers: tuple[ReceiverOutcome, ...] = (),
    ) -> None:
        w = running.window
        entry = aslog.Outcome(
            zone_id=w.zone_id,
            bulletin_id=RELAY_PREFIX + w.relay_id,
            outcome=outcome,
            triggered_by=TRIGGERED_BY,
            audio_sha256=sha256,
            scheduled_at=w.start,
            started_at=running.started_at,
            ended_at=now,
            reason=reason,
            week=iso_week_of_instant(w.start, self.station.tz),
            origin="relay",
            duration_seconds=w.seconds,
            clock=self.engine.clock_kind,
            source=w.source_id,
            relayed_seconds=round(relayed, 1),
            dropouts=json.dumps(gaps, ensure_ascii=False, separators=(",", ":")) if gaps else "",
            receivers=",".join(f"{r.receiver}={r.outcome}" for r in receivers),
        )
        with self.engine.db.write() as s:
            written = relays.close(s, running.run_id, entry, now)
            if written is not None and receivers:
                onair.add_receiver_outcomes(
                    s,
                    receivers,
                    log_seq=written.seq,
                    airing_id=None,
                    zone_id=w.zone_id,
                    scheduled_at=w.start,
                    recorded_at=now,
                )
        with self._lock:
            self.running.pop((w.zone_id, w.relay_id, w.start), None)
            self.closed.add((w.zone_id, w.relay_id, w.start))
            if len(self.closed) > 100_000:  # a year of a province: keep it bounded
                self.closed.clear()
        log.info(
            "relay %s on %s: %s, %.0f s of %.0f s relayed %s",
            w.relay_id,
            w.zone_id,
            outcome,
            relayed,
            w.seconds,
            reason,
        )

    # -- the daemon's start and stop ---------------------------------------------------------------
    def recover(self, now: datetime) -> int:
        """Runs a crash left ``playing``: a window still open is resumed by the next sweep
        (its entry says what went out before is not counted); one already over is closed
        now, ``interrupted``."""
        with self.engine.db.read() as s:
            stale = relays.playing(s)
        closed = 0
        for run in stale:
            if as_utc(run.window_end) > now:
                continue
            window = RelayWindow(
                run.zone_id,
                run.relay_id,
                run.source_id,
                as_utc(run.window_start),
                as_utc(run.window_end),
                as_utc(run.window_start).date(),
            )
            running = Running(run.id or 0, window, "", as_utc(run.started_at), True)
            self._write(running, "interrupted", R_CRASH, now, 0.0, [], "")
            closed += 1
        return closed

    def stop(self, reason: str) -> None:
        """Cut every relay now (the daemon stops); each zone-window is logged with what
        went out."""
        with self._lock:
            self._stopping = True
            pulls = list(self.pulls.values())
        for pull in pulls:
            if pull.running:
                pull.stop(reason)
            else:  # begun in this sweep and never started: its shares close now
                pull.stop(reason)
                pull.start()
        for pull in pulls:
            pull.join(timeout=15)
        with self._lock:
            on_devices = list(self.device_relays.values())
            threads = list(self._device_threads)
        for relay in on_devices:
            relay.stop(reason)
        for thread in threads:
            thread.join(timeout=15)
        self.alerts.stop()


def _backup_gap(pull: RelayPull, running: Running, now: datetime) -> Gap | None:
    """How much of the window came from the backup URL, as a listed span of its own."""
    if len(pull.urls) < 2:
        return None
    seconds = pull.served.get(pull.urls[1], 0.0)
    if seconds <= 0:
        return None
    return Gap(running.started_at, min(seconds, running.window.seconds), "backup")
