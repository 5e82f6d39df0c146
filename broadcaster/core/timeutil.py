"""ISO weeks and local/UTC conversions. Pure: the caller supplies every instant."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from broadcaster.core.errors import FieldProblem
from broadcaster.i18n import _

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")

# The station's calendar. Outside it, week arithmetic and time-zone conversion overflow
# Python's datetime (year 1 minus 7 hours, year 9999 plus a week): refuse at the edge.
MIN_YEAR = 1970
MAX_YEAR = 2999


def check_year(value: date | datetime, field: str, text: str) -> None:
    """Refuse an instant or day outside the station's calendar, naming the field."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise FieldProblem(
            _("'{text}' is outside the years {min} to {max}").format(
                text=text, min=MIN_YEAR, max=MAX_YEAR
            ),
            field=field,
        )


def parse_week(text: str) -> tuple[int, int]:
    """'2026-W48' -> (2026, 48), refusing weeks that do not exist."""
    m = _WEEK_RE.match(text.strip())
    if not m:
        raise FieldProblem(
            _("'{text}' is not an ISO week like 2026-W48").format(text=text), field="week"
        )
    year, week = int(m.group(1)), int(m.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise FieldProblem(
            _("'{text}' is outside the years {min} to {max}").format(
                text=text, min=MIN_YEAR, max=MAX_YEAR
            ),
            field="week",
        )
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise FieldProblem(
            _("{year} has no week {week}").format(year=year, week=week), field="week"
        ) from None
    return year, week


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def week_of(day: date) -> str:
    y, w, _ = day.isocalendar()
    return week_label(y, w)


def week_days(year: int, week: int) -> list[date]:
    monday = date.fromisocalendar(year, week, 1)
    return [monday + timedelta(days=i) for i in range(7)]


def local_to_utc(day: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, t, tzinfo=tz).astimezone(UTC)


def week_bounds_utc(year: int, week: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) local, as UTC instants."""
    monday = date.fromisocalendar(year, week, 1)
    start = local_to_utc(monday, time(0, 0), tz)
    return start, start + timedelta(days=7)


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    return as_utc(instant).astimezone(tz)


def as_utc(instant: datetime) -> datetime:
    """Storage hands back naive datetimes that are UTC by convention."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def iso_week_of_instant(instant: datetime, tz: ZoneInfo) -> str:
    return week_of(to_local(instant, tz).date())


def parse_local_datetime(text: str, tz: ZoneInfo, field: str = "at") -> datetime:
    """Operators type local wall time: '2026-11-23 06:00'."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            naive = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        check_year(naive, field, text)
        return naive.replace(tzinfo=tz).astimezone(UTC)
    raise FieldProblem(
        _("'{text}' is not a local time like 2026-11-23 06:00").format(text=text), field=field
    )


def parse_local_date(text: str, field: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise FieldProblem(
            _("'{text}' is not a date like 2026-11-23").format(text=text), field=field
        ) from None
    check_year(day, field, text)
    return day


def fmt_local(instant: datetime | None, tz: ZoneInfo, with_seconds: bool = False) -> str:
    if instant is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return to_local(instant, tz).strftime(fmt)
