"""Live broadcasts on air (issue 16): the desk of the process holding the station.

``broadcaster live`` books a broadcast in the database (``store/live``); the process
holding the station (the daemon's real-time driver, or the command itself when no daemon
runs) takes it on air at its next sweep: ONE ffmpeg reads the input (an ALSA device, or
a file standing in for the microphone), paced in real time and fanned out to the zones'
relay sinks (``playout/relay_pull``, as a relay's source), and recorded whole into the
station folder (``playout/live_recording``).

Priority: above scheduled content, below emergencies. While a zone is live its lane
starts no scheduled airing (they wait, and the missed-airing rules judge them after);
what plays when the broadcast begins is cut like an emergency cuts it (logged
``interrupted``, aired again in its session if there is time, else made up), and a relay
in the zone is held (its entry lists the span as ``live``). An emergency holds the live
broadcast's share in its zone (the span is listed) and the zone carries it again after.

The broadcast ends at its time-out (on the engine's clock) whatever happens, when the
speaker asks (``stop_by``), when a file input ends, or when the daemon stops. Each zone
gets one as-run entry: origin ``live``, bulletin id ``live:<id>``, the speaker as
``triggered_by``, the input as ``source``, the seconds that went out, each cut and
dropout, and the recording's SHA-256; ``aired`` when the zone carried the speaker,
``interrupted`` when the daemon stopped it first or an emergency took all of it,
``failed`` with the reason otherwise.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from broadcaster.core.model import DEVICE_PREFIX
from broadcaster.core.timeutil import as_utc, iso_week_of_instant
from broadcaster.engine.silence_alerts import SilenceAlerts
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import N_
from broadcaster.playout.base import Clock, RelayingOutput, RelaySink, RelayTarget
from broadcaster.playout.live_recording import LiveRecording
from broadcaster.playout.relay_pull import RelayPull, Share, ffmpeg_argv, pcm_argv
from broadcaster.store import aslog, live

log = logging.getLogger("broadcaster.live")

LIVE_PREFIX = "live:"
ORIGIN = "live"
SOURCE_ID = "live"
#: An input that gives no audio this long after the broadcast began is given up on:
#: the speaker is told at once rather than after the time-out.
COME_UP_SECONDS = 10.0

R_TIMEOUT = N_("ended at the time-out of {minutes} min")
R_STOPPED = N_("stopped by {by}")
R_INPUT_ENDED = N_("the input ended")
R_NEVER = N_("the input '{input}' never gave audio: {err}")
R_NO_LIVE = N_("output '{name}' cannot carry a live broadcast")
R_OUTPUT = N_("output '{name}' failed: {err}")
R_ALL_CUT = N_("an emergency held the zone for the whole broadcast")
R_RECORDING = N_("the recording failed: {err}")
R_CRASH = N_(
    "the station stopped during the live broadcast (crash or power loss): its end is not known"
)
R_CUT_BY_LIVE = N_("interrupted by live broadcast {id}")


def input_argv(source: str) -> list[str]:
    """ffmpeg reading the live input: a file (standing in for the sound card) at its own
    pace, a named pipe as it comes (the web page's microphone: already real time), else
    an ALSA capture device."""
    if Path(source).is_fifo():
        return pcm_argv(["-probesize", "32768", "-analyzeduration", "500000", "-i", source])
    if Path(source).is_file():
        return pcm_argv(["-re", "-i", source])
    return ffmpeg_argv(DEVICE_PREFIX + source)


@dataclass
class OnAir:
    """A broadcast on air in this process."""

    live_id: int
    zones: list[str]
    speaker: str
    input: str
    started_at: datetime
    ends_by: datetime
    max_seconds: float
    pull: RelayPull
    recording: LiveRecording
    failed: dict[str, str]  # zone -> why it could not carry it (no sink)
    outputs: dict[str, str]  # zone -> its output's name (for the entry's reason)
    stop_by: str = ""


class LiveDesk:
    """Takes booked broadcasts on air, stops them, and logs them (see the module).

    ``lanes`` (zone -> lane) is the real-time driver's, so what plays in a zone can be
    cut; ``relays`` its relay desk, so a relay in the zone is held."""

    def __init__(
        self,
        engine: StationEngine,
        clock: Clock,
        lanes=None,
        relays=None,
        alerts: SilenceAlerts | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.lanes = lanes if lanes is not None else {}
        self.relays = relays
        # Dead air in what the speaker sends (issue 16): the relay desk's alerts when it
        # runs beside (one queue, one hook), else this desk's own.
        self._own_alerts = alerts is None
        self.alerts = alerts or SilenceAlerts(
            engine.db, engine.station, engine.root, clock, engine.clock_kind
        )
        self.on_air: dict[int, OnAir] = {}
        self.held: dict[str, str] = {}  # zone -> the emergency holding it
        self._lock = threading.RLock()
        self._stopping = False

    # -- what the lanes ask ---------------------------------------------------------------
    def live_in(self, zone_id: str) -> bool:
        """Is a live broadcast on air in the zone (so no scheduled airing starts)?"""
        with self._lock:
            return any(zone_id in b.zones for b in self.on_air.values())

    def hold(self, zone_id: str, by: str) -> None:
        """An emergency is about to start in the zone: the live share goes quiet."""
        with self._lock:
            self.held[zone_id] = by
            for b in self.on_air.values():
                b.pull.hold(zone_id, by)

    def release(self, zone_id: str) -> None:
        with self._lock:
            self.held.pop(zone_id, None)
            for b in self.on_air.values():
                b.pull.resume(zone_id)

    # -- the sweep ------------------------------------------------------------------------
    def sweep(self, now: datetime) -> int:
        """Take what is booked on air, pass on the stops asked for, give up on an input
        that never came up. One query a sweep."""
        if self._stopping:
            return 0
        with self.engine.db.read() as s:
            rows = [
                (r.id, r.state, r.stop_by, r.zones, r.input, r.speaker, r.max_seconds)
                for r in live.not_done(s)
            ]
        begun = 0
        for live_id, state, stop_by, zones, source, speaker, max_seconds in rows:
            assert live_id is not None
            if state == live.BOOKED:
                begun += self._begin(live_id, zones.split(","), source, speaker, max_seconds, now)
                continue
            with self._lock:
                found = self.on_air.get(live_id)
            if found is None:
                continue  # another process's (the command's own), or a crash's: recover()
            if stop_by and not found.stop_by:
                found.stop_by = stop_by
                found.pull.stop(R_STOPPED.format(by=stop_by))
            elif (
                not found.pull.came_up
                and (now - found.started_at).total_seconds() > COME_UP_SECONDS
                and not found.pull.stopped_by
            ):
                found.pull.stop(
                    R_NEVER.format(input=found.input, err=found.pull.last_error or "no audio")
                )
        return begun

    def _begin(
        self,
        live_id: int,
        zones: list[str],
        source: str,
        speaker: str,
        max_seconds: float,
        now: datetime,
    ) -> int:
        recording = LiveRecording(self.engine.root, live_id, now)
        with self.engine.db.write() as s:
            ends_by = live.take(s, live_id, now, recording.relative)
        if ends_by is None:  # withdrawn, or taken by another process meanwhile
            recording.close()
            (self.engine.root / recording.relative).unlink(missing_ok=True)
            return 0
        pull = RelayPull(
            SOURCE_ID,
            [source],
            self.clock,
            ends_by,
            on_done=self._done,
            argv=input_argv,
            silence=(
                self.engine.station.silence.threshold_dbfs,
                self.engine.station.silence.min_seconds,
            ),
            tap=recording,
            until_eof=Path(source).is_file() or Path(source).is_fifo(),
        )
        what = f"{LIVE_PREFIX}{live_id}"
        pull.on_silence = lambda zone_id, event: self.alerts.report(zone_id, what, source, event)
        outputs = {z: self.engine.station.zone(z).output for z in zones}
        b = OnAir(
            live_id, zones, speaker, source, now, ends_by, max_seconds, pull, recording, {}, outputs
        )
        cut = R_CUT_BY_LIVE.format(id=live_id)
        with self._lock:
            self.on_air[live_id] = b
            for zone_id in zones:
                sink = self._sink(zone_id, live_id, source, now, ends_by, b)
                if sink is not None:
                    pull.add(zone_id, sink, held_by=self.held.get(zone_id, ""))
                if self.relays is not None:
                    self.relays.hold(zone_id, f"{LIVE_PREFIX}{live_id}", kind="live")
                lane = self.lanes.get(zone_id)
                if lane is not None:
                    lane.cut_for_live(cut)
        pull.start()
        log.info(
            "live %s on %d zone(s) from %s by %s until %s",
            live_id,
            len(zones),
            source,
            speaker,
            ends_by.isoformat(),
        )
        return 1

    def _sink(
        self,
        zone_id: str,
        live_id: int,
        source: str,
        now: datetime,
        ends_by: datetime,
        b: OnAir,
    ) -> RelaySink | None:
        zone = self.engine.station.zone(zone_id)
        output = self.engine.outputs.get(zone.output)
        output = getattr(output, "inner", output)
        if not isinstance(output, RelayingOutput):
            b.failed[zone_id] = R_NO_LIVE.format(name=zone.output)
            return None
        target = RelayTarget(zone_id, f"live-{live_id}", SOURCE_ID, now, ends_by, source)
        try:
            return output.open_relay(target)
        except Exception as exc:
            err = str(exc) if exc.args else type(exc).__name__
            b.failed[zone_id] = R_OUTPUT.format(name=zone.output, err=err)
            return None

    # -- the end --------------------------------------------------------------------------
    def _done(self, pull: RelayPull) -> None:
        now = self.clock.now()
        with self._lock:
            found = [b for b in self.on_air.values() if b.pull is pull]
        if not found:
            return
        b = found[0]
        try:
            self._close(b, now)
        finally:
            with self._lock:
                self.on_air.pop(b.live_id, None)
                if self.relays is not None:
                    for zone_id in b.zones:
                        self.relays.release(zone_id)

    def _how_it_ended(self, b: OnAir, now: datetime) -> str:
        if b.stop_by:
            return R_STOPPED.format(by=b.stop_by)
        if b.pull.ended_by_input:
            return R_INPUT_ENDED
        if now >= b.ends_by:
            return R_TIMEOUT.format(minutes=_minutes(b.max_seconds))
        return b.pull.stopped_by

    def _close(self, b: OnAir, now: datetime) -> None:
        ended = self._how_it_ended(b, now)
        daemon_stopped = bool(b.pull.stopped_by) and not b.stop_by and b.pull.came_up
        never = not b.pull.came_up
        sha = b.pull.tap_sha256
        entries = []
        for zone_id in b.zones:
            share = b.pull.shares.get(zone_id)
            outcome, reason = self._judge(b, zone_id, share, ended, daemon_stopped, never)
            gaps = [g.as_dict() for g in share.gaps] if share is not None else []
            relayed = share.audible if share is not None else 0.0
            entries.append(
                aslog.Outcome(
                    zone_id=zone_id,
                    bulletin_id=f"{LIVE_PREFIX}{b.live_id}",
                    outcome=outcome,
                    triggered_by=b.speaker,
                    audio_sha256=sha,
                    scheduled_at=b.started_at,
                    started_at=b.started_at,
                    ended_at=now,
                    reason=reason,
                    week=iso_week_of_instant(b.started_at, self.engine.station.tz),
                    origin=ORIGIN,
                    duration_seconds=round(max(0.0, (now - b.started_at).total_seconds()), 1),
                    clock=self.engine.clock_kind,
                    source=b.input,
                    relayed_seconds=round(relayed, 1),
                    dropouts=(
                        json.dumps(gaps[:40], ensure_ascii=False, separators=(",", ":"))
                        if gaps
                        else ""
                    ),
                )
            )
        with self.engine.db.write() as s:
            live.close(s, b.live_id, entries, now, sha)
        log.info(
            "live %s ended (%s): %s",
            b.live_id,
            ended,
            ", ".join(f"{e.zone_id}={e.outcome}" for e in entries),
        )

    @staticmethod
    def _judge(
        b: OnAir,
        zone_id: str,
        share: Share | None,
        ended: str,
        daemon_stopped: bool,
        never: bool,
    ) -> tuple[str, str]:
        parts: list[str] = []
        if b.pull.tap_error:
            parts.append(R_RECORDING.format(err=b.pull.tap_error))
        if share is None:
            return "failed", "; ".join([b.failed.get(zone_id, "?"), *parts])
        if share.error:
            name = b.outputs.get(zone_id, "?")
            return "failed", "; ".join([R_OUTPUT.format(name=name, err=share.error), *parts])
        if never:
            reason = ended or R_NEVER.format(input=b.input, err=b.pull.last_error or "no audio")
            return "failed", "; ".join([reason, *parts])
        if daemon_stopped:
            return "interrupted", "; ".join([ended, *parts])
        if share.audible < 0.5:
            if share.held_seconds > 0:
                return "interrupted", "; ".join([R_ALL_CUT, *parts])
            return "failed", "; ".join([ended, *parts])
        return ("failed" if b.pull.tap_error else "aired"), "; ".join([ended, *parts])

    # -- the daemon's start and stop ------------------------------------------------------
    def recover(self, now: datetime) -> int:
        """Broadcasts a crash left on air are closed, ``interrupted``: what went out is
        not known (the recording, if any, stays in the folder); bookings never taken are
        withdrawn (the speaker's command has gone)."""
        with self.engine.db.read() as s:
            stale = [
                (r.id, r.state, r.zones, r.input, r.speaker, r.started_at) for r in live.not_done(s)
            ]
        closed = 0
        for live_id, state, zones, source, speaker, started_at in stale:
            assert live_id is not None
            if state == live.BOOKED:
                with self.engine.db.write() as s:
                    live.ask_stop(s, live_id, "daemon:recover")
                continue
            began = as_utc(started_at) if started_at else now
            entries = [
                aslog.Outcome(
                    zone_id=zone_id,
                    bulletin_id=f"{LIVE_PREFIX}{live_id}",
                    outcome="interrupted",
                    triggered_by=speaker,
                    scheduled_at=began,
                    started_at=began,
                    ended_at=now,
                    reason=R_CRASH,
                    week=iso_week_of_instant(began, self.engine.station.tz),
                    origin=ORIGIN,
                    clock=self.engine.clock_kind,
                    source=source,
                )
                for zone_id in zones.split(",")
            ]
            with self.engine.db.write() as s:
                live.close(s, live_id, entries, now, "")
            closed += 1
        return closed

    def stop(self, reason: str) -> None:
        """Cut every broadcast now (the daemon stops); each zone is logged."""
        with self._lock:
            self._stopping = True
            pulls = [b.pull for b in self.on_air.values()]
        for pull in pulls:
            pull.stop(reason)
        for pull in pulls:
            pull.join(timeout=15)
        self.close()

    def close(self) -> None:
        """The alerts' last hook runs (this desk's own queue only)."""
        if self._own_alerts:
            self.alerts.stop()

    def wait(self, live_id: int, timeout: float | None = None) -> bool:
        """Until the broadcast is over and logged (the command's own desk)."""
        with self._lock:
            b = self.on_air.get(live_id)
        return True if b is None else b.pull.join(timeout)


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f}" if abs(minutes - round(minutes)) < 1e-9 else f"{minutes:g}"
