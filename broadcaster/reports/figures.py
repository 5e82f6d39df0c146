"""Every figure of an evidence report, counted by the database.

The log can hold millions of entries (a year of a province's clusters), so nothing here
loads log rows into Python: each query groups in SQL and hands back at most one row per
zone × week × outcome (or per bulletin, per requirement day). Python then only adds those
small groups up and applies the weekly rule (``core.compliance.judge_past_week``). The
queries themselves are the store's (``store/reporting.py``); this module writes no SQL.

Which entries belong to the period is decided the same way as ``broadcaster log --from
--to``: by scheduled time (the recorded time for the rare entry without one), in the
station's local days.

Everything judged comes from the hashed log (issue 10): the outcome, and the campaigns,
ISO week and booked duration that ``StationEngine.close`` copies into each entry. The
``airing`` table, which the chain does not protect, supplies only airings still planned
(no outcome logged yet), shown as plans, never as outcomes; and, for entries written
before the log carried those fields ("legacy"), their campaign and week (counted and
said). Entries made under a clock that is not the real one (``clock`` set: simulated or
shifted) are counted apart and never as aired, unless the caller asks for them
(``include_unreal``: simulations, demos, tests), and every format says which it did.

A zone-week that is not over yet is "on track" or "at risk", never "not met"; a period
with nothing planned or logged says there is nothing to report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from broadcaster.core.compliance import (
    AT_RISK,
    MET,
    NO_SESSION,
    NOT_MET,
    ON_TRACK,
    WeekVerdict,
    judge_past_week,
)
from broadcaster.core.model import Bulletin, Requirement, Station
from broadcaster.core.timeutil import local_to_utc, to_local
from broadcaster.reports.period import Period
from broadcaster.store import aslog, reporting
from broadcaster.store.db import Database, Session

OUTCOMES = ("aired", "failed", "missed", "interrupted", "cancelled")
SETBACKS = ("failed", "missed", "interrupted", "cancelled")
NOT_APPLICABLE = "none"  # heat map: no requirement applies to that zone-week
NOT_OVER = (ON_TRACK, AT_RISK)  # a zone-week still running (or to come): not judged yet


@dataclass
class Counts:
    """Airings of a zone (or of everything) in the period."""

    planned: int = 0  # booked in the airing table, whatever became of them
    aired: int = 0
    failed: int = 0
    missed: int = 0
    interrupted: int = 0
    cancelled: int = 0
    pending: int = 0  # booked, no outcome yet (still planned or playing)
    requested_minutes: float = 0.0  # booked airtime, cancelled airings left out
    actual_minutes: float = 0.0  # started -> ended of aired and interrupted airings
    # Relays (issue 16), beside the bulletins: windows logged, those aired, minutes that
    # really went out (the log's relayed seconds), minutes of the windows.
    relay_windows: int = 0
    relays_aired: int = 0
    relay_minutes: float = 0.0
    relay_window_minutes: float = 0.0
    # Live broadcasts (issue 16): each one's entry in the zone, and the minutes of the
    # speaker that really went out there.
    live_broadcasts: int = 0
    live_minutes: float = 0.0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ZoneFigures:
    zone_id: str
    name: str
    kind: str
    counts: Counts
    weeks_judged: int  # zone-weeks with a requirement and a session
    weeks_met: int
    weeks_no_session: int


@dataclass
class ZoneWeek:
    zone_id: str
    zone_name: str
    week: str
    first_day: date
    last_day: date
    state: str  # met | not-met | no-session
    required: int
    aired: int
    reasons: list[str] = field(default_factory=list)


@dataclass
class RequirementFigures:
    id: str
    title: str
    campaign: str
    min: int
    per: str
    judged: int  # zone-weeks with a session
    met: int
    no_session: int
    share_met: float | None  # met / judged, the plan's headline indicator
    zone_weeks: list[ZoneWeek]  # every zone-week the requirement applies to
    not_over: int = 0  # zone-weeks not over yet (on track or at risk), not in ``judged``

    @property
    def not_met(self) -> list[ZoneWeek]:
        return [z for z in self.zone_weeks if z.state == NOT_MET]

    @property
    def at_risk(self) -> list[ZoneWeek]:
        return [z for z in self.zone_weeks if z.state == AT_RISK]


@dataclass
class WeekFigures:
    week: str
    first_day: date
    last_day: date
    aired: int
    setbacks: int  # failed + missed + interrupted + cancelled


@dataclass
class BulletinFigures:
    bulletin_id: str
    title: str
    campaign: str
    aired: int
    zones_reached: int
    setbacks: int


@dataclass
class MonthFigures:
    month: str  # "2026-05"
    produced: int
    bulletin_ids: list[str]
    target_min: int | None
    target_max: int | None
    met: bool | None  # None when the station set no target


@dataclass
class EmergencyFigures:
    bulletin_id: str
    title: str
    scheduled_at: datetime  # local
    zones: int
    aired: int
    setbacks: int


@dataclass
class ReportFigures:
    station_id: str
    station_name: str
    timezone: str
    period_key: str
    period_title: str
    first_day: date
    last_day: date
    generated_at: datetime  # local
    zone_ids: list[str]
    zones_total: int
    zones_covered: int  # zones with at least one aired airing
    totals: Counts
    share_met: float | None  # every requirement's zone-weeks together
    zone_weeks_judged: int
    zone_weeks_met: int
    requirements: list[RequirementFigures]
    zones: list[ZoneFigures]
    weeks: list[WeekFigures]
    heatmap: dict[str, dict[str, str]]  # zone -> week -> met | not-met | no-session | none
    bulletins: list[BulletinFigures]
    months: list[MonthFigures]
    emergencies: list[EmergencyFigures]
    emergencies_aired: int
    log_entries_in_period: int
    log_head_count: int
    log_head_hash: str
    # Nothing planned and nothing logged in the period for these zones: nothing to report.
    empty: bool = False
    zone_weeks_not_over: int = 0  # on track or at risk: the period is not over for them
    # Entries made under a clock that is not the real one (simulated, shifted):
    include_unreal: bool = False  # True: counted like the others (never for evidence)
    unreal_in_period: dict[str, int] = field(default_factory=dict)  # outcome -> entries
    unreal_in_database: dict[str, int] = field(default_factory=dict)  # clock kind -> entries
    legacy_in_period: int = 0  # entries whose campaign and week came from the airing table

    # The station key (docs/SECURITY.md): its public half, and the head above signed by
    # it at ``generated_at`` (an exported-head object), for ``log verify --against``.
    station_public_key: str = ""
    log_head_signed: dict[str, Any] | None = None

    @property
    def unreal_count(self) -> int:
        return sum(self.unreal_in_period.values())


def _day_start(day: date, station: Station) -> datetime:
    return local_to_utc(day, datetime.min.time(), station.tz)


def _window(req: Requirement, period: Period, station: Station) -> tuple[datetime, datetime]:
    start, end = period.start, period.end
    if req.date_from:
        start = max(start, _day_start(req.date_from, station))
    if req.date_to:
        end = min(end, _day_start(req.date_to + timedelta(days=1), station))
    return start, end


def compute(
    db: Database,
    station: Station,
    period: Period,
    zone_ids: Sequence[str],
    bulletins: Sequence[Bulletin],
    now: datetime,
    *,
    include_unreal: bool = False,
) -> ReportFigures:
    """All figures of the period. The two big groupings (log by zone x week x outcome,
    log by bulletin) run at once on two connections: SQLite sorts to group, a year of a
    province is a million rows, and the machine has two cores.

    ``include_unreal`` counts entries made under a simulated or shifted clock like real
    ones (simulations, demos, tests); by default they are counted apart only."""
    tz = station.tz
    zones = [station.zone(z) for z in zone_ids]
    selected = set(zone_ids)
    catalogue = {b.id: b for b in bulletins}
    weekly = [r for r in station.requirements if r.per == "week"]
    halves = _split(period, station)
    with db.read() as s:
        unreal_db = aslog.unreal_counts(s)  # an index range: cheap, and usually empty
    only_real = bool(unreal_db) and not include_unreal
    with ThreadPoolExecutor(max_workers=2) as pool:
        mains = [
            pool.submit(_job, db, _main_groups, a, b, weekly, period, station, only_real)
            for a, b in halves
        ]
        bulletin_job = pool.submit(_job, db, _bulletin_groups, period, only_real)
        with db.read() as s:
            pending = _pending(s, station, period)
            daily = _daily(s, station, period, only_real)
            months = _months(s, period, station)
            count, head_hash = aslog.head(s)
            unreal_period = _unreal_in_period(s, period, selected) if unreal_db else {}
            relay_rows = reporting.relay_groups(s, period.start, period.end, only_real)
            live_rows = reporting.live_groups(s, period.start, period.end, only_real)
        main_rows = [row for job in mains for row in job.result()]
        bulletin_rows = [r for r in bulletin_job.result() if r[2] in selected]

    # 1. The log by zone x week x outcome, with each weekly requirement's own count.
    per_zone: dict[str, Counts] = defaultdict(Counts)
    per_week: dict[str, Counter[str]] = defaultdict(Counter)
    # (zone, week, outcome) -> (count, sample reason, {requirement id: count of its campaign})
    groups: dict[tuple[str, str, str], tuple[int, str, dict[str, int]]] = {}
    booked: dict[tuple[str, str], int] = defaultdict(int)
    log_in_period = 0
    # Emergency occurrences come out of the same grouping (key ``e``: "bulletin instant").
    occurrences: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    legacy_in_period = 0
    for row in main_rows:
        week, zone_id, outcome, emergency, n, seconds, requested, reason, legacy = row[:9]
        if zone_id not in selected:
            continue
        legacy_in_period += int(legacy or 0)
        if emergency is not None:
            bid, _sep, at = str(emergency).partition(" ")
            occurrences[(bid, at)][outcome] += n
        log_in_period += n
        counts = per_zone[zone_id]
        counts.planned += n
        if outcome in OUTCOMES:
            setattr(counts, outcome, getattr(counts, outcome) + n)
        counts.actual_minutes += (seconds or 0.0) / 60.0
        counts.requested_minutes += (requested or 0.0) / 60.0
        if week is None:
            continue
        booked[(zone_id, week)] += n
        per_week[week][outcome] += n
        mine = {req.id: int(v or 0) for req, v in zip(weekly, row[9:], strict=True)}
        key = (zone_id, week, outcome)
        if key in groups:  # the same zone-week-outcome split by emergency occurrence
            n0, reason0, mine0 = groups[key]
            n += n0
            reason = min(filter(None, (reason0, reason)), default="")
            mine = {k: v + mine0[k] for k, v in mine.items()}
        groups[key] = (n, reason or "", mine)
    # 1b. Relay windows (their own entries, left out of the airings' groupings above).
    for zone_id, outcome, n, relayed, window in relay_rows:
        if zone_id not in selected:
            continue
        counts = per_zone[zone_id]
        counts.relay_windows += n
        counts.relays_aired += n if outcome == "aired" else 0
        counts.relay_minutes += relayed / 60.0
        counts.relay_window_minutes += window / 60.0
    # 1c. Live broadcasts (their own entries too).
    for zone_id, _outcome, n, relayed, _duration in live_rows:
        if zone_id not in selected:
            continue
        per_zone[zone_id].live_broadcasts += n
        per_zone[zone_id].live_minutes += relayed / 60.0
    own_content = any(r[0] in selected for r in (*relay_rows, *live_rows))
    # 2. Airings booked that have no outcome yet (no log entry): still planned or playing.
    # Plans, from the airing table: they never count as aired, only as "to come".
    planned_for: dict[tuple[str, str, str], int] = defaultdict(int)  # (zone, week, req id)
    for zone_id, week, n, requested, *by_req in pending:
        if zone_id not in selected:
            continue
        counts = per_zone[zone_id]
        counts.planned += n
        counts.pending += n
        counts.requested_minutes += (requested or 0.0) / 60.0
        booked[(zone_id, week)] += n
        for req, v in zip(station.requirements, by_req, strict=True):
            planned_for[(zone_id, week, req.id)] += int(v or 0)

    # 4. The weekly rule, zone-week by zone-week (pure; the counts come from 1 and 3).
    weeks = period.weeks()
    heat: dict[str, dict[str, str]] = {z.id: {} for z in zones}
    req_figs: list[RequirementFigures] = []
    judged_by_zone: dict[str, list[str]] = defaultdict(list)
    for req in station.requirements:
        met = judged = no_session = not_over = 0
        zone_weeks: list[ZoneWeek] = []
        for zone in zones:
            if zone.id not in req.zone_ids:
                continue
            session_days = station.session_weekdays(zone.id)
            for week, days in weeks:
                verdict = judge_past_week(
                    req, days, session_days, _counter(req, zone.id, week, groups, daily)
                )
                if verdict is None:
                    continue
                if verdict.state == NOT_MET and not _over(days, station, now):
                    verdict = _running(verdict, planned_for[(zone.id, week, req.id)])
                heat[zone.id][week] = _combine(heat[zone.id].get(week), verdict.state)
                if verdict.state == NO_SESSION:
                    no_session += 1
                elif verdict.state in NOT_OVER:
                    not_over += 1
                else:
                    judged += 1
                    met += verdict.state == MET
                reasons = (
                    _reasons(req, zone.id, week, verdict, groups, booked, daily)
                    if verdict.state == NOT_MET
                    else []
                )
                zone_weeks.append(
                    ZoneWeek(
                        zone.id,
                        zone.name,
                        week,
                        days[0],
                        days[-1],
                        verdict.state,
                        verdict.required,
                        verdict.aired,
                        reasons,
                    )
                )
        req_figs.append(
            RequirementFigures(
                req.id,
                req.title,
                req.campaign,
                req.min,
                req.per,
                judged,
                met,
                no_session,
                met / judged if judged else None,
                zone_weeks,
                not_over,
            )
        )
    for zone in zones:
        for week, _days in weeks:
            heat[zone.id].setdefault(week, NOT_APPLICABLE)
            judged_by_zone[zone.id].append(heat[zone.id][week])

    zone_figs = []
    totals = Counts()
    for zone in zones:
        counts = per_zone.get(zone.id, Counts())
        totals.add(counts)
        states = judged_by_zone[zone.id]
        zone_figs.append(
            ZoneFigures(
                zone.id,
                zone.name,
                zone.kind,
                counts,
                sum(1 for s in states if s in (MET, NOT_MET)),
                states.count(MET),
                states.count(NO_SESSION),
            )
        )
    judged_all = sum(r.judged for r in req_figs)
    met_all = sum(r.met for r in req_figs)
    empty = log_in_period == 0 and totals.pending == 0 and not own_content
    if empty:  # nothing planned, nothing logged: no zone-week "failed", there is no data
        judged_all = met_all = 0
        for fig in req_figs:
            fig.judged = fig.met = 0
            fig.share_met = None
            fig.zone_weeks = [zw for zw in fig.zone_weeks if zw.state == NO_SESSION]
        for zf in zone_figs:
            zf.weeks_judged = zf.weeks_met = 0
        heat = {z: {w: NOT_APPLICABLE for w in cells} for z, cells in heat.items()}

    week_figs = [
        WeekFigures(
            w, days[0], days[-1], per_week[w]["aired"], sum(per_week[w][o] for o in SETBACKS)
        )
        for w, days in weeks
    ]
    emergencies = _emergencies(occurrences, catalogue, station)
    return ReportFigures(
        station_id=station.id,
        station_name=station.name,
        timezone=station.timezone,
        period_key=period.key,
        period_title=period.title,
        first_day=period.first,
        last_day=period.last,
        generated_at=to_local(now, tz).replace(microsecond=0),
        zone_ids=list(zone_ids),
        zones_total=len(zones),
        zones_covered=sum(1 for z in zone_figs if z.counts.aired > 0),
        totals=totals,
        share_met=met_all / judged_all if judged_all else None,
        zone_weeks_judged=judged_all,
        zone_weeks_met=met_all,
        requirements=req_figs,
        zones=zone_figs,
        weeks=week_figs,
        heatmap=heat,
        bulletins=_bulletins(bulletin_rows, catalogue),
        months=months,
        emergencies=emergencies,
        emergencies_aired=sum(e.aired for e in emergencies),
        log_entries_in_period=log_in_period,
        log_head_count=count,
        log_head_hash=head_hash,
        empty=empty,
        zone_weeks_not_over=0 if empty else sum(r.not_over for r in req_figs),
        include_unreal=include_unreal,
        unreal_in_period=unreal_period,
        unreal_in_database=unreal_db,
        legacy_in_period=legacy_in_period,
    )


def _over(days: list[date], station: Station, now: datetime) -> bool:
    """Whether the days of a zone-week inside the period have all passed."""
    return now >= _day_start(days[-1] + _ONE, station)


def _running(verdict: WeekVerdict, planned: int) -> WeekVerdict:
    """A zone-week not over yet and short so far: on track if what is planned covers the
    rest, else at risk. Never "not met": the week can still be met."""
    state = ON_TRACK if verdict.aired + planned >= verdict.required else AT_RISK
    return WeekVerdict(state, verdict.required, verdict.aired, verdict.days)


def _unreal_in_period(s: Session, period: Period, selected: set[str]) -> dict[str, int]:
    """Entries of the period made under a clock that is not the real one, by outcome."""
    found: Counter[str] = Counter()
    for zone_id, outcome, n in reporting.unreal_in_period(s, period.start, period.end):
        if zone_id in selected:
            found[outcome] += n
    return dict(sorted(found.items()))


_ONE = timedelta(days=1)


def _job(db: Database, fn, *args):
    with db.read() as s:
        return fn(s, *args)


def _split(period: Period, station: Station) -> list[tuple[datetime, datetime]]:
    """The period cut in two at a Monday, so no zone-week is split between the halves."""
    weeks = period.weeks()
    if len(weeks) < 4:
        return [(period.start, period.end)]
    middle = weeks[len(weeks) // 2][1][0]
    cut = _day_start(middle, station)
    return [(period.start, cut), (cut, period.end)]


def _main_groups(
    s: Session,
    start: datetime,
    end: datetime,
    weekly: list[Requirement],
    period: Period,
    station: Station,
    only_real: bool = False,
) -> list[tuple]:
    """The log by zone x week x outcome (x emergency occurrence), with each weekly
    requirement's own count in its window (``reporting.log_groups``)."""
    windows = [(req.campaign, *_window(req, period, station)) for req in weekly]
    return reporting.log_groups(s, start, end, windows, only_real)


def _bulletin_groups(s: Session, period: Period, only_real: bool = False) -> list[tuple]:
    """By bulletin x outcome x zone (``reporting.bulletin_groups``)."""
    return reporting.bulletin_groups(s, period.start, period.end, only_real)


def _pending(s: Session, station: Station, period: Period) -> list[tuple]:
    """Booked airings without an outcome, per zone-week, with per requirement how many of
    them count for its campaign: what a week not over yet can still air."""
    campaigns = [req.campaign for req in station.requirements]
    return reporting.pending_groups(s, period.start, period.end, campaigns)


def _daily(
    s: Session, station: Station, period: Period, only_real: bool = False
) -> dict[str, dict[tuple[str, date], int]]:
    """Daily requirements: aired per zone x local day of the requirement's window."""
    tz = station.tz
    daily: dict[str, dict[tuple[str, date], int]] = {}
    for req in station.requirements:
        if req.per != "day":
            continue
        start, end = _window(req, period, station)
        days = _days_between(to_local(start, tz).date(), to_local(end, tz).date())
        buckets = [
            (d.isoformat(), _day_start(d, station), _day_start(d + _ONE, station)) for d in days
        ]
        found: dict[tuple[str, date], int] = {}
        for zone_id, day, n in reporting.aired_by_day(
            s, req.campaign, start, end, buckets, only_real
        ):
            found[(zone_id, date.fromisoformat(day))] = n
        daily[req.id] = found
    return daily


def _days_between(first: date, end: date) -> list[date]:
    """Local days from ``first`` up to, not including, ``end``."""
    out = []
    while first < end:
        out.append(first)
        first += _ONE
    return out


def _counter(req, zone_id, week, groups, daily):
    """How ``judge_past_week`` asks for the zone's aired count on some days."""
    if req.per == "day":
        found = daily[req.id]
        return lambda days: sum(found.get((zone_id, d), 0) for d in days)
    aired = groups.get((zone_id, week, "aired"))
    n = aired[2][req.id] if aired else 0
    return lambda _days: n


def _combine(previous: str | None, state: str) -> str:
    """One heat-map cell for all requirements: any miss shows, then any success."""
    order = {NOT_MET: 0, AT_RISK: 1, ON_TRACK: 2, MET: 3, NO_SESSION: 4}
    if previous is None:
        return state
    return min(previous, state, key=order.__getitem__)


OUTCOME_VI = {
    "failed": "thất bại",
    "missed": "bị bỏ lỡ",
    "interrupted": "bị ngắt",
    "cancelled": "bị hủy",
}


def _reasons(req, zone_id, week, verdict, groups, booked, daily) -> list[str]:
    """Why a zone-week fell short, in the words of the log."""
    reasons = []
    if req.per == "day":
        short = [d for d in verdict.days if daily[req.id].get((zone_id, d), 0) < req.min]
        reasons.append(
            "chưa đủ {n} lượt/ngày vào các ngày {days}".format(
                n=req.min, days=", ".join(d.strftime("%d/%m") for d in short)
            )
        )
    else:
        reasons.append(f"đã phát {verdict.aired}/{verdict.required} lượt yêu cầu trong tuần")
    if not booked.get((zone_id, week)):
        reasons.append("không có lượt phát nào được lên lịch cho cụm loa trong tuần")
    for outcome in SETBACKS:
        found = groups.get((zone_id, week, outcome))
        if not found:
            continue
        n, sample, by_req = found
        mine = by_req.get(req.id, n) if req.per == "week" else n
        if mine:
            reasons.append(f"{mine} lượt {OUTCOME_VI[outcome]}: {sample}")
    return reasons


def _bulletins(rows, catalogue) -> list[BulletinFigures]:
    found: dict[str, BulletinFigures] = {}
    reached: dict[str, set[str]] = defaultdict(set)
    for bid, outcome, zone_id, n in rows:
        b = catalogue.get(bid)
        fig = found.setdefault(
            bid, BulletinFigures(bid, b.title if b else bid, b.campaign if b else "", 0, 0, 0)
        )
        if outcome == "aired":
            fig.aired += n
            reached[bid].add(zone_id)
        elif outcome in SETBACKS:
            fig.setbacks += n
    for bid, fig in found.items():
        fig.zones_reached = len(reached[bid])
    return sorted(found.values(), key=lambda f: (-f.aired, f.bulletin_id))


def _local(value, tz) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_local(value, tz).replace(tzinfo=None, microsecond=0)


def _emergencies(occurrences, catalogue, station) -> list[EmergencyFigures]:
    out = []
    for (bid, at), outcomes in occurrences.items():
        b = catalogue.get(bid)
        out.append(
            EmergencyFigures(
                bid,
                b.title if b else bid,
                _local(at, station.tz),
                sum(outcomes.values()),  # one entry per zone and emergency
                outcomes["aired"],
                sum(outcomes[o] for o in SETBACKS),
            )
        )
    return sorted(out, key=lambda e: (e.scheduled_at, e.bulletin_id))


def _months(session, period: Period, station: Station) -> list[MonthFigures]:
    """Bulletins produced per month: a bulletin counts in the month of its first approval
    (leadership's approval is when a script becomes a product that may air)."""
    tz = station.tz
    by_month: dict[str, list[str]] = defaultdict(list)
    for bid, first in reporting.first_approvals(session):
        day = _local(first, tz)
        if day is not None and period.first <= day.date() <= period.last:
            by_month[f"{day:%Y-%m}"].append(bid)
    lo, hi = station.report.bulletins_per_month_min, station.report.bulletins_per_month_max
    out = []
    for y, m in period.months():
        key = f"{y}-{m:02d}"
        ids = sorted(by_month.get(key, []))
        out.append(MonthFigures(key, len(ids), ids, lo, hi, None if lo is None else len(ids) >= lo))
    return out
