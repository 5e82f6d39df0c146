"""Running the engine on simulated time: ``simulate`` and ``demo``.

A simulation never writes the station's evidence: it runs on a copy of the station's
database in a folder of its own (default ``.simulation/`` in the station), with its own
``out/``, and every entry it logs says ``clock: simulated`` inside its hash.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from broadcaster.app import logbook
from broadcaster.app.context import StationContext
from broadcaster.app.emergencies import emergency_airings
from broadcaster.core.errors import FieldProblem
from broadcaster.core.timeutil import local_to_utc, parse_local_date, parse_local_datetime
from broadcaster.engine.clock import SimClock, clock_kind
from broadcaster.engine.lock import StationLock
from broadcaster.engine.simulated import Outage, SimulatedDriver, outage_outputs
from broadcaster.engine.station_engine import StationEngine
from broadcaster.i18n import _
from broadcaster.playout.base import close_outputs
from broadcaster.store.db import copy_to_sqlite

_FAIL_RE = re.compile(r"^(?P<zone>[a-z0-9][a-z0-9_-]*)@(?P<start>[^/]+)/(?P<end>.+)$")


def _instant(text: str, ctx: StationContext, field: str, end: bool) -> datetime:
    """A local date (whole day) or a local 'date HH:MM'."""
    text = text.strip()
    if len(text) == 10:
        day = parse_local_date(text, field)
        start = local_to_utc(day, time(0), ctx.station.tz)
        return start + timedelta(days=1) if end else start
    return parse_local_datetime(text, ctx.station.tz, field)


def parse_outage(ctx: StationContext, spec: str) -> Outage:
    """'xom-a@2026-11-23/2026-11-24' (whole days) or with times '...@2026-11-23 06:00/...'."""
    m = _FAIL_RE.match(spec.strip())
    if not m:
        raise FieldProblem(_("'{spec}' is not ZONE@START/END").format(spec=spec), field="outage")
    zone = m.group("zone")
    if zone not in ctx.station.zone_ids:
        raise FieldProblem(_("unknown zone '{zone}'").format(zone=zone), field="outage")
    start = _instant(m.group("start"), ctx, "outage", end=False)
    end = _instant(m.group("end"), ctx, "outage", end=True)
    if end <= start:
        raise FieldProblem(_("'{spec}' ends before it starts").format(spec=spec), field="outage")
    return Outage(zone, start, end)


def clock_at(instant: datetime) -> SimClock:
    """A simulated clock standing at ``instant``: for a face that shows what a command
    would do at another time (the demo plans and reports "as of" its Monday)."""
    return SimClock(instant)


@dataclass
class SimulationReport:
    start: datetime
    end: datetime
    outcomes: Counter = field(default_factory=Counter)
    per_zone: dict[str, Counter] = field(default_factory=dict)
    makeups: int = 0
    steps: int = 0
    out_dirs: list[str] = field(default_factory=list)
    workspace: Path | None = None  # the simulation's own folder
    db_url: str = ""  # the simulation's own database (a copy of the station's)
    ctx: StationContext | None = None  # the simulation's station, to read its results


WORKSPACE_MARK = ".broadcaster-simulation"


def default_workspace(root: Path) -> Path:
    return root / ".simulation"


def resume_workspace(into: Path) -> tuple[Path, str]:
    """A previous simulation's folder, to go on from where it stopped (``--continue``)."""
    into = into.resolve()
    if not (into / WORKSPACE_MARK).is_file() or not (into / "station.db").is_file():
        raise FieldProblem(
            _("{dir} holds no previous simulation (run simulate first)").format(dir=into),
            field="resume",
        )
    (into / "out").mkdir(exist_ok=True)
    return into, f"sqlite:///{into / 'station.db'}"


def prepare_workspace(ctx: StationContext, into: Path) -> tuple[Path, str]:
    """A folder of its own for one simulation: a copy of the station's database as it is
    now, and an empty ``out/``. The station's database is only read, never opened for
    writing, so a simulation cannot touch its evidence (issue 10).

    A folder that a previous simulation made (it holds the mark file) is replaced; any
    other non-empty folder is refused rather than wiped."""
    into = into.resolve()
    station_db = _sqlite_path(ctx.db_url)
    if station_db is not None and into in (station_db.parent, ctx.root):
        raise FieldProblem(
            _("{dir} holds the station's own database; choose another folder").format(dir=into),
            field="into",
        )
    if into.exists():
        if not into.is_dir():
            raise FieldProblem(_("{dir} is not a folder").format(dir=into), field="into")
        if any(into.iterdir()) and not (into / WORKSPACE_MARK).exists():
            raise FieldProblem(
                _("{dir} is not empty and not a simulation's folder").format(dir=into), field="into"
            )
        shutil.rmtree(into)
    into.mkdir(parents=True)
    (into / WORKSPACE_MARK).write_text(
        "made by 'broadcaster simulate': replaced by the next simulation into this folder\n",
        encoding="utf-8",
    )
    (into / "out").mkdir()
    target = into / "station.db"
    copy_database(ctx.db_url, target)
    return into, f"sqlite:///{target}"


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).resolve()
    return None


def copy_database(url: str, target: Path) -> None:
    """The station's current state into a new SQLite file (the store's snapshot: the
    station's database is only read, never opened for writing)."""
    copy_to_sqlite(url, target)


def simulate(
    ctx: StationContext,
    start: datetime,
    end: datetime,
    outages: list[Outage],
    emergencies: list[tuple[str, datetime, list[str]]],
    *,
    autoplan: bool = True,
    into: Path | None = None,
    network: bool = False,
    resume: bool = False,
) -> SimulationReport:
    """Run the engine on simulated time on a copy of the station (see
    :func:`prepare_workspace`), or with ``resume`` on the previous simulation's copy: the
    station's own database and ``out/`` are never written. Every log entry it makes
    carries ``clock: simulated`` in its hash."""
    if end <= start:
        raise FieldProblem(_("must be after --from"), field="to")
    folder = into or default_workspace(ctx.root)
    workspace, db_url = resume_workspace(folder) if resume else prepare_workspace(ctx, folder)
    clock = SimClock(start)
    sim = StationContext(ctx.root, ctx.station, db_url, clock)
    lock = StationLock(workspace, db_url)
    lock.acquire("simulate")
    out_dir = str(workspace / "out")
    try:
        real = sim.outputs(clock, force_file=True, out_dir=out_dir, keep_networked=network)
        outputs = outage_outputs(real, outages, clock)
        try:
            report = _run(sim, clock, outputs, start, end, emergencies, autoplan)
        finally:
            close_outputs(real)
    finally:
        lock.release()
    report.out_dirs = [out_dir]
    report.workspace = workspace
    report.db_url = db_url
    report.ctx = sim
    return report


def _run(
    ctx: StationContext,
    clock: SimClock,
    outputs: dict,
    start: datetime,
    end: datetime,
    emergencies: list[tuple[str, datetime, list[str]]],
    autoplan: bool,
) -> SimulationReport:
    engine = StationEngine(ctx.root, ctx.station, ctx.db, outputs)
    engine.clock_kind = clock_kind(clock)
    for bulletin_id, at, zones in emergencies:
        emergency_airings(ctx, ctx.bulletin(bulletin_id), zones, "simulation", at)
    seq_before = logbook.log_head(ctx)[0]
    driver = SimulatedDriver(engine, clock, autoplan=autoplan)
    driver.run(end)
    report = SimulationReport(start, end, steps=driver.steps, makeups=len(engine.makeups_planned))
    for entry in logbook.log_since(ctx, seq_before):
        report.outcomes[entry.outcome] += 1
        report.per_zone.setdefault(entry.zone_id, Counter())[entry.outcome] += 1
    return report
