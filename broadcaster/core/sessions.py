"""Expanding weekly session rules into concrete slots, and relay slots into windows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from broadcaster.core.model import RelayWindow, Slot, Station
from broadcaster.core.timeutil import local_to_utc, to_local, week_days

T = TypeVar("T", Slot, RelayWindow)


def week_slots(station: Station, year: int, week: int, zone_id: str | None = None) -> list[Slot]:
    """Every session occurrence of the ISO week, per zone, in time order.

    With ``zone_id``, only the rules covering that zone are expanded (the station's index
    by zone), so asking for each zone in turn stays linear in the number of zones.
    """
    if zone_id is not None:
        return zone_week_slots(station, year, week, [zone_id]).get(zone_id, [])
    slots = [s for zone_slots in zone_week_slots(station, year, week).values() for s in zone_slots]
    slots.sort(key=lambda s: (s.start, s.zone_id))
    return slots


def _per_zone_week(
    station: Station,
    year: int,
    week: int,
    rules_by_zone,
    span: Callable[[Any, date], tuple[datetime, datetime]],
    build: Callable[[str, Any, datetime, datetime, date], T],
    zone_ids: list[str] | None,
) -> dict[str, list[T]]:
    """One pass over weekly rules (sessions or relays): each rule's occurrences in the week
    are turned into UTC once (``span`` of the rule on a local day) and shared by all its
    zones; each zone's list is in time order."""
    days = week_days(year, week)
    times: dict[str, list[tuple[datetime, datetime, date]]] = {}  # rule id -> occurrences

    def occurrences(rule) -> list[tuple[datetime, datetime, date]]:
        found = times.get(rule.id)
        if found is None:
            found = [(*span(rule, day), day) for day in days if day.weekday() in rule.days]
            times[rule.id] = found
        return found

    wanted = station.zone_ids if zone_ids is None else zone_ids
    out: dict[str, list[T]] = {}
    for zid in wanted:
        items = [
            build(zid, rule, start, end, day)
            for rule in rules_by_zone.get(zid, ())
            for start, end, day in occurrences(rule)
        ]
        items.sort(key=lambda item: item.start)
        out[zid] = items
    return out


def zone_week_slots(
    station: Station, year: int, week: int, zone_ids: list[str] | None = None
) -> dict[str, list[Slot]]:
    """The week's slots of each zone (of ``zone_ids``, or all), each list in time order."""
    tz = station.tz

    def span(rule, day: date) -> tuple[datetime, datetime]:
        start = local_to_utc(day, rule.start, tz)
        return start, start + timedelta(minutes=rule.max_minutes)

    return _per_zone_week(
        station,
        year,
        week,
        station.sessions_by_zone,
        span,
        lambda zid, rule, start, end, day: Slot(zid, rule.id, start, end, day),
        zone_ids,
    )


def zone_days_left(
    station: Station, year: int, week: int, not_before: datetime
) -> dict[str, frozenset[date]]:
    """Per zone, the local days of the week that still have a session starting at or
    after ``not_before``: what ``status`` asks of each zone, without building the week's
    slots. Zones that share their session rules (thousands of clusters on the same
    schedule) share one answer."""
    tz = station.tz
    days = week_days(year, week)
    by_rules: dict[tuple[int, ...], frozenset[date]] = {}
    out: dict[str, frozenset[date]] = {}
    for zid in station.zone_ids:
        rules = station.sessions_by_zone.get(zid, ())
        key = tuple(id(rule) for rule in rules)
        found = by_rules.get(key)
        if found is None:
            found = frozenset(
                day
                for rule in rules
                for day in days
                if day.weekday() in rule.days and local_to_utc(day, rule.start, tz) >= not_before
            )
            by_rules[key] = found
        out[zid] = found
    return out


def zone_week_relays(
    station: Station, year: int, week: int, zone_ids: list[str] | None = None
) -> dict[str, list[RelayWindow]]:
    """The week's relay windows of each zone (of ``zone_ids``, or all), each list in time
    order. Local times become UTC on each day (``local_to_utc``), so a window is the
    same wall-clock span every day whatever the zone's offset does."""
    tz = station.tz
    return _per_zone_week(
        station,
        year,
        week,
        station.relays_by_zone,
        lambda rule, day: (local_to_utc(day, rule.start, tz), local_to_utc(day, rule.end, tz)),
        lambda zid, rule, start, end, day: RelayWindow(
            zid, rule.id, rule.source_id, start, end, day, rule.min_share
        ),
        zone_ids,
    )


def zone_relays_overlapping(
    station: Station, zone_id: str, start: datetime, end: datetime
) -> list[RelayWindow]:
    """The zone's relay windows that take up part of [start, end) (UTC), in time order:
    whether an airing started at a given instant would run into a relay."""
    if not station.relays_by_zone.get(zone_id) or end <= start:
        return []
    tz = station.tz
    weeks = sorted({to_local(t, tz).date().isocalendar()[:2] for t in (start, end)})
    found = [
        w
        for year, week in weeks
        for w in zone_week_relays(station, year, week, [zone_id])[zone_id]
        if w.start < end and start < w.end
    ]
    return sorted(found, key=lambda w: w.start)


def relays_in(slot: Slot, windows: list[RelayWindow]) -> list[RelayWindow]:
    """The relay windows that take up part of a session occurrence."""
    return [w for w in windows if w.start < slot.end and slot.start < w.end]


def relay_seconds(slot: Slot, windows: list[RelayWindow]) -> float:
    """How much of a session occurrence its relays take up: counted against its cap."""
    return sum(w.overlap_seconds(slot.start, slot.end) for w in windows)
