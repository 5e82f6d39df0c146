"""The pure parts of the reports: reporting periods and the past-week verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from stationkit import VN

from broadcaster.core.compliance import MET, NO_SESSION, NOT_MET, judge_past_week
from broadcaster.core.errors import UsageProblem
from broadcaster.core.model import Requirement
from broadcaster.reports.period import parse_period


@pytest.mark.parametrize(
    ("text", "first", "last", "title"),
    [
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), "6 tháng đầu năm 2026"),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31), "6 tháng cuối năm 2026"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "năm 2026"),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), "tháng 2/2026"),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), "tháng 2/2028"),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "quý IV năm 2026"),
        (
            "2026-W20",
            date(2026, 5, 11),
            date(2026, 5, 17),
            "tuần 20/2026 (từ 11/05 đến 17/05/2026)",
        ),
        (
            "2026-W53",
            date(2026, 12, 28),
            date(2027, 1, 3),
            "tuần 53/2026 (từ 28/12 đến 03/01/2027)",
        ),
    ],
)
def test_named_periods(text, first, last, title):
    p = parse_period(text, None, None, VN)
    assert (p.first, p.last, p.title) == (first, last, title)
    # Local midnight (UTC+7) as UTC instants, end exclusive.
    assert p.start == datetime(first.year, first.month, first.day, tzinfo=VN).astimezone(UTC)
    assert (p.end - p.start).days == (last - first).days + 1


def test_from_to_period_and_its_weeks_are_clipped():
    p = parse_period(None, "2026-11-01", "2026-11-30", VN)
    weeks = dict(p.weeks())
    assert list(weeks) == [f"2026-W{w}" for w in range(44, 50)]
    assert weeks["2026-W44"] == [date(2026, 11, 1)]  # a Sunday
    assert weeks["2026-W49"] == [date(2026, 11, 30)]  # a Monday
    assert p.months() == [(2026, 11)]


@pytest.mark.parametrize(
    "args",
    [
        ("2026-H3", None, None),
        ("2026-13", None, None),
        ("2025-W53", None, None),  # 2025 has 52 ISO weeks
        ("26-05", None, None),
        (None, "2026-11-30", "2026-11-01"),
        (None, "2026-11-01", None),
        ("2026", "2026-01-01", "2026-01-31"),
        (None, "2026-02-30", "2026-03-01"),
    ],
)
def test_bad_periods_are_usage_problems(args):
    with pytest.raises(UsageProblem) as err:
        parse_period(*args, VN)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


def _req(per: str = "week", min_: int = 2, **dates) -> Requirement:
    return Requirement("r", "", "nq57", min_, per, ("z",), dates.get("start"), dates.get("end"))


WEEK = [date(2026, 11, 23 + i) for i in range(7)]  # Mon..Sun of 2026-W48


def test_week_met_not_met_and_no_session():
    every_day = frozenset(range(7))
    assert judge_past_week(_req(), WEEK, every_day, lambda _d: 2).state == MET
    v = judge_past_week(_req(), WEEK, every_day, lambda _d: 1)
    assert (v.state, v.required, v.aired) == (NOT_MET, 2, 1)
    # Only the Monday is in the period and the zone has no Monday session.
    v = judge_past_week(_req(), WEEK[:1], frozenset({1, 2}), lambda _d: 0)
    assert (v.state, v.required) == (NO_SESSION, 0)


def test_daily_requirement_counts_each_day_with_a_session():
    req = _req("day", 1, start=date(2026, 11, 24), end=date(2026, 11, 26))
    aired = {date(2026, 11, 24): 3, date(2026, 11, 25): 0, date(2026, 11, 26): 1}

    def count(days):
        return sum(aired.get(d, 0) for d in days)

    v = judge_past_week(req, WEEK, frozenset(range(7)), count)
    # Three active days, one missed; three airings on Tuesday do not make up for Wednesday.
    assert (v.state, v.required, v.aired) == (NOT_MET, 3, 2)
    # No session on Wednesday: only Tuesday and Thursday are judged.
    v = judge_past_week(req, WEEK, frozenset({1, 3}), count)
    assert (v.state, v.required, v.aired, v.days) == (MET, 2, 2, (WEEK[1], WEEK[3]))


def test_requirement_outside_its_dates_does_not_apply():
    req = _req(start=date(2026, 12, 1))
    assert judge_past_week(req, WEEK, frozenset(range(7)), lambda _d: 0) is None
