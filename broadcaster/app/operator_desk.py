"""What the operator's pages read and start: the week as a calendar, the .ics of a week,
the bulletins that may be queued or aired as an emergency, an emergency started without
waiting for it to end, and its progress per zone and per receiver.

Plain frozen data out (the faces show it); every change goes through the functions of
``schedule`` and ``emergencies``, which authorize the actor and audit.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from broadcaster.app import calendar as calendar_export
from broadcaster.app import editorial, relays, schedule
from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.editorial import EditorialState
from broadcaster.app.emergencies import _air_on, emergency_airings
from broadcaster.app.permissions import Action
from broadcaster.core.model import AiringRecord, Bulletin, Priority
from broadcaster.core.sessions import week_slots
from broadcaster.core.timeutil import as_utc, parse_week, to_local, week_of
from broadcaster.engine.lanes import cut_by_emergency
from broadcaster.engine.lock import StationLock
from broadcaster.playout.base import close_outputs
from broadcaster.store import aslog, receiver_progress

log = logging.getLogger("broadcaster.app.operator_desk")


# -- the week as a calendar ----------------------------------------------------------------


@dataclass(frozen=True)
class CalendarAiring:
    record: AiringRecord
    title: str

    @property
    def makeup(self) -> bool:
        return self.record.origin == "makeup"


@dataclass(frozen=True)
class CalendarSession:
    session_id: str
    start: datetime
    end: datetime
    airings: tuple[CalendarAiring, ...]

    @property
    def booked_seconds(self) -> float:
        return sum(
            a.record.duration_seconds
            for a in self.airings
            if a.record.status not in ("cancelled", "failed", "missed")
        )


@dataclass(frozen=True)
class CalendarRelay:
    """A relay window (tiếp sóng) of the zone that day: planned time, not an airing."""

    relay_id: str
    source_id: str
    source_name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ZoneDay:
    """One zone's day: its sessions with their airings, its relay windows, and the
    airings outside any session."""

    day: date
    sessions: tuple[CalendarSession, ...]
    loose: tuple[CalendarAiring, ...]
    relays: tuple[CalendarRelay, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.sessions and not self.loose and not self.relays

    @property
    def blocks(self) -> tuple[CalendarSession | CalendarRelay, ...]:
        """Sessions and relay windows in the order of the day."""
        return tuple(sorted((*self.sessions, *self.relays), key=lambda b: as_utc(b.start)))

    @property
    def shown(self) -> tuple[CalendarSession | CalendarRelay | LooseAirings, ...]:
        """What a calendar shows of the day, in order: its blocks, then the airings
        outside a session as one more (a page then lists every airing in one loop)."""
        return self.blocks + ((LooseAirings(self.loose),) if self.loose else ())


@dataclass(frozen=True)
class LooseAirings:
    """A day's airings outside any session, shown after its sessions."""

    airings: tuple[CalendarAiring, ...]


@dataclass(frozen=True)
class ZoneWeek:
    zone_id: str
    zone_name: str
    days: tuple[ZoneDay, ...]


@dataclass(frozen=True)
class WeekCalendar:
    week: str
    previous: str
    next: str
    first_day: date
    zones: tuple[ZoneWeek, ...]
    airings: int = 0
    zone_page: int = 0  # which page of zones this is (all zones: ZONES_PER_PAGE a page)
    zone_pages: int = 1
    zones_in_all: int = 0

    @property
    def first_zone_number(self) -> int:
        """The number (from 1) of this page's first zone among all."""
        return self.zone_page * ZONES_PER_PAGE + 1


#: Zones shown at once when every zone is asked for: a province-sized station's week
#: would otherwise be thousands of days on one page. Ten busy zones' week is already
#: some 250 KB of page (the sample commune's thirteen made 440 KB): heavy on a
#: commune's 3G link and a long scroll on a phone.
ZONES_PER_PAGE = 10


def week_calendar(
    ctx: StationContext, week_label: str | None = None, zone: str | None = None, page: int = 0
) -> WeekCalendar:
    """The week (default: this one) per zone and day: the sessions with their airings, in
    time order, and the airings booked outside a session (emergencies, free-time queues).
    Every zone is ``ZONES_PER_PAGE`` zones at a time (``page``, from 0). A week that is
    not one is a :class:`FieldProblem` on ``week``."""
    label = (week_label or "").strip() or schedule.current_week(ctx)
    year, week = parse_week(label)
    label = f"{year}-W{week:02d}"
    station = ctx.station
    tz = station.tz
    monday = date.fromisocalendar(year, week, 1)
    if zone:
        schedule.check_zone(ctx, zone)
        zones = [station.zone(zone)]
        pages = 1
    else:
        pages = max(1, -(-len(station.zones) // ZONES_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        zones = list(station.zones[page * ZONES_PER_PAGE : (page + 1) * ZONES_PER_PAGE])
    records = schedule.week_airings_of(ctx, label, [z.id for z in zones])
    titles = {b.id: b.title for b in ctx.scripts()[0]}
    by_zone: dict[str, list[AiringRecord]] = {}
    for r in records:
        by_zone.setdefault(r.zone_id, []).append(r)
    relays_by_zone = relays.week_relays(ctx, label).by_zone
    weeks = []
    for z in zones:
        relays_by_day: dict[date, list[CalendarRelay]] = {}
        for w in relays_by_zone.get(z.id, []):
            source = station.sources.get(w.source_id)
            relays_by_day.setdefault(w.local_day, []).append(
                CalendarRelay(
                    w.relay_id, w.source_id, source.name if source else w.source_id, w.start, w.end
                )
            )
        slots = week_slots(station, year, week, z.id)
        mine = sorted(by_zone.get(z.id, []), key=lambda r: (as_utc(r.scheduled_at), r.id))
        placed: set[int] = set()
        sessions_by_day: dict[date, list[CalendarSession]] = {}
        by_session: dict[str | None, list[AiringRecord]] = {}
        for r in mine:
            by_session.setdefault(r.session_id, []).append(r)
        for slot in slots:
            start, end = as_utc(slot.start), as_utc(slot.end)
            inside = [
                r for r in by_session.get(slot.session_id, ()) if start <= r.scheduled_at < end
            ]
            placed.update(r.id for r in inside)
            sessions_by_day.setdefault(slot.local_day, []).append(
                CalendarSession(
                    slot.session_id,
                    slot.start,
                    slot.end,
                    tuple(
                        CalendarAiring(r, titles.get(r.bulletin_id, r.bulletin_id)) for r in inside
                    ),
                )
            )
        loose_by_day: dict[date, list[CalendarAiring]] = {}
        for r in mine:
            if r.id not in placed:
                day = to_local(r.scheduled_at, tz).date()
                loose_by_day.setdefault(day, []).append(
                    CalendarAiring(r, titles.get(r.bulletin_id, r.bulletin_id))
                )
        days = tuple(
            ZoneDay(
                monday + timedelta(days=i),
                tuple(sessions_by_day.get(monday + timedelta(days=i), [])),
                tuple(loose_by_day.get(monday + timedelta(days=i), [])),
                tuple(relays_by_day.get(monday + timedelta(days=i), [])),
            )
            for i in range(7)
        )
        weeks.append(ZoneWeek(z.id, z.name, days))
    return WeekCalendar(
        label,
        week_of(monday - timedelta(days=7)),
        week_of(monday + timedelta(days=7)),
        monday,
        tuple(weeks),
        len(records),
        page if not zone else 0,
        pages,
        len(station.zones),
    )


def week_ics(ctx: StationContext, week_label: str) -> bytes:
    """The iCalendar file of one week's planned airings (``schedule export --ics`` for
    that week's days)."""
    year, week = parse_week(week_label)
    monday = date.fromisocalendar(year, week, 1)
    with tempfile.TemporaryDirectory(prefix="broadcaster-ics-") as tmp:
        target = Path(tmp) / "lich-phat.ics"
        calendar_export.export_ics(
            ctx, target, None, monday.isoformat(), (monday + timedelta(days=6)).isoformat()
        )
        return target.read_bytes()


# -- what may be queued or aired -----------------------------------------------------------


def approved_bulletins(ctx: StationContext, *, emergency_only: bool = False) -> list[Bulletin]:
    """The bulletins approved as they are now (what ``queue`` and ``emergency`` accept),
    by title; with ``emergency_only``, those written as emergencies."""
    rows, _problems = editorial.list_bulletins(ctx)
    found = [
        r.bulletin
        for r in rows
        if r.state == EditorialState.APPROVED
        and (not emergency_only or r.bulletin.priority == Priority.EMERGENCY)
    ]
    return sorted(found, key=lambda b: (b.title.casefold(), b.id))


# -- an emergency, started and followed ----------------------------------------------------


@dataclass(frozen=True)
class EmergencyStart:
    """An emergency booked now: the airings (one per zone) and who airs them: the running
    daemon (``handed_to``) or a thread of this process."""

    bulletin_id: str
    airing_ids: tuple[int, ...]
    handed_to: str | None


_RUNNING: list[threading.Thread] = []


def start_emergency(
    ctx: StationContext,
    bulletin: Bulletin,
    zones: list[str],
    actor: Actor,
    *,
    force: bool = False,
) -> EmergencyStart:
    """Book the emergency now on ``zones`` and return at once (a page then follows it):
    the running daemon sweeps the booking up within a second; with no daemon, a thread of
    this process airs it as ``broadcaster emergency`` does (holding the station's lock,
    waiting for another emergency airing here to end). Only an operator of every zone
    named may; the attempt is in the audit trail either way."""
    with audited(ctx, actor, Action.EMERGENCY_AIR, bulletin.id, zone=zones) as note:
        rows = emergency_airings(ctx, bulletin, zones, actor.name, ctx.clock.now(), force=force)
        ids = tuple(int(r.id) for r in rows if r.id is not None)
        holder = _daemon_holder(ctx)
        if holder is None:
            thread = threading.Thread(
                target=_air_here,
                args=(ctx, rows, ids),
                name=f"emergency-{bulletin.id}",
                daemon=True,
            )
            _RUNNING[:] = [t for t in _RUNNING if t.is_alive()]
            _RUNNING.append(thread)
            thread.start()
            note.detail = f"{len(ids)} zone(s), airing in this process"
        else:
            note.detail = f"{len(ids)} zone(s), handed to {holder}"
        if force:
            note.detail += f"; forced ({bulletin.priority} bulletin)"
        return EmergencyStart(bulletin.id, ids, holder)


def _daemon_holder(ctx: StationContext) -> str | None:
    lock = StationLock(ctx.root, ctx.db_url)
    if lock.try_acquire("probe"):
        lock.release()
        return None
    holder = lock.holder()
    return holder if holder.startswith("daemon") else None


def _air_here(ctx: StationContext, rows: list, ids: tuple[int, ...]) -> None:
    """Air booked emergency airings in this process (no daemon when they were booked)."""
    lock = StationLock(ctx.root, ctx.db_url)
    try:
        if not lock.acquire_unless_daemon("emergency"):
            return  # a daemon started meanwhile: it sweeps them up
        try:
            outputs = ctx.outputs(ctx.clock)
            try:
                _air_on(ctx, rows, outputs)
            finally:
                close_outputs(outputs)
        finally:
            lock.release()
    except Exception:
        log.exception("the emergency airings %s could not be aired here", ids)


def wait_for_emergencies(timeout: float = 30.0) -> None:
    """Wait for the emergencies airing in this process (a face that stops, the tests)."""
    for thread in list(_RUNNING):
        thread.join(timeout)
        if not thread.is_alive():
            _RUNNING.remove(thread)


@dataclass(frozen=True)
class ReceiverProgress:
    receiver_id: str
    outcome: str  # "waiting" until the receiver reported; then played, silent, ...
    reason: str = ""


@dataclass(frozen=True)
class ZoneProgress:
    zone_id: str
    zone_name: str
    airing: AiringRecord
    receivers: tuple[ReceiverProgress, ...] = ()
    cut: tuple[str, ...] = ()  # the titles of what it interrupted there (as logged)


@dataclass(frozen=True)
class EmergencyProgress:
    bulletin_id: str
    title: str
    zones: tuple[ZoneProgress, ...] = field(default_factory=tuple)

    @property
    def done(self) -> bool:
        return all(z.airing.status not in ("planned", "playing") for z in self.zones)


def emergency_progress(ctx: StationContext, ids: list[int]) -> EmergencyProgress:
    """What became of an emergency's airings so far: each zone's airing state and, for a
    networked zone, each receiver's report (or ``waiting``)."""
    records = [r for r in schedule.outcomes_of(ctx, list(ids)) if r.origin == "emergency"]
    expected = _receivers_by_zone(ctx)
    with ctx.db.read() as s:
        reports = receiver_progress.reports_of_airings(s, [r.id for r in records])
        cut = {
            r.id: [
                bulletin
                for bulletin, _started in aslog.cut_in_zone(
                    s,
                    r.zone_id,
                    cut_by_emergency(r.id),
                    r.scheduled_at - timedelta(days=1),
                    r.scheduled_at + timedelta(minutes=1),
                )
            ]
            for r in records
            if r.status not in ("planned", "playing") or r.started_at is not None
        }
    titles = {b.id: b.title for b in ctx.scripts()[0]}
    zones = []
    for r in records:
        got = {rid: (outcome, reason) for rid, outcome, reason in reports.get(r.id, [])}
        names = list(dict.fromkeys([*expected.get(r.zone_id, []), *got]))
        zones.append(
            ZoneProgress(
                r.zone_id,
                ctx.station.zone(r.zone_id).name,
                r,
                tuple(ReceiverProgress(n, *got.get(n, ("waiting", ""))) for n in names),
                tuple(titles.get(b, b) for b in cut.get(r.id, ())),
            )
        )
    bulletin_id = records[0].bulletin_id if records else ""
    return EmergencyProgress(bulletin_id, titles.get(bulletin_id, bulletin_id), tuple(zones))


def _receivers_by_zone(ctx: StationContext) -> dict[str, list[str]]:
    if not any(spec.type == "mqtt" for spec in ctx.station.outputs.values()):
        return {}
    from broadcaster.app.receivers import mqtt_outputs

    found: dict[str, list[str]] = {}
    for settings in mqtt_outputs(ctx).values():
        for zone, ids in settings.receivers.items():
            found.setdefault(zone, []).extend(ids)
    return found


def has_receivers(ctx: StationContext) -> bool:
    """Whether the station has an MQTT output (networked receivers) at all."""
    return any(spec.type == "mqtt" for spec in ctx.station.outputs.values())
