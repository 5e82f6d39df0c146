"""Reporting periods as report writers name them: a half-year, a year, a quarter, a month,
an ISO week, or any span of local days. Pure: the caller supplies the time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from broadcaster.core.errors import FieldProblem
from broadcaster.core.timeutil import local_to_utc, parse_local_date, week_label
from broadcaster.i18n import _

_PERIOD_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|W(?P<week>\d{2})|(?P<month>\d{2})))?$"
)
PERIOD_HELP = "2026, 2026-H1, 2026-H2, 2026-Q2, 2026-05 or 2026-W20"


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (inclusive) and the same span as UTC instants."""

    key: str  # "2026-H1", "2026-05", "2026-11-01..2026-11-30"
    title: str  # Vietnamese, for the report's title: "6 tháng đầu năm 2026"
    first: date
    last: date
    start: datetime  # UTC, first day 00:00 local
    end: datetime  # UTC, the day after ``last`` 00:00 local (exclusive)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def weeks(self) -> list[tuple[str, list[date]]]:
        """ISO weeks touching the period, each with its days inside the period."""
        found: dict[str, list[date]] = {}
        day = self.first
        while day <= self.last:
            y, w, _ = day.isocalendar()
            found.setdefault(week_label(y, w), []).append(day)
            day += timedelta(days=1)
        return list(found.items())

    def months(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        y, m = self.first.year, self.first.month
        while (y, m) <= (self.last.year, self.last.month):
            out.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def parse_period(
    text: str | None, date_from: str | None, date_to: str | None, tz: ZoneInfo
) -> Period:
    """``--period`` or ``--from``/``--to`` (local days, inclusive), never both."""
    if text and (date_from or date_to):
        raise FieldProblem(_("give either --period or --from/--to, not both"), field="period")
    if text:
        first, last, title = _named(text.strip())
        key = text.strip()
    elif date_from and date_to:
        first = parse_local_date(date_from, "from")
        last = parse_local_date(date_to, "to")
        if last < first:
            raise FieldProblem(
                _("{last} is before --from {first}").format(
                    last=last.isoformat(), first=first.isoformat()
                ),
                field="to",
            )
        key = f"{first.isoformat()}..{last.isoformat()}"
        title = f"từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y}"
    else:
        raise FieldProblem(
            _("give a period ({examples}) or both --from and --to").format(examples=PERIOD_HELP),
            field="period",
        )
    if (last - first).days > 366 * 5:
        raise FieldProblem(_("at most five years at a time"), field="period")
    start = local_to_utc(first, time(0), tz)
    end = local_to_utc(last + timedelta(days=1), time(0), tz)
    return Period(key, title, first, last, start, end)


def _named(text: str) -> tuple[date, date, str]:
    m = _PERIOD_RE.match(text)
    if not m:
        raise FieldProblem(
            _("'{text}' is not a period like {examples}").format(text=text, examples=PERIOD_HELP),
            field="period",
        )
    year = int(m.group("year"))
    if not 2000 <= year <= 2999:
        raise FieldProblem(
            _("'{text}': year {year} is out of range").format(text=text, year=year), field="period"
        )
    if m.group("half"):
        half = int(m.group("half"))
        if half == 1:
            return date(year, 1, 1), date(year, 6, 30), f"6 tháng đầu năm {year}"
        return date(year, 7, 1), date(year, 12, 31), f"6 tháng cuối năm {year}"
    if m.group("quarter"):
        q = int(m.group("quarter"))
        first = date(year, 3 * q - 2, 1)
        return first, _month_end(year, 3 * q), f"quý {['I', 'II', 'III', 'IV'][q - 1]} năm {year}"
    if m.group("week"):
        week = int(m.group("week"))
        try:
            monday = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise FieldProblem(
                _("{year} has no week {week}").format(year=year, week=week), field="period"
            ) from None
        sunday = monday + timedelta(days=6)
        return monday, sunday, f"tuần {week}/{year} (từ {monday:%d/%m} đến {sunday:%d/%m/%Y})"
    if m.group("month"):
        month = int(m.group("month"))
        if not 1 <= month <= 12:
            raise FieldProblem(
                _("'{text}': there is no month {month}").format(text=text, month=month),
                field="period",
            )
        return date(year, month, 1), _month_end(year, month), f"tháng {month}/{year}"
    return date(year, 1, 1), date(year, 12, 31), f"năm {year}"


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)
