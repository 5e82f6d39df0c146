"""Planned airings as an iCalendar file, for operators who live in a calendar app.

One event per session per zone (the session's window, with its bulletins in play order in
the description); an airing booked outside any session (a queued one, an emergency) is an
event of its own. Each relay window (tiếp sóng) of each zone is an event too. UIDs are
stable, so re-importing an updated export updates the events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event

from broadcaster.core.model import AiringRecord, Bulletin, RelayWindow, Station
from broadcaster.core.timeutil import as_utc, to_local
from broadcaster.reports.period import Period
from broadcaster.store import reporting
from broadcaster.store.db import Session

PRIORITY_VI = {"emergency": "khẩn cấp", "priority": "ưu tiên", "normal": "thông thường"}


def planned_airings(session: Session, period: Period) -> list[AiringRecord]:
    """The period's airings still planned or playing, as plain records."""
    return reporting.planned_airings(session, period.start, period.end)


def write_ics(
    path: Path,
    station: Station,
    rows: list[AiringRecord],
    bulletins: dict[str, Bulletin],
    now: datetime,
    relays: Sequence[RelayWindow] = (),
) -> int:
    """Returns the number of events written."""
    tz = station.tz
    cal = Calendar()
    cal.add("prodid", "-//broadcaster//lich phat song//VI")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Lịch phát sóng – {station.name}")
    cal.add("x-wr-timezone", station.timezone)
    groups: dict[tuple, list[AiringRecord]] = defaultdict(list)
    for r in rows:
        start = as_utc(r.scheduled_at)
        if r.session_id:
            day = to_local(start, tz).date()
            key = (r.zone_id, r.session_id, day.isoformat())
        else:
            key = (r.zone_id, f"airing-{r.id}", "")
        groups[key].append(r)
    stamp = as_utc(now).replace(microsecond=0)
    for (zone_id, session_id, day), airings in sorted(
        groups.items(), key=lambda kv: (as_utc(kv[1][0].scheduled_at), kv[0])
    ):
        zone = _zone_name(station, zone_id)
        first = min(as_utc(a.scheduled_at) for a in airings)
        end = max(as_utc(a.window_end) for a in airings)
        if end <= first:
            end = first + timedelta(seconds=max(sum(a.duration_seconds for a in airings), 60))
        ev = Event()
        when = day.replace("-", "") if day else f"{first:%Y%m%dT%H%M%S}"
        ev.add("uid", f"{station.id}-{zone_id}-{session_id}-{when}@broadcaster")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", first.astimezone(UTC))
        ev.add("dtend", end.astimezone(UTC))
        if day:
            summary = f"{zone}: buổi phát {session_id} ({len(airings)} bản tin)"
        else:
            b = bulletins.get(airings[0].bulletin_id)
            summary = f"{zone}: {b.title if b else airings[0].bulletin_id}"
        ev.add("summary", summary)
        ev.add("location", zone)
        ev.add("categories", [f"zone:{zone_id}"])
        lines = []
        for a in airings:
            b = bulletins.get(a.bulletin_id)
            lines.append(
                f"{to_local(a.scheduled_at, tz):%H:%M} {a.bulletin_id}: "
                f"{b.title if b else a.bulletin_id} "
                f"({PRIORITY_VI.get(a.priority, a.priority)}, {round(a.duration_seconds)} giây, "
                f"lượt #{a.id})"
            )
        ev.add("description", "\n".join(lines))
        cal.add_component(ev)
    for w in relays:
        cal.add_component(_relay_event(station, w, stamp))
    path.write_bytes(cal.to_ical())
    return len(groups) + len(relays)


def _relay_event(station: Station, w: RelayWindow, stamp: datetime) -> Event:
    zone = _zone_name(station, w.zone_id)
    source = station.sources.get(w.source_id)
    name = source.name if source else w.source_id
    ev = Event()
    ev.add(
        "uid", f"{station.id}-{w.zone_id}-relay-{w.relay_id}-{w.start:%Y%m%dT%H%M%S}@broadcaster"
    )
    ev.add("dtstamp", stamp)
    ev.add("dtstart", as_utc(w.start))
    ev.add("dtend", as_utc(w.end))
    ev.add("summary", f"{zone}: tiếp sóng {name}")
    ev.add("location", zone)
    ev.add("categories", [f"zone:{w.zone_id}", f"relay:{w.source_id}"])
    ev.add(
        "description",
        f"Tiếp sóng {name} ({w.source_id}), khung giờ {to_local(w.start, station.tz):%H:%M}–"
        f"{to_local(w.end, station.tz):%H:%M}; tính là đã phát khi tiếp sóng được ít nhất "
        f"{round(w.min_share * 100)}% khung giờ",
    )
    return ev


def _zone_name(station: Station, zone_id: str) -> str:
    try:
        return station.zone(zone_id).name
    except KeyError:
        return zone_id
