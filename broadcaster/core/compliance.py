"""The once-a-week rule, evaluated per zone and requirement for one ISO week.

States, in the words operators use:
* ``met``: enough aired already;
* ``on-track``: aired + still planned covers it and nothing has gone wrong;
* ``at-risk``: it depends on airings not yet made after a failure, or too little is planned;
* ``failed``: the week is over, or no session is left that could still cover it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from broadcaster.core.model import AiringStatus, Origin, Requirement, Station
from broadcaster.core.planner import requirements_for
from broadcaster.core.sessions import zone_days_left
from broadcaster.core.timeutil import to_local, week_bounds_utc, week_days
from broadcaster.i18n import _

MET, ON_TRACK, AT_RISK, FAILED = "met", "on-track", "at-risk", "failed"
# A past week, as the twice-yearly report judges it.
NOT_MET, NO_SESSION = "not-met", "no-session"


@dataclass(frozen=True)
class AiringFact:
    zone_id: str
    campaigns: frozenset[str]
    status: AiringStatus
    scheduled_at: datetime
    origin: Origin


@dataclass
class ZoneWeekStatus:
    zone: str
    requirement: str
    week: str
    required: int
    aired: int
    planned: int
    failed: int
    missed: int
    makeups_planned: int
    state: str
    note: str = ""
    # Uncapped counts: ``aired`` and ``planned`` above count towards the minimum only (a
    # zone that aired 5 of a required 2 shows 2), which is what compliance means; an
    # operator also wants to see everything that went out and is still to go.
    aired_total: int = 0
    planned_total: int = 0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def evaluate_week(
    station: Station, year: int, week: int, facts: list[AiringFact], now: datetime
) -> list[ZoneWeekStatus]:
    """Each zone's state for each requirement that applies to it in the week.

    Linear in zones and facts: the days that still have a session are computed once per
    set of session rules, and each fact's local day once (not per requirement and day
    group)."""
    tz = station.tz
    days = week_days(year, week)
    _, week_end = week_bounds_utc(year, week, tz)
    by_zone: dict[str, list[tuple[AiringFact, date]]] = defaultdict(list)
    for f in facts:
        by_zone[f.zone_id].append((f, _day(f, tz)))
    label = f"{year}-W{week:02d}"
    days_left_of = zone_days_left(station, year, week, now)
    out: list[ZoneWeekStatus] = []
    for zone in station.zones:
        days_left = days_left_of.get(zone.id, frozenset())
        zone_facts = by_zone.get(zone.id, [])
        for req in requirements_for(station, zone.id, days):
            active = [d for d in days if req.active_on(d)]
            active_set = set(active)
            relevant = [
                (f, day)
                for f, day in zone_facts
                if req.campaign in f.campaigns and day in active_set
            ]
            groups = [[d] for d in active] if req.per == "day" else [active]
            required = aired = planned = 0
            aired_total = planned_total = 0
            lost: list[date] = []  # groups that can no longer be met
            for group in groups:
                gset = set(group)
                here = [f for f, day in relevant if day in gset]
                a = sum(1 for f in here if f.status == AiringStatus.AIRED)
                p = sum(1 for f in here if f.status in (AiringStatus.PLANNED, AiringStatus.PLAYING))
                required += req.min
                aired_total += a
                planned_total += p
                aired += min(a, req.min)
                planned += min(p, max(req.min - a, 0))
                if a + p < req.min and not (gset & days_left):
                    lost.append(group[-1])
            failed = sum(
                1
                for f, _d in relevant
                if f.status in (AiringStatus.FAILED, AiringStatus.INTERRUPTED)
            )
            missed = sum(1 for f, _d in relevant if f.status == AiringStatus.MISSED)
            makeups = sum(
                1
                for f, _d in relevant
                if f.origin in (Origin.MAKEUP, Origin.RETRY) and f.status == AiringStatus.PLANNED
            )
            state, note = _state(
                required, aired, planned, failed + missed, makeups, now >= week_end, lost, req.per
            )
            out.append(
                ZoneWeekStatus(
                    zone.id,
                    req.id,
                    label,
                    required,
                    aired,
                    planned,
                    failed,
                    missed,
                    makeups,
                    state,
                    note,
                    aired_total,
                    planned_total,
                )
            )
    return out


def _day(f: AiringFact, tz) -> date:
    return to_local(f.scheduled_at, tz).date()


def _state(
    required: int,
    aired: int,
    planned: int,
    problems: int,
    makeups: int,
    week_over: bool,
    lost: list[date],
    per: str,
) -> tuple[str, str]:
    if aired >= required:
        return MET, ""
    if week_over:
        return FAILED, _("week ended below the minimum")
    if lost and per == "week":
        return FAILED, _("no session left this week")
    if lost:
        return FAILED, _("no session left to cover {day}").format(
            day=", ".join(d.strftime("%d/%m") for d in lost)
        )
    if aired + planned >= required:
        if makeups:
            return AT_RISK, _("make-up planned ({n})").format(n=makeups)
        if problems:
            return AT_RISK, _("relies on planned airings after a failure")
        return ON_TRACK, ""
    return AT_RISK, _("{n} more airing(s) needed: run plan").format(n=required - aired - planned)


@dataclass(frozen=True)
class WeekVerdict:
    """A finished zone-week for one requirement, as the evidence report states it."""

    state: str  # MET | NOT_MET | NO_SESSION
    required: int
    aired: int
    days: tuple[date, ...]  # the days judged: active, inside the period, with a session


def judge_past_week(
    req: Requirement,
    days: list[date],
    session_weekdays: frozenset[int],
    aired_in: Callable[[list[date]], int],
) -> WeekVerdict | None:
    """The same counting as :func:`evaluate_week` (``min`` per week, or per day for daily
    requirements; extra airings on one day do not make up for another), applied to the
    ``days`` of one ISO week that fall inside a reporting period, after the fact.

    A zone that had no session on any of those days could not have aired: that week is
    "no session", not a failure. ``aired_in(days)`` counts the zone's aired airings of the
    requirement's campaign on those days (the caller counts them in the database). None
    when the requirement does not apply on any of the days.
    """
    active = [d for d in days if req.active_on(d)]
    if not active:
        return None
    on_air = [d for d in active if d.weekday() in session_weekdays]
    if not on_air:
        return WeekVerdict(NO_SESSION, 0, 0, ())
    groups = [[d] for d in on_air] if req.per == "day" else [active]
    required = aired = 0
    for group in groups:
        required += req.min
        aired += min(aired_in(group), req.min)
    return WeekVerdict(MET if aired >= required else NOT_MET, required, aired, tuple(on_air))
