"""Domain values: the station, its zones and sessions, bulletins, requirements and airings.

Plain frozen dataclasses so the planner and compliance rules stay pure and cheap to test;
validation from files happens in ``broadcaster.config``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo


class Priority(enum.StrEnum):
    """Thông tư 39/2020/TT-BTTTT's three priorities."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        """Lower plays first within a session."""
        return {"emergency": 0, "priority": 1, "normal": 2}[self.value]


class AiringStatus(enum.StrEnum):
    PLANNED = "planned"
    PLAYING = "playing"
    AIRED = "aired"
    FAILED = "failed"
    MISSED = "missed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self not in (AiringStatus.PLANNED, AiringStatus.PLAYING)

    def may_become(self, new: AiringStatus) -> bool:
        """Whether an airing in this state may move to ``new`` (:data:`TRANSITIONS`)."""
        return new in TRANSITIONS[self]

    def sources(self) -> frozenset[AiringStatus]:
        """The states an airing may reach this one from (:data:`TRANSITIONS`)."""
        return frozenset(s for s, reachable in TRANSITIONS.items() if self in reachable)


#: The moves an airing may make, and only these: booked -> on air -> an outcome, or booked
#: straight to an outcome (cancelled by an operator, missed, refused by the approval gate).
#: A final state never moves again: the as-run log entry written with it is the evidence.
TRANSITIONS: dict[AiringStatus, frozenset[AiringStatus]] = {
    AiringStatus.PLANNED: frozenset(
        {
            AiringStatus.PLAYING,
            AiringStatus.CANCELLED,
            AiringStatus.MISSED,
            AiringStatus.FAILED,
            AiringStatus.INTERRUPTED,
        }
    ),
    AiringStatus.PLAYING: frozenset(
        {AiringStatus.AIRED, AiringStatus.FAILED, AiringStatus.INTERRUPTED, AiringStatus.MISSED}
    ),
    AiringStatus.AIRED: frozenset(),
    AiringStatus.FAILED: frozenset(),
    AiringStatus.MISSED: frozenset(),
    AiringStatus.INTERRUPTED: frozenset(),
    AiringStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class AiringRecord:
    """One booked airing as the faces see it: plain, frozen data (the database row stays
    in ``store/``). Times are UTC; a face shows them in the station's time zone."""

    id: int
    zone_id: str
    bulletin_id: str
    campaign: str
    priority: str
    origin: str
    status: str
    scheduled_at: datetime
    window_end: datetime
    session_id: str | None
    week: str
    duration_seconds: float
    created_by: str
    reason: str = ""
    parent_id: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class ReceiverOutcome:
    """What one receiver of a networked zone did with an airing, as the faces see it
    (the row stays in ``store/``). Times are UTC."""

    log_seq: int
    airing_id: int | None
    zone_id: str
    receiver_id: str
    outcome: str
    reason: str
    started_at: datetime | None
    ended_at: datetime | None
    played_seconds: float | None
    scheduled_at: datetime | None


@dataclass(frozen=True)
class ApprovalRecord:
    """An approval as the faces see it: who vouched for exactly which script and audio
    bytes, and when (UTC)."""

    bulletin_id: str
    script_sha256: str
    audio_sha256: str
    approved_by: str
    approved_at: datetime


class Origin(enum.StrEnum):
    """Why an airing exists: the evidence must say who or what asked for it."""

    PLAN = "plan"
    QUEUE = "queue"
    MAKEUP = "makeup"
    RETRY = "retry"
    EMERGENCY = "emergency"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    kind: str  # "station" | "cluster"
    output: str


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, t: time) -> bool:
        """Quiet hours usually wrap midnight (21:30–05:00)."""
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def _memo(owner: object, name: str, build: Callable[[], Any]) -> Any:
    """A value derived once from a frozen dataclass and kept in its ``__dict__`` (not a
    field: equality, hashing and ``replace`` ignore it)."""
    cache = owner.__dict__
    if name not in cache:
        cache[name] = build()
    return cache[name]


def _by_zone(items: Iterable[Any]) -> dict[str, tuple[Any, ...]]:
    """Group session rules or requirements by each zone id they name, keeping order."""
    found: dict[str, list[Any]] = {}
    for item in items:
        for zid in item.zone_ids:
            found.setdefault(zid, []).append(item)
    return {zid: tuple(group) for zid, group in found.items()}


FILL_ROTATE = "rotate"  # fill the session up to its cap with the zone's current bulletins
FILL_MINIMUM = "minimum"  # book only what the requirements (and priority bulletins) need
FILLS = (FILL_ROTATE, FILL_MINIMUM)


@dataclass(frozen=True)
class SessionRule:
    """A weekly recurring broadcast window for some zones.

    ``fill`` says what the planner puts in it beyond the guaranteed minimum: ``rotate``
    (the default) fills it with the zone's bulletins in turn, ``minimum`` nothing more.
    """

    id: str
    zone_ids: tuple[str, ...]
    days: frozenset[int]  # 0 = Monday
    start: time
    max_minutes: int
    fill: str = FILL_ROTATE


@dataclass(frozen=True)
class Source:
    """A named upstream programme the station relays ("tiếp sóng"): an HTTP(S) stream
    (Icecast, HLS) or a sound-card input (``device:NAME``) for an FM or wired receiver."""

    id: str
    name: str
    url: str
    backup_url: str | None = None

    @property
    def is_device(self) -> bool:
        return self.url.startswith(DEVICE_PREFIX)


DEVICE_PREFIX = "device:"


@dataclass(frozen=True)
class RelayRule:
    """A weekly relay slot: ``source`` on some zones, [start, end) local time on ``days``.

    ``min_share`` is the share of the window that must actually be relayed for the
    window to count as aired."""

    id: str
    source_id: str
    zone_ids: tuple[str, ...]
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time  # after start, the same day
    min_share: float = 0.8

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


@dataclass(frozen=True)
class RelayWindow:
    """One occurrence of a relay slot for one zone: [start, end) in UTC."""

    zone_id: str
    relay_id: str
    source_id: str
    start: datetime
    end: datetime
    local_day: date
    min_share: float = 0.8

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def overlap_seconds(self, start: datetime, end: datetime) -> float:
        """How much of [start, end) this window takes up."""
        return max(0.0, (min(self.end, end) - max(self.start, start)).total_seconds())


@dataclass(frozen=True)
class Requirement:
    """'At least ``min`` aired bulletins of ``campaign`` per zone per week (or day)'."""

    id: str
    title: str
    campaign: str
    min: int
    per: str  # "week" | "day"
    zone_ids: tuple[str, ...]
    date_from: date | None = None
    date_to: date | None = None

    def active_on(self, day: date) -> bool:
        if self.date_from and day < self.date_from:
            return False
        return not (self.date_to and day > self.date_to)


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: str
    settings: dict[str, object] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class SilenceSettings:
    """Dead air (``silence:`` in station.yaml, optional): a level below ``threshold_dbfs``
    (RMS) for longer than ``min_seconds`` on what goes out is logged and raises an alert;
    ``hook`` is the station's command told of each alert (empty: none)."""

    threshold_dbfs: float = -50.0
    min_seconds: float = 10.0
    hook: tuple[str, ...] = ()
    hook_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class ReportSettings:
    """Who issues the evidence reports and what the plan asks for (``report:`` in station.yaml).

    Every field is optional: a station that never set them still gets a valid report, with
    the issuing body taken from its name and blanks where a clerk fills in by hand.
    """

    issuing_body: str | None = None
    parent_body: str | None = None
    number: str | None = None
    place: str | None = None
    signer_authority: str | None = None
    signer_title: str | None = None
    signer_name: str | None = None
    recipients: tuple[str, ...] = ()
    bulletins_per_month_min: int | None = None
    bulletins_per_month_max: int | None = None
    # The station's own words for itself and its clusters, as its documents say them.
    unit: str = "xã"  # xã | phường | thị trấn | đặc khu
    station_term: str = "đài truyền thanh xã"
    cluster_term: str = "thôn, xóm"  # tổ dân phố, khối, bản...


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    timezone: str
    tts: tuple[str, ...]
    grace_minutes: int
    quiet_hours: tuple[QuietHours, ...]
    outputs: dict[str, OutputSpec] = field(hash=False, compare=False)
    zones: tuple[Zone, ...]
    sessions: tuple[SessionRule, ...]
    requirements: tuple[Requirement, ...]
    dialect: str = "north"
    # Audio production and per-engine settings, validated by the loader; the core only
    # carries them to the speech adapters.
    production: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    engine_settings: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, hash=False, compare=False
    )
    report: ReportSettings = field(default_factory=ReportSettings, hash=False, compare=False)
    # Whether a bulletin's author may also approve it (issue 13); by default another must.
    authors_may_approve: bool = False
    # The language of the command line's messages ("vi" or "en"); reports are Vietnamese.
    language: str = "vi"
    # Upstream programmes by id, and the weekly windows in which zones relay them.
    sources: Mapping[str, Source] = field(default_factory=dict, hash=False, compare=False)
    relays: tuple[RelayRule, ...] = ()
    silence: SilenceSettings = field(default_factory=SilenceSettings, hash=False, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # Indexes by zone, built once per station: a station may have thousands of zones, and
    # scanning every session's or requirement's zone list for each zone is quadratic.
    @property
    def zones_by_id(self) -> Mapping[str, Zone]:
        return _memo(self, "_zones_by_id", lambda: {z.id: z for z in self.zones})

    @property
    def sessions_by_zone(self) -> Mapping[str, tuple[SessionRule, ...]]:
        """The session rules covering each zone, in the station's order."""
        return _memo(self, "_sessions_by_zone", lambda: _by_zone(self.sessions))

    @property
    def requirements_by_zone(self) -> Mapping[str, tuple[Requirement, ...]]:
        """The requirements applying to each zone, in the station's order."""
        return _memo(self, "_requirements_by_zone", lambda: _by_zone(self.requirements))

    @property
    def relays_by_zone(self) -> Mapping[str, tuple[RelayRule, ...]]:
        """The relay slots covering each zone, in the station's order."""
        return _memo(self, "_relays_by_zone", lambda: _by_zone(self.relays))

    def zone(self, zone_id: str) -> Zone:
        return self.zones_by_id[zone_id]

    @property
    def zone_ids(self) -> tuple[str, ...]:
        return tuple(z.id for z in self.zones)

    def session_weekdays(self, zone_id: str) -> frozenset[int]:
        """Weekdays (0 = Monday) on which the zone has at least one session."""
        return frozenset(d for rule in self.sessions_by_zone.get(zone_id, ()) for d in rule.days)

    def in_quiet_hours(self, local_time: time) -> QuietHours | None:
        for q in self.quiet_hours:
            if q.contains(local_time):
                return q
        return None


@dataclass(frozen=True)
class Bulletin:
    """A script as the officer wrote it, plus what is needed to prove what aired."""

    id: str
    title: str
    campaign: str
    tags: tuple[str, ...]
    priority: Priority
    valid_from: date | None
    valid_until: date | None
    zone_ids: tuple[str, ...]
    language: str
    body: str
    source_path: str
    script_sha256: str  # hash of the script file's bytes: editing it voids approval
    audio_file: str | None = None  # recorded bulletin (relative to the station)
    body_line: int = 1  # where the body starts in the file, for located warnings
    repeat: bool | None = None  # read twice; None: the station's production setting
    author: str | None = None  # who wrote it: may not approve it (authors_may_approve)

    @property
    def zone_set(self) -> frozenset[str]:
        """``zone_ids`` as a set: membership is asked once per zone when planning."""
        return _memo(self, "_zone_set", lambda: frozenset(self.zone_ids))

    def matches_campaign(self, campaign: str) -> bool:
        return self.campaign == campaign or campaign in self.tags

    def valid_on(self, day: date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_until and day > self.valid_until)

    @property
    def is_recorded(self) -> bool:
        return self.audio_file is not None


@dataclass(frozen=True)
class Slot:
    """One occurrence of a session for one zone: [start, end) in UTC."""

    zone_id: str
    session_id: str
    start: datetime
    end: datetime
    local_day: date

    @property
    def capacity_seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class Airing:
    """A bulletin booked on a zone at a time. Its final outcome lives in the as-run log."""

    id: int | None
    zone_id: str
    bulletin_id: str
    scheduled_at: datetime
    window_end: datetime
    session_id: str | None
    priority: Priority
    origin: Origin
    status: AiringStatus = AiringStatus.PLANNED
    duration_seconds: float = 0.0
    created_by: str = "planner"
    reason: str = ""
    parent_id: int | None = None
