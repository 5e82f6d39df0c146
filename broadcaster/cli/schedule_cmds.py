"""plan, queue, cancel, emergency, status."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from broadcaster.cli.common import By, Json, err, open_station, operator_name, out, print_json
from broadcaster.core.timeutil import fmt_local, parse_local_datetime
from broadcaster.engine.lanes import ThreadLane
from broadcaster.engine.lock import StationLock
from broadcaster.i18n import _
from broadcaster.ops import actions
from broadcaster.playout.base import close_outputs
from broadcaster.store.tables import AiringRow

STATE_STYLE = {"met": "green", "on-track": "cyan", "at-risk": "yellow", "failed": "red"}


def plan(
    week: str = typer.Option(None, "--week", help="ISO week, e.g. 2026-W48 (default: this week)."),
    as_json: bool = Json,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if a zone cannot be satisfied."),
) -> None:
    """Book airings so every zone meets every requirement in the week."""
    ctx = open_station()
    label = week or actions.current_week(ctx)
    report = actions.plan(ctx, label)
    tz = ctx.station.tz
    if as_json:
        print_json(
            {
                "week": report.week,
                "created": [_row_json(r, tz) for r in report.created],
                "retimed": len(report.result.retimed),
                "unsatisfied": [s.__dict__ for s in report.result.shortfalls],
                "skipped_scripts": [str(p) for p in report.skipped_scripts],
            }
        )
    else:
        for p in report.skipped_scripts:
            err.print(_("skipped: {problem}").format(problem=p), style="yellow", markup=False)
        out.print(
            _("{week}: {n} airings planned, {m} re-timed").format(
                week=report.week, n=len(report.created), m=len(report.result.retimed)
            )
        )
        if report.created:
            table = Table(_("id"), _("zone"), _("time"), _("bulletin"), _("priority"))
            for r in report.created:
                table.add_row(
                    str(r.id), r.zone_id, fmt_local(r.scheduled_at, tz), r.bulletin_id, r.priority
                )
            out.print(table)
        for s in report.result.shortfalls:
            err.print(
                _("cannot satisfy {zone} / {req}: {missing} missing: {reason}").format(
                    zone=s.zone_id, req=s.requirement_id, missing=s.missing, reason=s.reason
                ),
                style="yellow",
                markup=False,
            )
    if strict and report.result.shortfalls:
        raise typer.Exit(1)


def _row_json(r: AiringRow, tz) -> dict:
    return {
        "id": r.id,
        "zone": r.zone_id,
        "bulletin_id": r.bulletin_id,
        "scheduled_at": fmt_local(r.scheduled_at, tz, with_seconds=True),
        "priority": r.priority,
        "origin": r.origin,
        "status": r.status,
        "session": r.session_id,
        "duration_seconds": r.duration_seconds,
    }


def queue(
    bulletin_id: str = typer.Argument(..., metavar="ID"),
    zone: str = typer.Option(..., "--zone", help="Zone id."),
    at: str = typer.Option(..., "--at", help='Local time, e.g. "2026-11-23 06:00".'),
    by: str = By,
) -> None:
    """Book one airing of a bulletin on a zone at a given local time."""
    ctx = open_station()
    when = parse_local_datetime(at, ctx.station.tz)
    row = actions.queue(ctx, bulletin_id, zone, when, operator_name(by))
    out.print(
        _("queued airing {id}: {bulletin} on {zone} at {at}").format(
            id=row.id,
            bulletin=row.bulletin_id,
            zone=row.zone_id,
            at=fmt_local(row.scheduled_at, ctx.station.tz),
        )
    )


def cancel(
    airing_id: int = typer.Argument(..., metavar="AIRING"),
    stop: bool = typer.Option(
        False,
        "--stop",
        help="If the airing is already on air, ask the running daemon to stop it "
        "(logged interrupted, with who asked).",
    ),
    by: str = By,
) -> None:
    """Cancel a planned airing (logged as cancelled).

    Cancel and start are one decision: if the daemon started the airing first, nothing
    is cancelled and this exits 1 saying it is on air; --stop then asks the daemon to cut
    it."""
    ctx = open_station()
    who = operator_name(by)
    try:
        row = actions.cancel(ctx, airing_id, who)
    except actions.OnAir:
        if not stop:
            raise
        _ask_daemon_to_stop(ctx, airing_id, who)
        return
    out.print(
        _("cancelled airing {id}: {bulletin} on {zone} ({zone_name}) at {at}").format(
            id=row.id,
            bulletin=row.bulletin_id,
            zone=row.zone_id,
            zone_name=ctx.station.zone(row.zone_id).name,
            at=fmt_local(row.scheduled_at, ctx.station.tz),
        ),
        markup=False,
    )


def _ask_daemon_to_stop(ctx, airing_id: int, who: str) -> None:
    row = actions.stop_on_air(ctx, airing_id, who)
    lock = StationLock(ctx.root, ctx.db_url)
    daemon_running = not lock.try_acquire("cancel")
    lock.release()
    what = _("airing {id}: {bulletin} on {zone} ({zone_name}), scheduled {at}").format(
        id=row.id,
        bulletin=row.bulletin_id,
        zone=row.zone_id,
        zone_name=ctx.station.zone(row.zone_id).name,
        at=fmt_local(row.scheduled_at, ctx.station.tz),
    )
    if daemon_running:
        out.print(
            _("on air: asked the running daemon to stop {what}").format(what=what), markup=False
        )
    else:
        out.print(
            _(
                "on air, but no daemon is running: {what} will be logged interrupted "
                "(stopped at your request) when the station restarts"
            ).format(what=what),
            markup=False,
        )


def emergency(
    bulletin_id: str = typer.Argument(None, metavar="[ID]"),
    zones: str = typer.Option(..., "--zones", help="'all' or z1,z2,..."),
    text: str = typer.Option(None, "--text", help="Alert typed on the spot (rendered now)."),
    approved_by: str = typer.Option(None, "--approved-by", help="Who approved the typed alert."),
    by: str = By,
) -> None:
    """Air an emergency now on the zones, interrupting what plays; quiet hours do not apply."""
    ctx = open_station()
    who = operator_name(by)
    targets = actions.parse_zones(ctx, zones)
    if (bulletin_id is None) == (text is None):
        raise typer.BadParameter(_("give either a bulletin ID or --text"))
    if text is not None:
        if not approved_by:
            raise typer.BadParameter(_("--text needs --approved-by NAME"))
        path = actions.write_emergency_script(ctx, text, ctx.clock.now())
        bulletin_id = path.stem
        try:
            results = actions.render(ctx, [bulletin_id])
            if results[0].error:
                raise typer.BadParameter(results[0].error)
            actions.approve(ctx, bulletin_id, approved_by)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    assert bulletin_id is not None
    bulletin = ctx.bulletin(bulletin_id)
    lock = StationLock(ctx.root, ctx.db_url)
    daemon_running = not lock.try_acquire("emergency")
    rows = actions.emergency_airings(ctx, bulletin, targets, who, ctx.clock.now())
    if daemon_running:
        out.print(
            _("emergency {id} handed to the running daemon ({holder}) for {n} zone(s)").format(
                id=bulletin.id, holder=lock.holder(), n=len(rows)
            )
        )
        return
    try:
        _air_now(ctx, rows)
    finally:
        lock.release()


def _air_now(ctx, rows: list[AiringRow]) -> None:
    """No daemon is running: this process airs the emergency itself, zone by zone."""
    outputs = ctx.outputs(ctx.clock)
    try:
        _air_on(ctx, rows, outputs)
    finally:
        close_outputs(outputs)


def _air_on(ctx, rows: list[AiringRow], outputs) -> None:
    engine = actions.engine_for(ctx, outputs)
    lanes = {}
    for row in rows:
        lane = ThreadLane(row.zone_id, engine, ctx.clock)
        lanes[row.zone_id] = lane
        lane.start()
        lane.offer(row)
    out.print(
        _("airing emergency {id} on {n} zone(s)...").format(id=rows[0].bulletin_id, n=len(rows))
    )
    ids = [r.id for r in rows]
    while not actions.all_final(ctx, ids):
        time.sleep(0.2)
    for lane in lanes.values():
        lane.stop("done")
    for lane in lanes.values():
        lane.join(timeout=5)
    outcomes = actions.outcomes_of(ctx, ids)
    table = Table(_("zone"), _("outcome"), _("reason"))
    for row in outcomes:
        table.add_row(
            row.zone_id, row.status, row.reason, style="green" if row.status == "aired" else "red"
        )
    out.print(table)
    if any(r.status != "aired" for r in outcomes):
        raise typer.Exit(1)


def status(
    week: str = typer.Option(None, "--week", help="ISO week (default: this week)."),
    as_json: bool = Json,
) -> None:
    """Per zone and requirement: required, aired, planned, failed/missed and a state."""
    from broadcaster.ops import network  # paho and the mqtt plugin only when asked

    ctx = open_station()
    report = actions.status(ctx, week)
    misses = network.receiver_misses(ctx, report.week)
    if as_json:
        by_zone: dict[str, list[dict]] = {}
        for m in misses:
            by_zone.setdefault(m.zone_id, []).append(_miss_json(m, ctx.station.tz))
        print_json(
            [{**r.as_dict(), "receiver_misses": by_zone.get(r.zone, [])} for r in report.rows]
        )
        return
    out.print(status_table(report, ctx.station.name))
    if misses:
        out.print(misses_table(misses, ctx.station.tz))
    for note in actions.audio_notes(ctx):
        out.print(Text(f"{_('fallback audio')}: {note.bulletin_id}: {note.note}", style="yellow"))
    out.print(
        _("as-run log: {n} entries, head {hash}").format(
            n=report.head_count, hash=report.head_hash[:16]
        )
    )


def _miss_json(m, tz) -> dict:
    return {
        "receiver": m.receiver_id,
        "airing_id": m.airing_id,
        "scheduled_at": fmt_local(m.scheduled_at, tz, with_seconds=True),
        "outcome": m.outcome,
        "reason": m.reason,
    }


def misses_table(misses, tz) -> Table:
    """Partial coverage: which receiver of a networked zone did not play which airing."""
    table = Table(
        _("receiver"),
        _("zone"),
        _("airing"),
        _("scheduled"),
        _("outcome"),
        _("reason"),
        title=_("Receivers that did not play"),
    )
    for m in misses:
        table.add_row(
            m.receiver_id,
            m.zone_id,
            str(m.airing_id),
            fmt_local(m.scheduled_at, tz),
            m.outcome,
            m.reason,
            style="red",
        )
    return table


def status_table(report: actions.StatusReport, station_name: str) -> Table:
    """The compliance table operators read, shared by ``status`` and ``demo``."""
    table = Table(
        _("zone"),
        _("requirement"),
        _("required"),
        _("aired"),
        _("planned"),
        _("failed"),
        _("missed"),
        _("state"),
        _("note"),
        title=_("{station}, week {week}").format(station=station_name, week=report.week),
    )
    for r in report.rows:
        table.add_row(
            r.zone,
            r.requirement,
            *(str(n) for n in (r.required, r.aired, r.planned, r.failed, r.missed)),
            r.state,
            r.note,
            style=STATE_STYLE.get(r.state),
        )
    return table


schedule_app = typer.Typer(help="The schedule as a whole: export it for other tools.")


@schedule_app.command("export")
def export(
    ics: Path = typer.Option(..., "--ics", help="iCalendar file to write (.ics)."),
    period: str = typer.Option(
        None, "--period", help="2026-W48, 2026-11, 2026-H2... (default: this week and the next 3)."
    ),
    date_from: str = typer.Option(None, "--from", help="First local day (with --to)."),
    date_to: str = typer.Option(None, "--to", help="Last local day, inclusive."),
) -> None:
    """Planned airings as iCalendar: one event per session per zone, bulletins in the text."""
    from broadcaster.reports.ics_export import export_ics  # icalendar only for this command

    ctx = open_station()
    n, airings = export_ics(ctx, ics, period, date_from, date_to)
    out.print(_("{path}: {n} events, {m} planned airings").format(path=ics, n=n, m=airings))


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command()(plan)
    app.command()(queue)
    app.command()(cancel)
    app.command()(emergency)
    app.command()(status)
