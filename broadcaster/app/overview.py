"""The station at a glance (the web station's Tổng quan): what is on air now per zone,
the next airings, and this week's state per zone and requirement, all from the schedule
and the hashed as-run log as ``status`` counts them."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from broadcaster.app import alerts, approvals, schedule
from broadcaster.app.context import StationContext
from broadcaster.app.logbook import ChainState, ChainWatch
from broadcaster.app.receivers import ReceiverSummary, ReceiverWatch
from broadcaster.core.compliance import ZoneWeekStatus
from broadcaster.core.model import AiringRecord, Bulletin
from broadcaster.core.timeutil import as_utc, iso_week_of_instant
from broadcaster.store import airings, live


@dataclass(frozen=True)
class LiveNow:
    """A live broadcast on air in a zone: who speaks, since when, until when at most."""

    live_id: int
    speaker: str
    started_at: datetime | None
    ends_by: datetime | None


@dataclass(frozen=True)
class ZoneNow:
    zone_id: str
    zone_name: str
    on_air: AiringRecord | None
    next_airing: AiringRecord | None
    live: LiveNow | None = None


#: Above this many zones the dashboard summarises: counts by state and only the zones
#: that need someone (a province-sized page would be half a megabyte every poll).
COMPACT_ABOVE_ZONES = 24
#: The most rows a compact dashboard lists of each kind; the rest are counted.
COMPACT_ROWS = 30

#: The week states that ask for someone's attention.
ATTENTION = ("at-risk", "failed", "not-met", "no-session")


@dataclass(frozen=True)
class Overview:
    now: datetime
    week: str
    zones: list[ZoneNow]
    upcoming: list[AiringRecord]  # the next planned airings of every zone, soonest first
    status: list[ZoneWeekStatus]
    log_entries: int
    log_head: str
    zone_names: dict[str, str]
    requirement_titles: dict[str, str]
    chain: ChainState | None = None
    receivers: ReceiverSummary | None = None
    watching_receivers: bool = False
    fallback: tuple[Bulletin, ...] = ()
    compact: bool = False
    bulletin_titles: dict[str, str] = field(default_factory=dict)
    dead_air: tuple[alerts.AirAlert, ...] = ()  # the last week's silences on air, latest first

    @property
    def state_counts(self) -> list[tuple[str, int]]:
        """How many zone-requirement rows are in each state, in the order of concern."""
        order = ("failed", "not-met", "at-risk", "no-session", "on-track", "met")
        counts = Counter(r.state for r in self.status)
        return [(state, counts[state]) for state in order if counts[state]] + sorted(
            (state, n) for state, n in counts.items() if state not in order
        )

    @property
    def shown_zones(self) -> list[ZoneNow]:
        """The zones the page lists: all of them, or (compact) those on air."""
        if not self.compact:
            return self.zones
        return [z for z in self.zones if z.on_air or z.live][:COMPACT_ROWS]

    @property
    def zones_on_air(self) -> int:
        return sum(1 for z in self.zones if z.on_air or z.live)

    @property
    def shown_status(self) -> list[ZoneWeekStatus]:
        """The rows the page lists: all, or (compact) the ones needing attention."""
        if not self.compact:
            return self.status
        return [r for r in self.status if r.state in ATTENTION][:COMPACT_ROWS]

    @property
    def attention_rows(self) -> int:
        return sum(1 for r in self.status if r.state in ATTENTION)


def overview(
    ctx: StationContext,
    upcoming: int = 10,
    chain: ChainWatch | None = None,
    receiver_watch: ReceiverWatch | None = None,
) -> Overview:
    """What the dashboard shows now. It is polled every few seconds by every open
    browser, so it reads only what it shows: the airings on air, each zone's next one
    and the next few of all, over the coming fortnight (not every airing of it); the
    chain's new entries (``chain``) and the receivers' last known state
    (``receiver_watch``, refreshed in the background)."""
    now = ctx.clock.now()
    week = iso_week_of_instant(now, ctx.station.tz)
    until = now + timedelta(days=14)
    with ctx.db.read() as s:
        playing: dict[str, AiringRecord] = {}
        for a in airings.on_air(s):
            playing.setdefault(a.zone_id, a)
        first = airings.next_per_zone(s, now, until)
        planned = airings.coming_up(s, now, until, upcoming)
        speaking: dict[str, LiveNow] = {}
        for b in live.on_air(s):
            told = LiveNow(
                b.id or 0,
                b.speaker,
                as_utc(b.started_at) if b.started_at else None,
                as_utc(b.ends_by) if b.ends_by else None,
            )
            for zone_id in b.zones.split(","):
                speaking.setdefault(zone_id, told)
    zones = [
        ZoneNow(z.id, z.name, playing.get(z.id), first.get(z.id), speaking.get(z.id))
        for z in ctx.station.zones
    ]
    report = schedule.status(ctx, week)
    scripts = ctx.scripts()[0]
    return Overview(
        now=now,
        week=week,
        zones=zones,
        upcoming=planned,
        status=report.rows,
        log_entries=report.head_count,
        log_head=report.head_hash,
        zone_names={z.id: z.name for z in ctx.station.zones},
        requirement_titles={r.id: r.title or r.id for r in ctx.station.requirements},
        chain=chain.state(ctx) if chain is not None else None,
        receivers=receiver_watch.latest() if receiver_watch is not None else None,
        watching_receivers=receiver_watch is not None,
        fallback=tuple(approvals.fallback_approved(ctx, scripts)),
        bulletin_titles={b.id: b.title or b.id for b in scripts},
        compact=len(ctx.station.zones) > COMPACT_ABOVE_ZONES,
        dead_air=tuple(alerts.recent_alerts(ctx)),
    )


class SharedOverview:
    """One reading of the overview shared by every open dashboard for ``max_age`` seconds.

    Every open browser polls the dashboard every few seconds; the overview is the same
    for all of them, so eighty open dashboards need not read the station eighty times.
    Single flight: while one request reads, the others wait for its reading instead of
    starting their own. A change made through the same process (any form sent)
    :meth:`forget` drops the reading, so the page after an action shows the action; what
    another process writes (the daemon) is seen within ``max_age``."""

    def __init__(self, max_age: float = 1.0) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._view: Overview | None = None
        self._read_at = 0.0

    def get(self, read: Callable[[], Overview]) -> Overview:
        with self._lock:
            if self._view is not None and time.monotonic() - self._read_at < self.max_age:
                return self._view
            view = read()
            self._view, self._read_at = view, time.monotonic()
            return view

    def forget(self) -> None:
        with self._lock:
            self._view = None
