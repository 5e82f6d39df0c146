"""Unit tests of the once-a-week rule, ``broadcaster.core.compliance.evaluate_week``.

Pure: a station built from the domain dataclasses, a list of ``AiringFact`` and an
explicit ``now``. The week is ISO 2026-W48 (Mon 23/11 to Sun 29/11/2026) in
Asia/Ho_Chi_Minh; every zone has a 06:00 and a 17:00 session each day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from stationkit import at

from broadcaster.core.compliance import (
    AT_RISK,
    FAILED,
    MET,
    ON_TRACK,
    AiringFact,
    ZoneWeekStatus,
    evaluate_week,
)
from broadcaster.core.model import (
    AiringStatus,
    Origin,
    QuietHours,
    Requirement,
    SessionRule,
    Station,
    Zone,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR, WEEK = 2026, 48
MONDAY = date(2026, 11, 23)
WED, THU, FRI = date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)

AIRED, PLANNED, PLAYING = AiringStatus.AIRED, AiringStatus.PLANNED, AiringStatus.PLAYING
FAILED_, MISSED = AiringStatus.FAILED, AiringStatus.MISSED


def make_station(*requirements: Requirement, zones: Iterable[str] = ("xa",)) -> Station:
    zones = tuple(zones)
    every_day = frozenset(range(7))
    return Station(
        id="test-xa",
        name="Đài truyền thanh xã Thử Nghiệm",
        timezone="Asia/Ho_Chi_Minh",
        tts=("espeak",),
        grace_minutes=20,
        quiet_hours=(QuietHours(time(21, 30), time(5, 0)),),
        outputs={},
        zones=tuple(Zone(z, f"Zone {z}", "cluster", "files") for z in zones),
        sessions=(
            SessionRule("sang", zones, every_day, time(6, 0), 10),
            SessionRule("chieu", zones, every_day, time(17, 0), 10),
        ),
        requirements=requirements
        or (Requirement("nq57-tuan", "NQ57 weekly", "nq57", 1, "week", zones),),
    )


def daily(date_from: date = WED, date_to: date = FRI) -> Requirement:
    return Requirement("cao-diem", "NQ57 daily", "nq57", 1, "day", ("xa",), date_from, date_to)


def fact(
    when: datetime,
    status: AiringStatus,
    origin: Origin = Origin.PLAN,
    zone: str = "xa",
    campaigns: Iterable[str] = ("nq57",),
) -> AiringFact:
    return AiringFact(zone, frozenset(campaigns), status, when, origin)


def evaluate(station: Station, facts: list[AiringFact], now: datetime) -> ZoneWeekStatus:
    """The one status row of a one-zone, one-requirement station."""
    [row] = evaluate_week(station, YEAR, WEEK, facts, now)
    assert row.week == "2026-W48"
    return row


# -- the four states ----------------------------------------------------------------------
def test_met_once_enough_has_aired():
    """One aired bulletin of the campaign meets a once-a-week rule, mid-week already."""
    row = evaluate(make_station(), [fact(at(0, 6), AIRED)], now=at(1, 9))
    assert (row.state, row.note) == (MET, "")
    assert (row.required, row.aired, row.planned) == (1, 1, 0)


def test_on_track_when_planned_airings_cover_it_and_nothing_went_wrong():
    """Nothing aired yet, one airing planned for Tuesday, Monday morning: on-track."""
    row = evaluate(make_station(), [fact(at(1, 6), PLANNED)], now=at(0, 5))
    assert (row.state, row.note) == (ON_TRACK, "")
    assert (row.aired, row.planned) == (0, 1)


def test_a_playing_airing_counts_as_planned():
    """An airing on the air right now is not aired yet, but it covers the week."""
    row = evaluate(make_station(), [fact(at(0, 6), PLAYING)], now=at(0, 6, 1))
    assert (row.state, row.planned) == (ON_TRACK, 1)


def test_at_risk_after_a_failure_with_a_make_up_planned():
    """Monday's airing failed and a make-up is booked for the evening: at-risk, and the note
    says a make-up is planned."""
    facts = [fact(at(0, 6), FAILED_), fact(at(0, 17), PLANNED, Origin.MAKEUP)]
    row = evaluate(make_station(), facts, now=at(0, 7))
    assert row.state == AT_RISK
    assert "make-up" in row.note
    assert (row.failed, row.makeups_planned, row.planned) == (1, 1, 1)


def test_at_risk_when_relying_on_plan_airings_after_a_miss():
    """A missed airing and another ordinary one planned: at-risk, the note names the failure."""
    facts = [fact(at(0, 6), MISSED), fact(at(2, 6), PLANNED)]
    row = evaluate(make_station(), facts, now=at(0, 7))
    assert row.state == AT_RISK
    assert row.note == "relies on planned airings after a failure"
    assert (row.missed, row.failed, row.makeups_planned) == (1, 0, 0)


def test_at_risk_when_too_little_is_planned():
    """Nothing aired or planned but sessions remain: at-risk, telling the operator to plan."""
    row = evaluate(make_station(), [], now=at(2, 12))
    assert row.state == AT_RISK
    assert row.note == "1 more airing(s) needed: run plan"


def test_failed_when_the_week_is_over_below_the_minimum():
    """The week has ended and nothing aired (a planned airing does not rescue it)."""
    next_monday = at(7, 0)
    row = evaluate(make_station(), [fact(at(6, 17), PLANNED)], now=next_monday)
    assert row.state == FAILED
    assert row.note == "week ended below the minimum"


def test_met_stays_met_after_the_week_is_over():
    """A week that met its rule is reported met, not failed, when looked back on."""
    row = evaluate(make_station(), [fact(at(3, 17), AIRED)], now=at(9, 12))
    assert row.state == MET


def test_failed_when_no_session_is_left_this_week():
    """Sunday 18:00, after the last session: nothing can still air this week."""
    row = evaluate(make_station(), [fact(at(6, 17), FAILED_)], now=at(6, 18))
    assert row.state == FAILED
    assert row.note == "no session left this week"
    assert row.failed == 1


# -- counting -----------------------------------------------------------------------------
def test_only_the_zones_own_airings_of_the_campaign_count():
    """Airings of another campaign, or on another zone, do not count for this one."""
    station = make_station(zones=("xa", "thon-a"))
    facts = [
        fact(at(0, 6), AIRED, zone="thon-a"),
        fact(at(0, 17), AIRED, zone="xa", campaigns=["chuyen-doi-so"]),
    ]
    rows = {r.zone: r for r in evaluate_week(station, YEAR, WEEK, facts, at(1, 12))}
    assert rows["thon-a"].state == MET
    assert (rows["xa"].state, rows["xa"].aired) == (AT_RISK, 0)


def test_a_tag_counts_as_the_campaign():
    """A bulletin tagged nq57 (its own campaign being another) counts for nq57."""
    row = evaluate(make_station(), [fact(at(0, 6), AIRED, campaigns=["cds", "nq57"])], at(0, 9))
    assert row.state == MET


def test_airings_in_another_week_do_not_count():
    """Weeks are local: Sunday 23:30 of the previous week does not count, Monday 00:30
    does, although in UTC it is still Sunday."""
    station = make_station()
    last_week = at(-1, 23, 30)
    row = evaluate(station, [fact(last_week, AIRED)], now=at(0, 1))
    assert row.aired == 0

    early_monday = at(0, 0, 30)
    assert early_monday.date() == date(2026, 11, 22)  # still Sunday in UTC
    row = evaluate(station, [fact(early_monday, AIRED)], now=at(0, 1))
    assert row.state == MET


def test_extra_airings_do_not_inflate_the_counts():
    """Aired and planned are capped at what the rule needs."""
    facts = [fact(at(0, 6), AIRED), fact(at(0, 17), AIRED), fact(at(1, 6), PLANNED)]
    row = evaluate(make_station(), facts, now=at(1, 0))
    assert (row.required, row.aired, row.planned, row.state) == (1, 1, 0, MET)


def test_per_day_requirement_counts_each_day_separately():
    """Daily Wednesday to Friday: three required; two airings on Wednesday count once,
    Monday's airing is outside the range, and Friday's planned airing covers Friday."""
    facts = [
        fact(at(0, 6), AIRED),  # Monday: outside the range
        fact(at(2, 6), AIRED),
        fact(at(2, 17), AIRED),  # second one on Wednesday
        fact(at(3, 6), AIRED),
        fact(at(4, 6), PLANNED),
    ]
    row = evaluate(make_station(daily()), facts, now=at(3, 12))
    assert row.requirement == "cao-diem"
    assert (row.required, row.aired, row.planned) == (3, 2, 1)
    assert row.state == ON_TRACK


def test_per_day_requirement_is_met_only_when_every_day_is():
    """Three airings all on Wednesday do not make a daily Wed–Fri requirement met."""
    facts = [fact(at(2, 6), AIRED), fact(at(2, 17), AIRED), fact(at(2, 17, 5), AIRED)]
    row = evaluate(make_station(daily()), facts, now=at(2, 18))
    assert (row.aired, row.state) == (1, AT_RISK)


def test_per_day_requirement_met_over_the_range():
    """One airing on each day of the range: met."""
    facts = [fact(at(d, 17), AIRED) for d in (2, 3, 4)]
    row = evaluate(make_station(daily()), facts, now=at(4, 18))
    assert (row.required, row.aired, row.state) == (3, 3, MET)


def test_requirement_outside_the_week_gives_no_row():
    """A dated requirement not active in the week is not evaluated at all."""
    station = make_station(daily(date(2026, 12, 1), date(2026, 12, 7)))
    assert evaluate_week(station, YEAR, WEEK, [], at(0, 9)) == []


def test_per_day_requirement_with_a_past_unmet_day_is_failed():
    """Daily Wed–Fri; Wednesday's airing was missed, it is Thursday noon: Wednesday can no
    longer be aired, so the requirement has failed."""
    facts = [fact(at(2, 6), MISSED), fact(at(3, 6), AIRED), fact(at(4, 6), PLANNED)]
    row = evaluate(make_station(daily()), facts, now=at(3, 12))
    assert row.state == FAILED


def test_dated_requirement_that_ended_unmet_is_failed():
    """'At least once, until Wednesday': on Thursday with nothing aired, it has failed."""
    req = Requirement("den-thu-tu", "until Wednesday", "nq57", 1, "week", ("xa",), None, WED)
    row = evaluate(make_station(req), [], now=at(3, 12))
    assert row.state == FAILED


def test_counts_beyond_the_minimum_are_kept_apart():
    """Three aired and two planned against a minimum of one: compliance counts one aired
    and nothing more to plan, and the totals say what really went out and is to come."""
    facts = [fact(at(d, 6), AIRED) for d in (0, 1, 2)] + [fact(at(d, 6), PLANNED) for d in (4, 5)]
    row = evaluate(make_station(), facts, now=at(3, 7))
    assert (row.aired, row.planned) == (1, 0)
    assert (row.aired_total, row.planned_total) == (3, 2)
    assert row.as_dict()["aired_total"] == 3
