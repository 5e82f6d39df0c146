"""Expanding weekly session rules into concrete slots."""

from __future__ import annotations

from datetime import timedelta

from broadcaster.core.model import Slot, Station
from broadcaster.core.timeutil import local_to_utc, week_days


def week_slots(station: Station, year: int, week: int, zone_id: str | None = None) -> list[Slot]:
    """Every session occurrence of the ISO week, per zone, in time order."""
    tz = station.tz
    slots: list[Slot] = []
    for day in week_days(year, week):
        for rule in station.sessions:
            if day.weekday() not in rule.days:
                continue
            start = local_to_utc(day, rule.start, tz)
            end = start + timedelta(minutes=rule.max_minutes)
            for zid in rule.zone_ids:
                if zone_id is None or zid == zone_id:
                    slots.append(Slot(zid, rule.id, start, end, day))
    slots.sort(key=lambda s: (s.start, s.zone_id))
    return slots
