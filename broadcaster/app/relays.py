"""Relays (tiếp sóng): the windows in which zones relay an upstream programme, as the
faces show them (``plan``, ``status``, ``schedule export``).

Plain frozen data out: :class:`broadcaster.core.model.RelayWindow` (UTC instants) and the
station's :class:`broadcaster.core.model.Source` for its name; the weekly rule is
``core.sessions.zone_week_relays``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from broadcaster.app.context import StationContext
from broadcaster.core.model import RelayWindow, Station
from broadcaster.core.sessions import zone_week_relays
from broadcaster.core.timeutil import iso_week_of_instant, parse_week


@dataclass(frozen=True)
class WeekRelays:
    """One ISO week's relay windows, per zone (every zone of the station, in its order;
    a zone that relays nothing has an empty list)."""

    week: str
    by_zone: dict[str, list[RelayWindow]]

    @property
    def windows(self) -> list[RelayWindow]:
        """All of them in time order, then by zone."""
        found = [w for ws in self.by_zone.values() for w in ws]
        found.sort(key=lambda w: (w.start, w.zone_id))
        return found


def week_relays(ctx: StationContext, week_label: str | None = None) -> WeekRelays:
    """The relay windows of a week (default: this one) of every zone."""
    label = week_label or iso_week_of_instant(ctx.clock.now(), ctx.station.tz)
    year, week = parse_week(label)
    return WeekRelays(label, zone_week_relays(ctx.station, year, week))


def relays_between(station: Station, start: datetime, end: datetime) -> list[RelayWindow]:
    """Every zone's relay windows that begin in [start, end) (UTC), in time order: the
    ISO weeks that span touches, clipped to it."""
    if not station.relays or end <= start:
        return []
    tz = station.tz
    first: date = start.astimezone(tz).date()
    last: date = end.astimezone(tz).date()
    weeks = sorted(
        {(first + timedelta(days=i)).isocalendar()[:2] for i in range((last - first).days + 1)}
    )
    found: list[RelayWindow] = []
    for year, week in weeks:
        for windows in zone_week_relays(station, year, week).values():
            found.extend(w for w in windows if start <= w.start < end)
    found.sort(key=lambda w: (w.start, w.zone_id))
    return found
