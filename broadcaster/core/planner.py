"""The weekly planner: books airings so every zone meets every requirement.

Pure: it receives the station, the bulletins it may use (approved, rendered, with real
durations), the airings already booked and ``not_before`` (now), and returns what to add
and what to re-time. Choices, in order of importance:

* requirements are met within session caps (real durations against ``max_minutes``);
  a relay window ("tiếp sóng") inside a session takes up its time: its minutes count
  against the cap and no bulletin is laid over it;
* airings go as early in the week as possible, leaving later sessions to recover failures;
* content rotates: the least-used bulletin in the zone first, and zones start the rotation
  at different places so a slot does not carry the same bulletin everywhere;
* priority bulletins get one airing per zone per week and are ordered first in a session;
* then, in sessions whose ``fill`` is ``rotate`` (the default), the rest of the session is
  filled with the zone's valid bulletins in a fair rotation: priority ones first, then the
  least recently aired in that zone (``last_aired``, history the adapter reads from the
  store), never the same bulletin twice in a session, keeping room in each session for one
  make-up (the longest bulletin that can serve one of the zone's requirements). Make-up
  runs book the minimum only.

Everything is indexed by zone (the station's ``sessions_by_zone``/``requirements_by_zone``,
a bulletin's ``zone_set``), so a week of thousands of zones plans in time linear in them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from broadcaster.core.model import (
    FILL_ROTATE,
    Airing,
    AiringStatus,
    Bulletin,
    Origin,
    Priority,
    RelayWindow,
    Requirement,
    Slot,
    Station,
)
from broadcaster.core.sessions import relay_seconds, relays_in, zone_week_relays, zone_week_slots
from broadcaster.core.timeutil import to_local, week_days
from broadcaster.i18n import _

COUNTING = (AiringStatus.PLANNED, AiringStatus.PLAYING, AiringStatus.AIRED)
OCCUPYING = (*COUNTING, AiringStatus.INTERRUPTED)
RETIMABLE = (Origin.PLAN, Origin.MAKEUP)
NEVER = datetime.min.replace(tzinfo=UTC)  # 'last aired' of a bulletin never aired in a zone


@dataclass(frozen=True)
class Playable:
    """A bulletin the planner may book: approved, rendered, with its real duration."""

    bulletin: Bulletin
    duration_seconds: float


@dataclass(frozen=True)
class BookedAiring:
    """What the planner needs to know of an airing already in the store."""

    airing: Airing
    campaigns: frozenset[str]


@dataclass
class Shortfall:
    zone_id: str
    requirement_id: str
    missing: int
    reason: str


@dataclass
class PlanResult:
    new: list[Airing] = field(default_factory=list)
    retimed: list[Airing] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)


def requirements_for(station: Station, zone_id: str, days: list[date]) -> list[Requirement]:
    """Requirements that apply to a zone on any of ``days``; per-day and dated ones first."""
    applying = station.requirements_by_zone.get(zone_id, ())
    reqs = [r for r in applying if any(r.active_on(d) for d in days)]
    return sorted(reqs, key=lambda r: (r.per != "day", r.date_from is None, r.id))


class _ZoneBook:
    """Mutable view of one zone's week while planning it."""

    def __init__(
        self,
        station: Station,
        slots: list[Slot],
        booked: list[BookedAiring],
        relays: Sequence[RelayWindow] = (),
    ) -> None:
        self.tz = station.tz
        self.slots = slots
        self.by_session: dict[str | None, list[Slot]] = defaultdict(list)
        for slot in slots:
            self.by_session[slot.session_id].append(slot)
        self.used: dict[Slot, float] = defaultdict(float)
        # The relay windows inside each session: their time is taken before any bulletin.
        self.blocked: dict[Slot, list[tuple[datetime, datetime]]] = {}
        for slot in slots if relays else ():
            inside = relays_in(slot, relays)
            if inside:
                self.blocked[slot] = [(w.start, w.end) for w in inside]
                self.used[slot] += relay_seconds(slot, inside)
        self.in_slot: dict[Slot, list[Airing]] = defaultdict(list)
        self.uses: Counter[str] = Counter()
        self.last: dict[str, datetime] = {}  # bulletin -> latest airing, aired or booked
        self.counting: list[tuple[date, frozenset[str]]] = []
        for b in booked:
            a = b.airing
            if a.status in COUNTING:
                self.counting.append((to_local(a.scheduled_at, self.tz).date(), b.campaigns))
            if a.status not in OCCUPYING:
                continue
            self.uses[a.bulletin_id] += 1
            self.seen(a.bulletin_id, a.scheduled_at)
            slot = self.slot_of(a)
            if slot is not None:
                self.used[slot] += a.duration_seconds
                self.in_slot[slot].append(a)

    def seen(self, bulletin_id: str, instant: datetime) -> None:
        if instant > self.last.get(bulletin_id, NEVER):
            self.last[bulletin_id] = instant

    def slot_of(self, airing: Airing) -> Slot | None:
        for slot in self.by_session.get(airing.session_id, ()):
            if slot.start <= airing.scheduled_at < slot.end:
                return slot
        return None

    def room(self, slot: Slot) -> float:
        return slot.capacity_seconds - self.used[slot]

    def count(self, campaign: str, days: set[date]) -> int:
        return sum(1 for day, camps in self.counting if day in days and campaign in camps)

    def fits(self, slot: Slot, seconds: float, priority: Priority = Priority.NORMAL) -> bool:
        if self.used[slot] + seconds > slot.capacity_seconds + 1e-6:
            return False
        blocked = self.blocked.get(slot)
        if not blocked:
            return True
        # Around a relay the free time is in pieces: lay the session out with the new
        # airing and make sure nothing is pushed past its end.
        trial = [replace(a) for a in self.in_slot[slot]]
        trial.append(
            Airing(
                id=None,
                zone_id=slot.zone_id,
                bulletin_id="",
                scheduled_at=slot.start,
                window_end=slot.end,
                session_id=slot.session_id,
                priority=priority,
                origin=Origin.PLAN,
                duration_seconds=seconds,
            )
        )
        _sequence(slot, trial, blocked)
        return all(
            a.scheduled_at + timedelta(seconds=a.duration_seconds)
            <= slot.end + timedelta(microseconds=1000)
            for a in trial
        )

    def add(self, slot: Slot, airing: Airing, campaigns: frozenset[str]) -> None:
        self.used[slot] += airing.duration_seconds
        self.in_slot[slot].append(airing)
        self.uses[airing.bulletin_id] += 1
        # New airings all start at the slot's start until sequenced: their order of
        # booking breaks the tie, so the rotation goes round every bulletin in turn.
        order = timedelta(microseconds=len(self.in_slot[slot]))
        self.seen(airing.bulletin_id, airing.scheduled_at + order)
        self.counting.append((slot.local_day, campaigns))


def _campaigns(b: Bulletin) -> frozenset[str]:
    return frozenset((b.campaign, *b.tags))


def plan_week(
    station: Station,
    year: int,
    week: int,
    playables: list[Playable],
    booked: list[BookedAiring],
    not_before: datetime,
    *,
    zone_ids: list[str] | None = None,
    origin: Origin = Origin.PLAN,
    created_by: str = "planner",
    last_aired: Mapping[str, Mapping[str, datetime]] | None = None,
) -> PlanResult:
    """Book what is missing in the week for each zone; idempotent given its own output.

    ``last_aired`` is, per zone and bulletin, when it last aired before (the rotation's
    history). Only a plan run (``origin`` PLAN) fills sessions; make-ups book the minimum.
    """
    result = PlanResult()
    days = week_days(year, week)
    candidates = sorted(
        (p for p in playables if p.bulletin.priority != Priority.EMERGENCY),
        key=lambda p: p.bulletin.id,
    )
    by_zone: dict[str, list[BookedAiring]] = defaultdict(list)
    for b in booked:
        by_zone[b.airing.zone_id].append(b)
    wanted = None if zone_ids is None else set(zone_ids)
    zones = [(i, z) for i, z in enumerate(station.zones) if wanted is None or z.id in wanted]
    slots_of = zone_week_slots(station, year, week, [z.id for _i, z in zones])
    relays_of = (
        zone_week_relays(station, year, week, [z.id for _i, z in zones]) if station.relays else {}
    )
    fills = {rule.id: rule.fill for rule in station.sessions}
    history = last_aired or {}

    for zone_index, zone in zones:
        book = _ZoneBook(
            station, slots_of.get(zone.id, []), by_zone.get(zone.id, []), relays_of.get(zone.id, [])
        )
        for bulletin_id, instant in history.get(zone.id, {}).items():
            book.seen(bulletin_id, instant)
        usable = [p for p in candidates if zone.id in p.bulletin.zone_set]
        planner = _ZonePlanner(
            station, zone.id, zone_index, book, usable, not_before, origin, created_by, result
        )
        reqs = requirements_for(station, zone.id, days)
        planner.book_minimum(reqs, days)
        if origin == Origin.PLAN:
            planner.fill(reqs, fills)
        for slot in sorted(planner.touched, key=lambda s: s.start):
            result.retimed.extend(_sequence(slot, book.in_slot[slot], book.blocked.get(slot, ())))
    return result


class _ZonePlanner:
    """Books one zone's week: the guaranteed minimum, then the sessions' fill."""

    def __init__(
        self,
        station: Station,
        zone_id: str,
        zone_index: int,
        book: _ZoneBook,
        usable: list[Playable],
        not_before: datetime,
        origin: Origin,
        created_by: str,
        result: PlanResult,
    ) -> None:
        self.station = station
        self.zone_id = zone_id
        self.zone_index = zone_index
        self.book = book
        self.usable = usable
        self.not_before = not_before
        self.origin = origin
        self.created_by = created_by
        self.result = result
        self.open_slots = [s for s in book.slots if s.start >= not_before]
        self.touched: set[Slot] = set()
        # Zones start the rotation at different bulletins, so that one slot does not
        # carry the same bulletin everywhere.
        n = len(usable) or 1
        self.offset = {p.bulletin.id: (i - zone_index) % n for i, p in enumerate(usable)}

    def _book(self, slot: Slot, p: Playable) -> None:
        airing = Airing(
            id=None,
            zone_id=self.zone_id,
            bulletin_id=p.bulletin.id,
            scheduled_at=slot.start,
            window_end=slot.end,
            session_id=slot.session_id,
            priority=p.bulletin.priority,
            origin=self.origin,
            duration_seconds=p.duration_seconds,
            created_by=self.created_by,
        )
        self.book.add(slot, airing, _campaigns(p.bulletin))
        self.result.new.append(airing)
        self.touched.add(slot)

    def _options(self, pool: list[Playable], slot: Slot) -> list[Playable]:
        """Bulletins of ``pool`` valid on the slot's day and not in it already."""
        present = {a.bulletin_id for a in self.book.in_slot[slot]}
        return [
            p for p in pool if p.bulletin.valid_on(slot.local_day) and p.bulletin.id not in present
        ]

    def place(self, pool: list[Playable], slot_ok) -> str | None:
        """Book one airing from ``pool`` in the earliest slot that takes it."""
        book = self.book
        full = False
        for slot in self.open_slots:
            if not slot_ok(slot):
                continue
            options = self._options(pool, slot)
            if not options:
                continue
            # Least used first; a priority bulletin already booked this week comes
            # back only when nothing else can fill the slot.
            options.sort(
                key=lambda p: (
                    p.bulletin.priority == Priority.PRIORITY and book.uses[p.bulletin.id] > 0,
                    book.uses[p.bulletin.id],
                    book.last.get(p.bulletin.id, NEVER),
                    self.offset.get(p.bulletin.id, 0),
                )
            )
            for p in options:
                if book.fits(slot, p.duration_seconds, p.bulletin.priority):
                    self._book(slot, p)
                    return None
            full = True
        if not pool:
            return "no-content"
        return "full" if full else "no-slot"

    def book_minimum(self, reqs: list[Requirement], days: list[date]) -> None:
        """Priority bulletins once a week, then what each requirement still needs."""
        for p in self.usable:
            if p.bulletin.priority != Priority.PRIORITY or self.book.uses[p.bulletin.id]:
                continue
            self.place([p], lambda s: True)

        for req in reqs:
            pool = [p for p in self.usable if p.bulletin.matches_campaign(req.campaign)]
            active = [d for d in days if req.active_on(d)]
            groups = [[d] for d in active] if req.per == "day" else [active]
            for group in groups:
                group_days = set(group)
                missing = req.min - self.book.count(req.campaign, group_days)
                while missing > 0:
                    why = self.place(pool, lambda s, g=group_days: s.local_day in g)
                    if why is not None:
                        self.result.shortfalls.append(
                            Shortfall(
                                self.zone_id,
                                req.id,
                                missing,
                                _explain(
                                    why,
                                    req,
                                    group,
                                    self.book.slots,
                                    self.open_slots,
                                    self.not_before,
                                    self.station,
                                ),
                            )
                        )
                        break
                    missing -= 1

    def makeup_reserve(self, reqs: list[Requirement]) -> float:
        """Seconds each filled session keeps free so a make-up can still be booked in it:
        the longest bulletin that can serve one of the zone's requirements."""
        serving = [
            p.duration_seconds
            for p in self.usable
            if any(p.bulletin.matches_campaign(r.campaign) for r in reqs)
        ]
        return max(serving, default=0.0)

    def fill(self, reqs: list[Requirement], fills: Mapping[str, str]) -> None:
        """Fill each open ``rotate`` session up to its cap, less the make-up reserve:
        priority bulletins first, then the least recently aired in this zone."""
        book = self.book
        reserve = self.makeup_reserve(reqs)
        for slot in self.open_slots:
            if fills.get(slot.session_id) != FILL_ROTATE:
                continue
            room = book.room(slot) - reserve
            if room <= 0:
                continue
            options = self._options(self.usable, slot)
            options.sort(
                key=lambda p: (
                    p.bulletin.priority != Priority.PRIORITY,
                    book.last.get(p.bulletin.id, NEVER),
                    self.offset.get(p.bulletin.id, 0),
                )
            )
            for p in options:
                if p.duration_seconds <= room + 1e-6 and (
                    slot not in book.blocked
                    or book.fits(slot, p.duration_seconds + reserve, p.bulletin.priority)
                ):
                    self._book(slot, p)
                    room -= p.duration_seconds


Interval = tuple[datetime, datetime]


def sequence_session(
    slot: Slot, airings: list[Airing], blocked: Iterable[Interval] = ()
) -> list[Airing]:
    """Lay out a session after an operator's change (see :func:`_sequence`)."""
    return _sequence(slot, airings, blocked)


def first_free(
    slot: Slot,
    airings: list[Airing],
    at: datetime,
    seconds: float,
    blocked: Iterable[Interval] = (),
) -> datetime:
    """The first instant from ``at`` at which ``seconds`` of audio overlaps none of the
    session's airings that cannot move (started ones, or queued at a set time) and none
    of the ``blocked`` spans (its relay windows)."""
    fixed = [a for a in airings if a.status != AiringStatus.PLANNED or a.origin not in RETIMABLE]
    busy = sorted(
        [
            *(
                (a.scheduled_at, a.scheduled_at + timedelta(seconds=a.duration_seconds))
                for a in fixed
            ),
            *blocked,
        ]
    )
    start, length = at, timedelta(seconds=seconds)
    for b0, b1 in busy:
        if start < b1 and b0 < start + length:
            start = b1
    return start


def _sequence(slot: Slot, airings: list[Airing], blocked: Iterable[Interval] = ()) -> list[Airing]:
    """Lay a session out back to back around what cannot move.

    Started airings, those an operator queued at a set time and the ``blocked`` spans
    (relay windows) keep their place; the planner's own airings fill the gaps from the
    session's start, priority first. Returns the already-stored airings whose time moved
    (new ones are simply set).
    """
    fixed = [a for a in airings if a.status != AiringStatus.PLANNED or a.origin not in RETIMABLE]
    movable = [a for a in airings if a.status == AiringStatus.PLANNED and a.origin in RETIMABLE]
    movable.sort(key=lambda a: (a.priority.rank, a.id is None, a.scheduled_at, a.id or 0))
    busy = [(a.scheduled_at, a.scheduled_at + timedelta(seconds=a.duration_seconds)) for a in fixed]
    busy.extend(blocked)
    cursor = slot.start
    moved: list[Airing] = []
    for a in movable:
        length = timedelta(seconds=a.duration_seconds)
        start = cursor
        clash = True
        while clash:
            clash = False
            for b0, b1 in busy:
                if start < b1 and b0 < start + length:
                    start, clash = b1, True
        if a.scheduled_at != start:
            a.scheduled_at = start
            if a.id is not None:
                moved.append(a)
        busy.append((start, start + length))
        cursor = start + length
    return moved


def _explain(
    why: str,
    req: Requirement,
    days: list[date],
    all_slots: list[Slot],
    open_slots: list[Slot],
    not_before: datetime,
    station: Station,
) -> str:
    day_set = set(days)
    span = days[0].strftime("%d/%m") if len(days) == 1 else f"{days[0]:%d/%m}–{days[-1]:%d/%m}"
    if why == "no-content":
        return _(
            "no approved, rendered bulletin of campaign '{campaign}' is valid for this zone"
        ).format(campaign=req.campaign)
    if not any(s.local_day in day_set for s in all_slots):
        return _("the zone has no session on {span}").format(span=span)
    if not any(s.local_day in day_set for s in open_slots):
        return _("no session left on {span} after {time}").format(
            span=span, time=to_local(not_before, station.tz).strftime("%d/%m %H:%M")
        )
    if why == "full":
        return _("the sessions on {span} are full (their caps leave no room)").format(span=span)
    return _("no bulletin of campaign '{campaign}' is valid on {span}").format(
        campaign=req.campaign, span=span
    )
