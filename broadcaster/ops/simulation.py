"""Running the engine on simulated time: ``simulate`` and ``demo``."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from broadcaster.core.errors import UsageProblem
from broadcaster.core.timeutil import local_to_utc, parse_local_date, parse_local_datetime
from broadcaster.engine.clock import SimClock
from broadcaster.engine.lock import StationLock
from broadcaster.engine.simulated import Outage, SimulatedDriver, outage_outputs
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import _
from broadcaster.ops import actions
from broadcaster.ops.context import StationContext
from broadcaster.playout.base import close_outputs

_FAIL_RE = re.compile(r"^(?P<zone>[a-z0-9][a-z0-9_-]*)@(?P<start>[^/]+)/(?P<end>.+)$")


def _instant(text: str, ctx: StationContext, option: str, end: bool) -> datetime:
    """A local date (whole day) or a local 'date HH:MM'."""
    text = text.strip()
    if len(text) == 10:
        day = parse_local_date(text, option)
        start = local_to_utc(day, time(0), ctx.station.tz)
        return start + timedelta(days=1) if end else start
    return parse_local_datetime(text, ctx.station.tz, option)


def parse_outage(ctx: StationContext, spec: str) -> Outage:
    """'xom-a@2026-11-23/2026-11-24' (whole days) or with times '...@2026-11-23 06:00/...'."""
    m = _FAIL_RE.match(spec.strip())
    if not m:
        raise UsageProblem(_("--fail: '{spec}' is not ZONE@START/END").format(spec=spec))
    zone = m.group("zone")
    if zone not in ctx.station.zone_ids:
        raise UsageProblem(_("--fail: unknown zone '{zone}'").format(zone=zone))
    start = _instant(m.group("start"), ctx, "--fail", end=False)
    end = _instant(m.group("end"), ctx, "--fail", end=True)
    if end <= start:
        raise UsageProblem(_("--fail: '{spec}' ends before it starts").format(spec=spec))
    return Outage(zone, start, end)


@dataclass
class SimulationReport:
    start: datetime
    end: datetime
    outcomes: Counter = field(default_factory=Counter)
    per_zone: dict[str, Counter] = field(default_factory=dict)
    makeups: int = 0
    steps: int = 0
    out_dirs: list[str] = field(default_factory=list)


def simulate(
    ctx: StationContext,
    start: datetime,
    end: datetime,
    outages: list[Outage],
    emergencies: list[tuple[str, datetime, list[str]]],
    *,
    autoplan: bool = True,
    out_dir: str | None = None,
    network: bool = False,
) -> SimulationReport:
    if end <= start:
        raise UsageProblem(_("--to must be after --from"))
    lock = StationLock(ctx.root, ctx.db_url)
    lock.acquire("simulate")
    try:
        clock = SimClock(start)
        real = ctx.outputs(clock, force_file=True, out_dir=out_dir, keep_networked=network)
        outputs = outage_outputs(real, outages, clock)
        try:
            return _run(ctx, clock, outputs, start, end, emergencies, autoplan, out_dir)
        finally:
            close_outputs(real)
    finally:
        lock.release()


def _run(
    ctx: StationContext,
    clock: SimClock,
    outputs: dict,
    start: datetime,
    end: datetime,
    emergencies: list[tuple[str, datetime, list[str]]],
    autoplan: bool,
    out_dir: str | None,
) -> SimulationReport:
    engine = StationEngine(ctx.root, ctx.station, ctx.db, outputs)
    for bulletin_id, at, zones in emergencies:
        actions.emergency_airings(ctx, ctx.bulletin(bulletin_id), zones, "simulation", at)
    seq_before = actions.log_head(ctx)[0]
    driver = SimulatedDriver(engine, clock, autoplan=autoplan)
    driver.run(end)
    report = SimulationReport(start, end, steps=driver.steps, makeups=len(engine.makeups_planned))
    for entry in actions.log_since(ctx, seq_before):
        report.outcomes[entry.outcome] += 1
        report.per_zone.setdefault(entry.zone_id, Counter())[entry.outcome] += 1
    report.out_dirs = (
        [out_dir]
        if out_dir
        else sorted(
            {
                str(ctx.root / str(spec.settings.get("dir", "out")))
                for spec in ctx.station.outputs.values()
            }
        )
    )
    return report
