"""The station engine: what happens to an airing from 'due' to its line in the log.

Drivers (real time, simulated) decide *when* to call it; the engine decides *what*
happens, against the database, which is the single source of truth. Every instant comes
in as a parameter from the driver's clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from broadcaster.core.model import AiringStatus, Origin, Priority, Station
from broadcaster.core.sessions import zone_relays_overlapping
from broadcaster.core.timeutil import (
    as_utc,
    fmt_local,
    iso_week_of_instant,
    parse_week,
)
from broadcaster.engine.bulletin_silence import BulletinDeadAir
from broadcaster.engine.clock import kind_from_env
from broadcaster.engine.journal import OutcomeJournal, StartJournal, mark_playing
from broadcaster.engine.library import Cleared, Library, Refused
from broadcaster.engine.planning import campaigns_of, new_row, plan_and_store, to_domain
from broadcaster.i18n import N_
from broadcaster.playout.base import (
    CueingOutput,
    Output,
    OutputError,
    Playback,
    PlayItem,
    PlayResult,
    PreloadingOutput,
    ReceiverOutcome,
)
from broadcaster.store import airings, aslog, onair
from broadcaster.store.db import Database, Session
from broadcaster.store.tables import AiringRow

log = logging.getLogger("broadcaster.engine")

SETBACKS = (AiringStatus.FAILED, AiringStatus.MISSED, AiringStatus.INTERRUPTED)


@dataclass
class Started:
    airing_id: int
    zone_id: str
    bulletin_id: str
    priority: str
    origin: str
    playback: Playback
    scheduled_at: datetime
    started_at: datetime
    window_end: datetime
    duration_seconds: float
    audio_sha256: str
    approved_by: str
    triggered_by: str
    audio_path: Path | None = None  # what the output was handed (dead air is measured in it)

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.duration_seconds)


class RelayHolder(Protocol):
    """What the lanes need of the relay desk: hold a zone's relay for an emergency."""

    def hold(self, zone_id: str, by: str) -> None: ...

    def release(self, zone_id: str) -> None: ...


class LiveHolder(RelayHolder, Protocol):
    """What the lanes need of the live desk: hold a live share for an emergency, and
    whether the zone is live (then no scheduled airing starts there)."""

    def live_in(self, zone_id: str) -> bool: ...


def _reason_or_default(status: AiringStatus, reason: str | None) -> str:
    """The reason to log: never empty (nor the text 'None') for an outcome but aired."""
    text = (reason or "").strip()
    if text in ("", "None") and status != AiringStatus.AIRED:
        return N_("{status} (no reason was given by the output)").format(status=status.value)
    return text


def triggered_by(row: AiringRow) -> str:
    """Who or what started it, in the words the evidence needs."""
    if row.origin == Origin.QUEUE:
        return f"operator:{row.created_by}"
    if row.origin == Origin.EMERGENCY:
        return f"emergency:{row.created_by}"
    if row.origin in (Origin.MAKEUP, Origin.RETRY):
        return f"daemon:{row.origin}"
    return "daemon"


def judged_fields(row: AiringRow) -> dict[str, object]:
    """What status and the reports judge an airing by, for its hashed log entry."""
    return {
        "campaigns": campaigns_of(row),
        "week": row.week,
        "priority": row.priority,
        "origin": row.origin,
        "duration_seconds": row.duration_seconds,
    }


def play_item(row: AiringRow, cleared: Cleared) -> PlayItem:
    """What an output needs to play an airing the gate cleared."""
    return PlayItem(
        airing_id=row.id or 0,
        zone_id=row.zone_id,
        bulletin_id=row.bulletin_id,
        audio_path=cleared.audio_path,
        audio_sha256=cleared.audio_sha256,
        duration_seconds=cleared.duration_seconds,
        scheduled_at=as_utc(row.scheduled_at),
        priority=row.priority,
    )


class StationEngine:
    def __init__(
        self,
        root: Path,
        station: Station,
        db: Database,
        outputs: dict[str, Output],
        library: Library | None = None,
    ) -> None:
        self.root = root
        self.station = station
        self.db = db
        self.outputs = outputs
        self.library = library or Library(root, station)
        self.grace = timedelta(minutes=station.grace_minutes)
        self.makeups_planned: list[int] = []
        self.journal: StartJournal | None = None  # the real-time driver batches starts
        self.outcomes: OutcomeJournal | None = None  # ... and the outcomes of shared ends
        self.dead_air: BulletinDeadAir | None = None  # the real-time driver's, on real air
        self.cued: dict[int, CueingOutput] = {}  # airing id -> output it was cued on
        self._cue_lock = threading.Lock()
        # The kind of clock the driver's instants come from, written into every log entry
        # (``engine.clock``): the simulation and ``engine_for`` set it from their clock.
        self.clock_kind = kind_from_env()
        # The real-time driver's relay desk (engine/relaying.py), told of emergencies by
        # the lanes; None where nothing relays (the simulated driver, one-off commands).
        self.relays: RelayHolder | None = None
        # The live desk (engine/live.py), where a live broadcast can be on air.
        self.live: LiveHolder | None = None

    # -- relays and emergencies ------------------------------------------------------------
    def relay_hold(self, zone_id: str, by: str) -> None:
        """An emergency is about to start in the zone: its relay and its live broadcast
        go quiet first."""
        if self.live is not None:
            self.live.hold(zone_id, by)
        if self.relays is not None:
            self.relays.hold(zone_id, by)

    def relay_release(self, zone_id: str) -> None:
        """The zone's emergencies are over: its live broadcast (if still on) and its
        relay (if its window is open and no live broadcast holds it) go on."""
        if self.live is not None:
            self.live.release(zone_id)
            if self.live.live_in(zone_id):
                return
        if self.relays is not None:
            self.relays.release(zone_id)

    def live_in(self, zone_id: str) -> bool:
        """A live broadcast is on air in the zone: scheduled airings wait."""
        return self.live is not None and self.live.live_in(zone_id)

    # -- what is due ----------------------------------------------------------------------
    def due(self, now: datetime) -> list[AiringRow]:
        with self.db.read() as s:
            return airings.due(s, as_utc(now))

    def next_planned_after(self, instant: datetime) -> datetime | None:
        with self.db.read() as s:
            value = airings.next_planned_after(s, as_utc(instant))
        return as_utc(value) if value else None

    def planned_times(self, start: datetime, end: datetime) -> list[datetime]:
        with self.db.read() as s:
            values = airings.planned_times(s, as_utc(start), as_utc(end))
        return sorted(as_utc(v) for v in values)

    # -- the life of an airing --------------------------------------------------------------
    def clear_many(self, bulletin_ids: set[str]) -> dict[str, Cleared | Refused]:
        """The gate for a whole slot at once: one check per bulletin, not per zone."""
        verdicts: dict[str, Cleared | Refused] = {}
        with self.db.read() as s:
            for bulletin_id in bulletin_ids:
                try:
                    verdicts[bulletin_id] = self.library.clear(s, bulletin_id)
                except Refused as refused:
                    verdicts[bulletin_id] = refused
        return verdicts

    def begin(
        self,
        airing_id: int,
        now: datetime,
        *,
        row: AiringRow | None = None,
        verdict: Cleared | Refused | None = None,
    ) -> Started | None:
        """Start an airing if it may still start and the gate clears it; else close it.

        A driver starting many zones at once passes the row it read and the gate's verdict
        from :meth:`clear_many`, taken moments before; alone, the engine reads both itself.
        An airing cued ahead is decided here like any other: the output's ``start`` adopts
        the cue, and if the airing does not start, its cue is withdrawn.
        """
        with self._cue_lock:
            cued_on = self.cued.pop(airing_id, None)
        started = self._begin(airing_id, now, row=row, verdict=verdict)
        if started is None and cued_on is not None:
            cued_on.uncue(airing_id)
        return started

    def _begin(
        self,
        airing_id: int,
        now: datetime,
        *,
        row: AiringRow | None = None,
        verdict: Cleared | Refused | None = None,
    ) -> Started | None:
        if row is None:
            with self.db.read() as s:
                row = airings.get(s, airing_id)
        if row is None or row.status != AiringStatus.PLANNED:
            return None
        scheduled = as_utc(row.scheduled_at)
        if row.priority != Priority.EMERGENCY:
            session_end = as_utc(row.window_end)
            deadline = min(scheduled + self.grace, session_end)
            if now > deadline:
                if deadline == session_end and session_end < scheduled + self.grace:
                    # The session ended before the grace did: the grace is not the reason.
                    reason = N_(
                        "not started by the end of its session at {deadline} (scheduled "
                        "{scheduled}): no room was left in the session, or the station was down"
                    ).format(
                        deadline=fmt_local(deadline, self.station.tz),
                        scheduled=fmt_local(scheduled, self.station.tz),
                    )
                else:
                    reason = N_(
                        "not started by {deadline} (scheduled {scheduled}, grace {grace} min): "
                        "the station was down or the zone was busy"
                    ).format(
                        deadline=fmt_local(deadline, self.station.tz),
                        scheduled=fmt_local(scheduled, self.station.tz),
                        grace=self.station.grace_minutes,
                    )
                self.close(row, AiringStatus.MISSED, reason, now)
                return None
        if verdict is None:
            verdict = self.clear_many({row.bulletin_id})[row.bulletin_id]
        if isinstance(verdict, Refused):
            self.close(row, AiringStatus.FAILED, str(verdict), now)
            return None
        cleared = verdict
        zone = self.station.zone(row.zone_id)
        output = self.outputs[zone.output]
        item = play_item(row, cleared)
        # Write-ahead: the start is committed before the output begins, so a crash leaves
        # a logged start or nothing on air; and a cancel that won leaves nothing to start.
        if not self._mark_playing(airing_id, now):
            return None
        try:
            playback = output.start(item)
        except Exception as exc:  # whatever stops the start, the airing gets its outcome now
            err = str(exc) if isinstance(exc, OutputError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, OutputError):
                log.exception("output %s raised while starting airing %s", zone.output, airing_id)
            self.close(
                row,
                AiringStatus.FAILED,
                N_("output '{name}' failed: {err}").format(name=zone.output, err=err),
                now,
                started=now,
                audio_sha256=cleared.audio_sha256,
                approved_by=cleared.approved_by,
            )
            return None
        return Started(
            airing_id=airing_id,
            zone_id=row.zone_id,
            bulletin_id=row.bulletin_id,
            priority=row.priority,
            origin=row.origin,
            playback=playback,
            scheduled_at=scheduled,
            started_at=now,
            window_end=as_utc(row.window_end),
            duration_seconds=cleared.duration_seconds,
            audio_sha256=cleared.audio_sha256,
            approved_by=cleared.approved_by,
            triggered_by=triggered_by(row),
            audio_path=cleared.audio_path,
        )

    def on_air(self, started: Started) -> None:
        """A bulletin went out: its dead air is watched (real-time driver only)."""
        if self.dead_air is not None and started.audio_path is not None:
            self.dead_air.on_air(
                started.airing_id,
                started.zone_id,
                started.bulletin_id,
                started.audio_path,
                started.audio_sha256,
                started.started_at,
            )

    def off_air(self, started: Started, ended_at: datetime) -> None:
        if self.dead_air is not None:
            self.dead_air.off_air(started.airing_id, ended_at)

    def _write_outcome(self, record: Callable[[Session], bool]) -> bool:
        """An outcome's transaction: shared with the outcomes of other zones that ended at
        the same moment when the real-time driver batches them, else its own."""
        if self.outcomes is not None:
            return self.outcomes.write(record)
        with self.db.write() as s:
            return record(s)

    def _mark_playing(self, airing_id: int, now: datetime) -> bool:
        """Planned -> playing, committed (batched with other lanes' by the journal)."""
        if self.journal is not None:
            return self.journal.mark(airing_id, now)
        return airing_id in mark_playing(self.db, [(airing_id, now)])

    def prepare_outputs(self) -> None:
        """Let outputs settle per-zone work before any slot (the file output creates and
        opens the zones' folders), so a slot shared by a thousand zones does not do it
        a thousand times at once. Outputs without ``prepare`` need nothing."""
        for name, output in self.outputs.items():
            prepare = getattr(getattr(output, "inner", output), "prepare", None)
            if callable(prepare):
                prepare([z.id for z in self.station.zones if z.output == name])

    # -- ahead of the slot: outputs whose devices prepare and start on their own clock ----
    def cue_upcoming(self, now: datetime) -> int:
        """Hand airings due within an output's lead time to it before their slot.

        Only cleared airings are cued (a refusal is logged by :meth:`begin` at the slot).
        The cue turns the scheduled instant into wall-clock time, so only the real-time
        driver calls this; the simulated driver's clock jumps and it starts plays at once.
        """
        leads = {
            name: timedelta(seconds=o.lead_seconds)
            for name, o in self.outputs.items()
            if isinstance(o, CueingOutput) and o.lead_seconds > 0
        }
        if not leads:
            return 0
        with self.db.read() as s:
            rows = airings.planned_in(s, as_utc(now), as_utc(now + max(leads.values())))
        with self._cue_lock:
            todo = [
                r
                for r in rows
                if r.id not in self.cued
                and self.station.zone(r.zone_id).output in leads
                and as_utc(r.scheduled_at) - now <= leads[self.station.zone(r.zone_id).output]
            ]
        if not todo:
            return 0
        verdicts = self.clear_many({r.bulletin_id for r in todo})
        for row in todo:
            verdict = verdicts[row.bulletin_id]
            if isinstance(verdict, Refused):
                continue
            output = self.outputs[self.station.zone(row.zone_id).output]
            assert isinstance(output, CueingOutput) and row.id is not None
            with self._cue_lock:
                self.cued[row.id] = output
            output.cue(play_item(row, verdict))
        return len(todo)

    def release_cues(self, everything: bool = False) -> int:
        """Withdraw cues of airings that will not start any more (cancelled by an
        operator in another process); all of them when the daemon stops, so devices do
        not air what the station no longer stands behind."""
        with self._cue_lock:
            ids = list(self.cued)
        if not ids:
            return 0
        keep: set[int] = set()
        if not everything:
            with self.db.read() as s:
                keep = airings.still_planned(s, ids)
        released = 0
        for airing_id in ids:
            if airing_id in keep:
                continue
            with self._cue_lock:
                output = self.cued.pop(airing_id, None)
            if output is not None:  # else begin() took it meanwhile
                output.uncue(airing_id)
                released += 1
        return released

    def preload_emergencies(self) -> int:
        """Offer the approved audio of every emergency bulletin to outputs that can keep it
        on their devices (they skip what they already sent), so an emergency from a
        template starts from the devices' cache."""
        outputs = [o for o in self.outputs.values() if isinstance(o, PreloadingOutput)]
        if not outputs:
            return 0
        ids = {b.id for b in self.library.bulletins().values() if b.priority == Priority.EMERGENCY}
        cleared = [v for v in self.clear_many(ids).values() if isinstance(v, Cleared)]
        for verdict in cleared:
            for output in outputs:
                output.preload(verdict.audio_path, verdict.audio_sha256)
        return len(cleared)

    def finish(
        self,
        started: Started,
        result: PlayResult,
        now: datetime,
        *,
        interrupted: str | None = None,
        retry: bool = False,
        by: str | None = None,
        recover: bool = True,
    ) -> AiringStatus:
        """Log how a started airing ended. ``retry`` airs an interrupted one again in its
        own session; ``recover=False`` (an operator stopped it on air) plans nothing."""
        if interrupted:
            status, reason = AiringStatus.INTERRUPTED, interrupted
        elif result.ok:
            status, reason = AiringStatus.AIRED, ""
        else:
            status, reason = AiringStatus.FAILED, result.reason or N_("playout failed")
        with self.db.read() as s:
            row = airings.get(s, started.airing_id)
        if row is None:
            return status
        self.close(
            row,
            status,
            reason,
            now,
            started=started.started_at,
            audio_sha256=started.audio_sha256,
            approved_by=started.approved_by,
            retry=retry,
            receivers=result.receivers,
            by=by,
            recover=recover,
        )
        return status

    def close(
        self,
        row: AiringRow,
        status: AiringStatus,
        reason: str,
        now: datetime,
        *,
        started: datetime | None = None,
        audio_sha256: str = "",
        approved_by: str = "",
        by: str | None = None,
        retry: bool = False,
        receivers: tuple[ReceiverOutcome, ...] = (),
        recover: bool = True,
    ) -> bool:
        """Give an airing its outcome and log it, in one transaction; then recover.

        A networked zone's per-receiver outcomes go with it: their verdicts into the log
        entry's hashed ``receivers`` field, their details into ``receiver_report``.
        Every outcome but ``aired`` carries a reason: an empty one (or an exception's
        ``None``) is replaced by a generic one rather than logged blank.
        """
        reason = _reason_or_default(status, reason)

        def record(s: Session) -> bool:
            entry = airings.move(
                s,
                row.id,
                status,
                values={
                    "reason": reason[:512],
                    "started_at": as_utc(started) if started else None,
                    "ended_at": as_utc(now) if started else None,
                },
                outcome=aslog.Outcome(
                    airing_id=row.id,
                    zone_id=row.zone_id,
                    bulletin_id=row.bulletin_id,
                    outcome=status.value,
                    triggered_by=by or triggered_by(row),
                    audio_sha256=audio_sha256,
                    scheduled_at=as_utc(row.scheduled_at),
                    started_at=started,
                    ended_at=now if started else None,
                    reason=reason,
                    approved_by=approved_by,
                    receivers=",".join(f"{r.receiver}={r.outcome}" for r in receivers),
                    **judged_fields(row),
                    clock=self.clock_kind,
                ),
                recorded_at=now,
            )
            if entry is None:
                return False
            onair.add_receiver_outcomes(
                s,
                receivers,
                log_seq=entry.seq,
                airing_id=row.id,
                zone_id=row.zone_id,
                scheduled_at=row.scheduled_at,
                recorded_at=now,
            )
            return True

        if not self._write_outcome(record):
            return False
        log.info("airing %s on %s: %s %s", row.id, row.zone_id, status.value, reason)
        if recover and status in SETBACKS and row.origin != Origin.EMERGENCY:
            self.recover_from(row, now, retry=retry)
        return True

    # -- recovering from setbacks -------------------------------------------------------------
    def recover_from(self, row: AiringRow, now: datetime, *, retry: bool) -> None:
        """Air it again in its own session if it was cut short and the session still has
        room for it, else plan make-ups (in later sessions)."""
        if retry and self.retry_fits(row, now):
            airing = to_domain(row)
            airing.id = None
            airing.scheduled_at = now
            airing.origin = Origin.RETRY
            airing.parent_id = row.id
            airing.status = AiringStatus.PLANNED
            airing.reason = ""
            bulletin = self.library.bulletins().get(row.bulletin_id)
            if bulletin is not None:
                with self.db.write() as s:
                    airings.add(s, new_row(airing, bulletin, self.station, now))
                return
        self.plan_makeups(row.zone_id, row.week, now)

    def retry_fits(self, row: AiringRow, now: datetime) -> bool:
        """Whether airing ``row`` again from ``now`` ends by its session's end, after what
        the zone still has to play before the session ends (what is on air, and the
        airings booked in the session). A retry that cannot fit is not booked: booked
        anyway, it ran past the session and pushed the airings after it out of their
        window, each then logged 'missed' for a grace it never had."""
        session_end = as_utc(row.window_end)
        if now >= session_end:
            return False
        with self.db.read() as s:
            ahead = airings.ahead_in_zone(s, row.zone_id, row.id, session_end)
        busy = 0.0
        for other in ahead:
            length = timedelta(seconds=other.duration_seconds)
            if other.status == AiringStatus.PLAYING:
                began = as_utc(other.started_at or other.scheduled_at)
                busy += max((began + length - now).total_seconds(), 0.0)
            elif as_utc(other.scheduled_at) + length > now:
                busy += other.duration_seconds
        needed = timedelta(seconds=busy + row.duration_seconds)
        relay = zone_relays_overlapping(self.station, row.zone_id, now, now + needed)
        if relay:
            log.info(
                "airing %s on %s: a retry now would run into the relay of %s at %s: "
                "make-ups planned instead",
                row.id,
                row.zone_id,
                relay[0].source_id,
                fmt_local(relay[0].start, self.station.tz),
            )
            return False
        if now + needed <= session_end:
            return True
        log.info(
            "airing %s on %s: no room left in its session for a retry (%s s needed, "
            "session ends %s): make-ups planned instead",
            row.id,
            row.zone_id,
            round(needed.total_seconds(), 1),
            fmt_local(session_end, self.station.tz),
        )
        return False

    def plan_makeups(self, zone_id: str, week_label: str, now: datetime) -> int:
        created = self._plan(now, week_label, [zone_id], Origin.MAKEUP)
        self.makeups_planned.extend(r.id for r in created if r.id is not None)
        for r in created:
            log.info(
                "make-up planned: %s on %s at %s",
                r.bulletin_id,
                zone_id,
                fmt_local(r.scheduled_at, self.station.tz),
            )
        return len(created)

    def autoplan(self, now: datetime) -> int:
        """Keep the current week planned, as an operator running ``plan`` would."""
        return len(self._plan(now, iso_week_of_instant(now, self.station.tz), None, Origin.PLAN))

    def _plan(
        self, now: datetime, week_label: str, zone_ids: list[str] | None, origin: Origin
    ) -> list[AiringRow]:
        year, week = parse_week(week_label)
        with self.db.write() as s:
            _result, created = plan_and_store(
                s,
                self.station,
                list(self.library.bulletins().values()),
                year,
                week,
                now,
                zone_ids=zone_ids,
                origin=origin,
                created_by="daemon",
                root=self.root,
            )
        return created

    def recover(self, now: datetime) -> int:
        """After a crash: airings left 'playing' were cut off mid-air (or marked a moment
        before their output started: the mark is written ahead). They are logged
        ``interrupted`` and aired again by the same rule as any interruption, unless an
        operator asked for them to be stopped meanwhile."""
        with self.db.read() as s:
            stale = airings.with_status(s, AiringStatus.PLAYING)
        requests = self.stop_requests()
        for row in stale:
            asked_by = requests.get(row.id or 0)
            started = as_utc(row.started_at) if row.started_at else None
            if asked_by is not None:
                self.close(
                    row,
                    AiringStatus.INTERRUPTED,
                    N_(
                        "the station stopped during playout (crash or power loss); "
                        "{by} had asked to stop it"
                    ).format(by=asked_by),
                    now,
                    started=started,
                    by=f"operator:{asked_by}",
                    recover=False,
                )
                self.stop_handled(row.id or 0, now)
                continue
            self.close(
                row,
                AiringStatus.INTERRUPTED,
                N_("the station stopped during playout (crash or power loss)"),
                now,
                started=started,
                retry=True,
            )
        return len(stale)

    # -- operators stopping what is on air (cancel --stop) -------------------------------------
    def stop_requests(self) -> dict[int, str]:
        """Pending stop requests for airings on air: airing id -> who asked."""
        with self.db.read() as s:
            return onair.stop_requests(s)

    def stop_handled(self, airing_id: int, now: datetime) -> None:
        with self.db.write() as s:
            onair.stop_handled(s, airing_id, as_utc(now))
