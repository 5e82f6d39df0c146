"""The weekly planner: books airings so every zone meets every requirement.

Pure: it receives the station, the bulletins it may use (approved, rendered, with real
durations), the airings already booked and ``not_before`` (now), and returns what to add
and what to re-time. Choices, in order of importance:

* requirements are met within session caps (real durations against ``max_minutes``);
* airings go as early in the week as possible, leaving later sessions to recover failures;
* content rotates: the least-used bulletin in the zone first, and zones start the rotation
  at different places so a slot does not carry the same bulletin everywhere;
* priority bulletins get one airing per zone per week and are ordered first in a session.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from broadcaster.core.model import (
    Airing,
    AiringStatus,
    Bulletin,
    Origin,
    Priority,
    Requirement,
    Slot,
    Station,
)
from broadcaster.core.sessions import week_slots
from broadcaster.core.timeutil import to_local, week_days
from broadcaster.i18n import _

COUNTING = (AiringStatus.PLANNED, AiringStatus.PLAYING, AiringStatus.AIRED)
OCCUPYING = (*COUNTING, AiringStatus.INTERRUPTED)
RETIMABLE = (Origin.PLAN, Origin.MAKEUP)


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
    reqs = [
        r
        for r in station.requirements
        if zone_id in r.zone_ids and any(r.active_on(d) for d in days)
    ]
    return sorted(reqs, key=lambda r: (r.per != "day", r.date_from is None, r.id))


class _ZoneBook:
    """Mutable view of one zone's week while planning it."""

    def __init__(self, station: Station, slots: list[Slot], booked: list[BookedAiring]) -> None:
        self.tz = station.tz
        self.slots = slots
        self.used: dict[Slot, float] = defaultdict(float)
        self.in_slot: dict[Slot, list[Airing]] = defaultdict(list)
        self.uses: Counter[str] = Counter()
        self.counting: list[tuple[date, frozenset[str]]] = []
        for b in booked:
            a = b.airing
            if a.status in COUNTING:
                self.counting.append((to_local(a.scheduled_at, self.tz).date(), b.campaigns))
            if a.status not in OCCUPYING:
                continue
            self.uses[a.bulletin_id] += 1
            slot = self.slot_of(a)
            if slot is not None:
                self.used[slot] += a.duration_seconds
                self.in_slot[slot].append(a)

    def slot_of(self, airing: Airing) -> Slot | None:
        for slot in self.slots:
            if (
                slot.session_id == airing.session_id
                and slot.start <= airing.scheduled_at < slot.end
            ):
                return slot
        return None

    def count(self, campaign: str, days: set[date]) -> int:
        return sum(1 for day, camps in self.counting if day in days and campaign in camps)

    def fits(self, slot: Slot, seconds: float) -> bool:
        return self.used[slot] + seconds <= slot.capacity_seconds + 1e-6

    def add(self, slot: Slot, airing: Airing, campaigns: frozenset[str]) -> None:
        self.used[slot] += airing.duration_seconds
        self.in_slot[slot].append(airing)
        self.uses[airing.bulletin_id] += 1
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
) -> PlanResult:
    """Book what is missing in the week for each zone; idempotent given its own output."""
    result = PlanResult()
    days = week_days(year, week)
    candidates = sorted(
        (p for p in playables if p.bulletin.priority != Priority.EMERGENCY),
        key=lambda p: p.bulletin.id,
    )
    by_zone: dict[str, list[BookedAiring]] = defaultdict(list)
    for b in booked:
        by_zone[b.airing.zone_id].append(b)

    for zone_index, zone in enumerate(station.zones):
        if zone_ids is not None and zone.id not in zone_ids:
            continue
        all_slots = week_slots(station, year, week, zone.id)
        book = _ZoneBook(station, all_slots, by_zone.get(zone.id, []))
        open_slots = [s for s in all_slots if s.start >= not_before]
        usable = [p for p in candidates if zone.id in p.bulletin.zone_ids]
        touched: set[Slot] = set()

        def place(
            pool: list[Playable],
            slot_ok,
            campaign_key: str | None,
            *,
            usable=usable,
            open_slots=open_slots,
            book=book,
            touched=touched,
            zone_index=zone_index,
            zone_id=zone.id,
        ) -> str | None:
            """Book one airing from ``pool`` in the earliest slot that takes it."""
            full = False
            for slot in open_slots:
                if not slot_ok(slot):
                    continue
                present = {a.bulletin_id for a in book.in_slot[slot]}
                options = [
                    p
                    for p in pool
                    if p.bulletin.valid_on(slot.local_day) and p.bulletin.id not in present
                ]
                if not options:
                    continue
                n = len(usable) or 1
                order = {p.bulletin.id: i for i, p in enumerate(usable)}
                # Least used first; a priority bulletin already booked this week comes
                # back only when nothing else can fill the slot.
                options.sort(
                    key=lambda p: (
                        p.bulletin.priority == Priority.PRIORITY and book.uses[p.bulletin.id] > 0,
                        book.uses[p.bulletin.id],
                        (order.get(p.bulletin.id, 0) - zone_index) % n,
                    )
                )
                for p in options:
                    if book.fits(slot, p.duration_seconds):
                        airing = Airing(
                            id=None,
                            zone_id=zone_id,
                            bulletin_id=p.bulletin.id,
                            scheduled_at=slot.start,
                            window_end=slot.end,
                            session_id=slot.session_id,
                            priority=p.bulletin.priority,
                            origin=origin,
                            duration_seconds=p.duration_seconds,
                            created_by=created_by,
                        )
                        book.add(slot, airing, _campaigns(p.bulletin))
                        result.new.append(airing)
                        touched.add(slot)
                        return None
                full = True
            if not pool:
                return "no-content"
            return "full" if full else "no-slot"

        # Priority bulletins: once per zone per week, ahead of everything else in a session.
        for p in usable:
            if p.bulletin.priority != Priority.PRIORITY or book.uses[p.bulletin.id]:
                continue
            place([p], lambda s: True, None)

        for req in requirements_for(station, zone.id, days):
            pool = [p for p in usable if p.bulletin.matches_campaign(req.campaign)]
            active = [d for d in days if req.active_on(d)]
            groups = [[d] for d in active] if req.per == "day" else [active]
            for group in groups:
                group_days = set(group)
                missing = req.min - book.count(req.campaign, group_days)
                while missing > 0:
                    why = place(pool, lambda s, g=group_days: s.local_day in g, req.campaign)
                    if why is not None:
                        result.shortfalls.append(
                            Shortfall(
                                zone.id,
                                req.id,
                                missing,
                                _explain(
                                    why, req, group, all_slots, open_slots, not_before, station
                                ),
                            )
                        )
                        break
                    missing -= 1

        for slot in sorted(touched, key=lambda s: s.start):
            result.retimed.extend(_sequence(slot, book.in_slot[slot]))
    return result


def _sequence(slot: Slot, airings: list[Airing]) -> list[Airing]:
    """Lay a session out back to back around what cannot move.

    Started airings and those an operator queued at a set time keep their place; the
    planner's own airings fill the gaps from the session's start, priority first.
    Returns the already-stored airings whose time moved (new ones are simply set).
    """
    fixed = [a for a in airings if a.status != AiringStatus.PLANNED or a.origin not in RETIMABLE]
    movable = [a for a in airings if a.status == AiringStatus.PLANNED and a.origin in RETIMABLE]
    movable.sort(key=lambda a: (a.priority.rank, a.id is None, a.scheduled_at, a.id or 0))
    busy = [(a.scheduled_at, a.scheduled_at + timedelta(seconds=a.duration_seconds)) for a in fixed]
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
