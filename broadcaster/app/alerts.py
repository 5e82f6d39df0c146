"""Dead-air alerts for the faces (issue 16): what ``status`` and the web dashboard list.

The engine raises them (``engine/silence_alerts.py``) while the air is dead and completes
them when sound comes back; here they are read as plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcaster.app.context import StationContext
from broadcaster.core.timeutil import as_utc, parse_week, week_bounds_utc
from broadcaster.store import alerts


@dataclass(frozen=True)
class AirAlert:
    """One silence on air: where, when it began, how long (so far while ``ongoing``)."""

    id: int
    kind: str
    zone_id: str
    what: str  # "relay:<relay id>"
    source: str
    started_at: datetime
    seconds: float
    ended_at: datetime | None
    hook: str  # "", "ok", or why the station's hook failed
    clock: str  # "" real; "shifted:..." or "simulated" (tests, demos)

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None

    def as_dict(self, tz) -> dict[str, object]:
        from broadcaster.core.timeutil import to_local

        return {
            "id": self.id,
            "kind": self.kind,
            "zone": self.zone_id,
            "what": self.what,
            "source": self.source,
            "started_at": to_local(self.started_at, tz).isoformat(timespec="seconds"),
            "seconds": self.seconds,
            "ongoing": self.ongoing,
            "hook": self.hook,
            "clock": self.clock,
        }


def _plain(row) -> AirAlert:
    return AirAlert(
        row.id or 0,
        row.kind,
        row.zone_id,
        row.what,
        row.source,
        as_utc(row.started_at),
        row.seconds,
        as_utc(row.ended_at) if row.ended_at is not None else None,
        row.hook,
        row.clock,
    )


def recent_alerts(ctx: StationContext, days: float = 7, limit: int = 10) -> list[AirAlert]:
    """The latest dead-air alerts of the last ``days`` (the dashboard's card)."""
    now = ctx.clock.now()
    with ctx.db.read() as s:
        rows = alerts.recent(s, since=now - timedelta(days=days), limit=limit)
    return [_plain(r) for r in rows]


def week_alerts(ctx: StationContext, week_label: str, limit: int = 50) -> list[AirAlert]:
    """The dead-air alerts of one ISO week (``status``), latest first."""
    start, end = week_bounds_utc(*parse_week(week_label), ctx.station.tz)
    with ctx.db.read() as s:
        rows = alerts.recent(s, since=start, until=end, limit=limit)
    return [_plain(r) for r in rows]
