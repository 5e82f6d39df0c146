"""run (the daemon), simulate, demo."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import threading
from datetime import time, timedelta
from pathlib import Path

import typer
from rich.table import Table

from broadcaster.app import approvals, bulletins, logbook, schedule, simulation
from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext, station_root
from broadcaster.app.daemon import Daemon, DaemonOptions, configure_logging
from broadcaster.app.heap import settle_heap
from broadcaster.cli.common import err, open_station, out, print_json, state
from broadcaster.cli.schedule_cmds import status_table
from broadcaster.core.timeutil import (
    fmt_local,
    iso_week_of_instant,
    local_to_utc,
    parse_local_date,
    parse_local_datetime,
    parse_week,
    week_bounds_utc,
)
from broadcaster.i18n import _


def run(
    sweep_seconds: float = typer.Option(
        1.0,
        "--sweep-seconds",
        min=0.2,
        max=60,
        help="How often the database is swept for due airings.",
    ),
    autoplan: bool = typer.Option(
        True, "--autoplan/--no-autoplan", help="Keep the current week planned (hourly)."
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose/--quiet",
        help="Also log every scheduler job run (two lines a second). By default: one line "
        "per airing outcome, and warnings.",
    ),
    head_minutes: float = typer.Option(
        60,
        "--head-minutes",
        min=0,
        max=1440,
        help="Sign the log's head with the station key this often, and at start and stop "
        "(0: never; needs a station key).",
    ),
) -> None:
    """The station daemon: airs what the database says, on time, until SIGTERM."""
    configure_logging(verbose)
    ctx = open_station()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: stop.set())
    options = DaemonOptions(
        sweep_seconds=sweep_seconds, autoplan=autoplan, head_minutes=head_minutes
    )
    daemon = Daemon(ctx, options)
    try:
        nxt = daemon.start()
        settle_heap()  # a full collection's pause would land on an airing's start
        say_on_air(ctx, daemon, nxt)
        stop.wait()
        err.print(_("stopping: cutting what plays and logging it"), markup=False)
        daemon.stop(_("the station daemon was stopped (signal)"))
    finally:
        daemon.close()
        ctx.close()


def say_on_air(ctx, daemon, nxt) -> None:
    """The line a started daemon prints (``run``, and ``web --with-daemon``)."""
    err.print(
        _("on air: {station}, {zones} zones; next airing {next}; pid lock {lock}").format(
            station=ctx.station.name,
            zones=len(ctx.station.zones),
            next=fmt_local(nxt, ctx.station.tz) if nxt else "-",
            lock=daemon.lock_path,
        ),
        markup=False,
    )


def simulate(
    date_from: str = typer.Option(..., "--from", help="First local day, e.g. 2026-11-23."),
    date_to: str = typer.Option(..., "--to", help="Last local day (inclusive)."),
    fail: list[str] = typer.Option(
        None,
        "--fail",
        help="ZONE@START/END output outage (dates, or 'YYYY-MM-DD HH:MM'); repeatable.",
    ),
    emergency: list[str] = typer.Option(
        None, "--emergency", help='ID@"YYYY-MM-DD HH:MM" emergency on all zones; repeatable.'
    ),
    autoplan: bool = typer.Option(
        True, "--autoplan/--no-autoplan", help="Plan each week as the simulation enters it."
    ),
    network: bool = typer.Option(
        False,
        "--network",
        help="Keep network outputs (mqtt) real: their receivers must be running.",
    ),
    into: Path = typer.Option(
        None,
        "--into",
        help="The simulation's own folder (default: .simulation/ in the station), replaced "
        "by each run: a copy of the station's database and an out/ folder.",
    ),
    resume: bool = typer.Option(
        False,
        "--continue",
        help="Go on from the previous simulation in that folder instead of a new copy.",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the real engine on a simulated clock, on a copy of the station's database in a
    folder of its own (outputs forced to files there, except network outputs with
    --network). The station's own database and out/ are never written."""
    ctx = open_station()
    tz = ctx.station.tz
    start = local_to_utc(parse_local_date(date_from, "from"), time(0), tz)
    end = local_to_utc(parse_local_date(date_to, "to"), time(0), tz) + timedelta(days=1)
    outages = [simulation.parse_outage(ctx, f) for f in fail or []]
    emergencies = []
    for spec in emergency or []:
        bulletin_id, _sep, when = spec.partition("@")
        if not when:
            raise typer.BadParameter(_("--emergency: '{spec}' is not ID@TIME").format(spec=spec))
        emergencies.append(
            (bulletin_id, parse_local_datetime(when, tz, "emergency"), list(ctx.station.zone_ids))
        )
    report = simulation.simulate(
        ctx,
        start,
        end,
        outages,
        emergencies,
        autoplan=autoplan,
        into=into,
        network=network,
        resume=resume,
    )
    if as_json:
        print_json(
            {
                "outcomes": dict(report.outcomes),
                "makeups_planned": report.makeups,
                "per_zone": {z: dict(c) for z, c in report.per_zone.items()},
                "events": report.steps,
                "workspace": str(report.workspace),
                "database": report.db_url,
                "out_dir": report.out_dirs[0],
                "clock": "simulated",
            }
        )
        return
    _print_simulation(ctx, report)
    _print_where(ctx.root, report)
    if report.ctx is not None:
        report.ctx.close()


def _print_where(root: Path, report: simulation.SimulationReport) -> None:
    """Where the simulation's own database and output are, and how to look at them."""
    out.print(
        _(
            "simulated on a copy: database {db}, audio in {out} (the station's own "
            "database and out/ were not touched)"
        ).format(db=report.db_url, out=report.out_dirs[0]),
        markup=False,
    )
    see = [*_broadcaster_command(), *_station_args(root), "--db", report.db_url]
    out.print(
        _("see it with: {command}").format(
            command=shlex.join([*see, "status", "--include-unreal"])
        ),
        markup=False,
    )


def _print_simulation(ctx: StationContext, report: simulation.SimulationReport) -> None:
    table = Table(
        _("zone"),
        _("aired"),
        _("failed"),
        _("missed"),
        _("interrupted"),
        title=_("simulated {start} – {end}").format(
            start=fmt_local(report.start, ctx.station.tz), end=fmt_local(report.end, ctx.station.tz)
        ),
    )
    for zone in ctx.station.zones:
        c = report.per_zone.get(zone.id, {})
        table.add_row(
            zone.id, *(str(c.get(k, 0)) for k in ("aired", "failed", "missed", "interrupted"))
        )
    out.print(table)
    out.print(
        _("{events} events, {makeups} make-up airings planned").format(
            events=report.steps, makeups=report.makeups
        )
    )


def _compliance(ctx: StationContext, week: str) -> bool:
    report = schedule.status(ctx, week, include_unreal=True)
    out.print(status_table(report, ctx.station.name, ctx.station.requirements))
    return all(r.state == "met" for r in report.rows)


def demo(
    week: str = typer.Option(None, "--week", help="ISO week to simulate (default: this week)."),
) -> None:
    """On the sample station, offline: render, approve, plan, simulate a week with a
    cluster down for two days, and show the make-ups recovering it."""
    root = station_root(state.station)
    work = root / ".demo"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    # The demo's own station key, beside its database: it writes nothing outside .demo/.
    os.environ.setdefault("BROADCASTER_STATION_KEY", str(work / "station.key"))
    db_url = state.db or f"sqlite:///{work / 'station.db'}"
    ctx = StationContext.open(root, db_url)
    from broadcaster.i18n import use_station_language  # the one rule, as open_station

    use_station_language(ctx.station.language)
    tz = ctx.station.tz
    label = week or iso_week_of_instant(ctx.clock.now(), tz)
    year, wk = parse_week(label)
    monday, next_monday = week_bounds_utc(year, wk, tz)

    out.rule(_("1. render (offline)"))
    outcomes = bulletins.render(ctx, engines=("espeak",), workers=os.cpu_count() or 1)
    for o in outcomes:
        loudness = f"{o.loudness_lufs:6.1f} LUFS" if o.loudness_lufs is not None else ""
        out.print(
            f"  {o.bulletin_id:40} {o.engine:8} {o.duration_seconds:6.1f} s {loudness} "
            f"{_('cached') if o.cached else _('new')} {o.error}",
            markup=False,
        )
    out.rule(_("2. approve (as 'demo')"))
    for o in outcomes:
        if not o.error:
            approvals.approve(ctx, o.bulletin_id, Actor.local_cli(by="demo"))
    out.print(_("  {n} bulletins approved").format(n=sum(1 for o in outcomes if not o.error)))

    failing = next(z.id for z in ctx.station.zones if z.kind == "cluster")
    mon = fmt_local(monday, tz)[:10]
    tue = fmt_local(monday + timedelta(days=1), tz)[:10]
    out.rule(
        _("3. plan {week} and simulate it; {zone} is unreachable {mon} – {tue}").format(
            week=label, zone=failing, mon=mon, tue=tue
        )
    )
    outage = simulation.parse_outage(ctx, f"{failing}@{mon}/{tue}")
    emergency_at = local_to_utc(monday.astimezone(tz).date(), time(6, 16), tz)
    emergencies = []
    storm = next((b for b in ctx.scripts()[0] if b.priority == "emergency"), None)
    if storm is not None:
        emergencies.append((storm.id, emergency_at, [z.id for z in ctx.station.zones]))
        out.print(
            _("  and an emergency '{id}' at {at} on every zone").format(
                id=storm.id, at=fmt_local(emergency_at, tz)
            )
        )
    ctx.clock = simulation.clock_at(
        monday
    )  # everything happens as of Monday 00:00, on simulated time
    report = simulation.simulate(
        ctx, monday, next_monday, [outage], emergencies, into=work / "simulation"
    )
    _print_simulation(ctx, report)
    sim = report.ctx
    assert sim is not None

    out.rule(_("4. make-up airings for {zone}").format(zone=failing))
    from broadcaster.cli.common import reason_text
    from broadcaster.i18n import origin_word, status_word  # display words

    for r in schedule.airings_of_week(sim, label):
        if r.zone_id == failing and r.origin in ("makeup", "plan", "retry"):
            out.print(
                f"  {fmt_local(r.scheduled_at, tz)}  {origin_word(r.origin):7} "
                f"{status_word(r.status):11} "
                f"{r.bulletin_id}  {reason_text(r.reason)}",
                markup=False,
            )
    out.rule(_("5. compliance (simulated airings counted: this is a demonstration)"))
    all_met = _compliance(sim, label)
    chain = logbook.verify(sim)
    out.print(
        _("as-run log: {n} entries, chain {state}, head {hash}").format(
            n=chain.count,
            state=_("intact") if chain.ok else _("BROKEN"),
            hash=chain.head_hash[:16],
        )
    )
    out.print(
        _(
            "{n} of them made on the simulated clock: they say so inside their hash, and "
            "reports count them only with --include-unreal"
        ).format(n=chain.unreal.get("simulated", 0))
    )
    out.print(
        _("database: {db}\naudio played, per zone: {dirs}").format(
            db=report.db_url, dirs=", ".join(report.out_dirs)
        )
    )
    see = [*_broadcaster_command(), *_station_args(root), "--db", report.db_url, "log"]
    out.print(
        _("see it with: {command}").format(command=shlex.join([*see, "--zone", failing])),
        markup=False,
    )
    sim.close()
    ctx.close()
    if not all_met or not chain.ok:
        raise typer.Exit(1)


def _broadcaster_command() -> list[str]:
    """``broadcaster`` as the user can type it here: the bare name if that is on PATH and
    is this installation, else this installation's script (relative to the working
    directory when it lies inside it, e.g. ``.venv/bin/broadcaster``)."""
    script = Path(sys.executable).absolute().parent / "broadcaster"
    found = shutil.which("broadcaster")
    if not script.is_file() or (found and Path(found).absolute() == script):
        return ["broadcaster"]
    try:
        return [str(script.relative_to(Path.cwd()))]
    except ValueError:
        return [str(script)]


def _station_args(root: Path) -> list[str]:
    """``--station`` unless the command would find the station by itself (the working
    directory is the station and BROADCASTER_STATION does not say otherwise)."""
    if Path.cwd().resolve() == root and not os.environ.get("BROADCASTER_STATION"):
        return []
    return ["--station", str(root)]


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(simulate)
    app.command()(demo)
