"""plan, queue, cancel, emergency, status."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from broadcaster.app import approvals, bulletins, emergencies, relays, schedule
from broadcaster.app.actors import Actor
from broadcaster.cli.common import (
    MAX_ID,
    By,
    IncludeUnreal,
    Json,
    err,
    name_option,
    open_station,
    out,
    print_json,
    shell_actor,
    unreal_warning,
    warn,
)
from broadcaster.core.model import AiringRecord, RelayWindow, Requirement, Station
from broadcaster.core.timeutil import fmt_local, parse_local_datetime
from broadcaster.i18n import _, pgettext

PLAN_TABLE_MAX = 500  # beyond this, ``plan`` points to ``schedule list`` instead
STATE_STYLE = {"met": "green", "on-track": "cyan", "at-risk": "yellow", "failed": "red"}


def plan(
    week: str = typer.Option(None, "--week", help="ISO week, e.g. 2026-W48 (default: this week)."),
    as_json: bool = Json,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if a zone cannot be satisfied."),
) -> None:
    """Book the week: what every requirement needs, then each session filled in rotation.

    Sessions with 'fill: minimum' get the required airings only. Approved bulletins that
    cannot air (audio file gone, script changed since approval) are left out and named."""
    ctx = open_station()
    label = week or schedule.current_week(ctx)
    report = schedule.plan(ctx, label, shell_actor())
    week_relays = relays.week_relays(ctx, report.week)
    tz = ctx.station.tz
    if as_json:
        print_json(
            {
                "week": report.week,
                "created": [_row_json(r, tz) for r in report.created],
                "relays": {
                    zone: [_relay_json(w, tz) for w in windows]
                    for zone, windows in week_relays.by_zone.items()
                },
                "retimed": len(report.result.retimed),
                "unsatisfied": [s.__dict__ for s in report.result.shortfalls],
                "skipped_scripts": [str(p) for p in report.skipped_scripts],
                "not_planned": [u.__dict__ for u in report.unairable],
                "at_risk": {
                    bid: [a.airing_id for a in airings]
                    for bid, airings in approvals.airings_at_risk(
                        ctx, {u.bulletin_id for u in report.unairable}
                    ).items()
                },
            }
        )
    else:
        for p in report.skipped_scripts:
            err.print(_("skipped: {problem}").format(problem=p), style="yellow", markup=False)
        print_unairable(ctx, report.unairable)
        out.print(
            _("{week}: {n} airings planned, {m} re-timed").format(
                week=report.week, n=len(report.created), m=len(report.result.retimed)
            )
        )
        if report.created and len(report.created) <= PLAN_TABLE_MAX:
            table = Table(_("id"), _("zone"), _("time"), _("bulletin"), _("priority"))
            for r in report.created:
                table.add_row(
                    str(r.id), r.zone_id, fmt_local(r.scheduled_at, tz), r.bulletin_id, r.priority
                )
            out.print(table)
        elif report.created:
            out.print(
                _("(too many to list: see 'broadcaster schedule list --week {week}')").format(
                    week=report.week
                )
            )
        if week_relays.windows:
            out.print(relays_table(week_relays.windows, ctx.station))
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


def unairable_lines(ctx, left_out) -> list[str]:
    """One line per approved bulletin the planner leaves out, with the airings already
    planned for it that the gate will refuse (by the ids ``cancel`` takes)."""
    risky = approvals.airings_at_risk(ctx, {u.bulletin_id for u in left_out})
    lines = []
    for u in left_out:
        line = _("not planned: {path}: {reason}").format(path=u.source_path, reason=u.reason)
        note = approvals.at_risk_note(ctx, risky.get(u.bulletin_id, []))
        lines.append(f"{line}; {note}" if note else line)
    return lines


def print_unairable(ctx, left_out) -> None:
    """Approved bulletins the planner leaves out, one line each, to standard error."""
    for line in unairable_lines(ctx, left_out):
        err.print(line, style="yellow", markup=False)


def _row_json(r: AiringRecord, tz) -> dict:
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
        "reason": r.reason,
    }


def _relay_json(w: RelayWindow, tz) -> dict:
    return {
        "relay": w.relay_id,
        "source": w.source_id,
        "start": fmt_local(w.start, tz, with_seconds=True),
        "end": fmt_local(w.end, tz, with_seconds=True),
    }


def relays_table(windows: Sequence[RelayWindow], station: Station) -> Table:
    """The week's relay windows, one row per relay slot and time: its source, the time,
    the days and the zones that relay it."""
    tz = station.tz
    groups: dict[tuple, tuple[set, set]] = {}
    for w in windows:
        key = (w.source_id, fmt_local(w.start, tz)[11:16], fmt_local(w.end, tz)[11:16])
        days, zones = groups.setdefault(key, (set(), set()))
        days.add(w.local_day)
        zones.add(w.zone_id)
    table = Table(_("source"), _("time"), _("days"), _("zones"), title=_("Relays"))
    order = {z: i for i, z in enumerate(station.zone_ids)}
    for (source_id, start, end), (days, zones) in sorted(groups.items(), key=lambda kv: kv[0][1]):
        source = station.sources.get(source_id)
        table.add_row(
            f"{source_id} ({source.name})" if source else source_id,
            f"{start}–{end}",
            _day_runs(sorted(days)),
            _zone_words(sorted(zones, key=lambda z: order.get(z, 0)), len(station.zones)),
        )
    return table


def _day_runs(days) -> str:
    """23/11–28/11, 30/11: runs of consecutive days."""
    runs: list[list] = []
    for d in days:
        if runs and (d - runs[-1][-1]).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ", ".join(
        f"{r[0]:%d/%m}" if len(r) == 1 else f"{r[0]:%d/%m}–{r[-1]:%d/%m}" for r in runs
    )


def _zone_words(zones: list[str], all_zones: int) -> str:
    if len(zones) == all_zones:
        return _("all zones ({n})").format(n=all_zones)
    if len(zones) > 6:
        return _("{first}... ({n} zones)").format(first=", ".join(zones[:5]), n=len(zones))
    return ", ".join(zones)


def queue(
    bulletin_id: str = typer.Argument(..., metavar="ID"),
    zone: str = typer.Option(..., "--zone", help="Zone id."),
    at: str = typer.Option(..., "--at", help='Local time, e.g. "2026-11-23 06:00".'),
    by: str = By,
) -> None:
    """Book one airing of a bulletin on a zone at a given local time.

    Inside a session it starts at the first free moment from --at and must fit the
    session's cap; a bulletin already in that session is booked with a warning."""
    ctx = open_station()
    when = parse_local_datetime(at, ctx.station.tz)
    result = schedule.queue(ctx, bulletin_id, zone, when, shell_actor(by))
    for warning in result.warnings:
        err.print(_("warning: {text}").format(text=warning), style="yellow", markup=False)
    row = result.row
    out.print(
        _("queued airing {id}: {bulletin} on {zone} at {at}").format(
            id=row.id,
            bulletin=row.bulletin_id,
            zone=row.zone_id,
            at=fmt_local(row.scheduled_at, ctx.station.tz, with_seconds=True),
        )
    )
    if result.retimed:
        out.print(_("{n} planned airing(s) of the session moved after it").format(n=result.retimed))


def cancel(
    airing_id: int = typer.Argument(..., metavar="AIRING", min=1, max=MAX_ID),
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
    who = shell_actor(by)
    try:
        row = schedule.cancel(ctx, airing_id, who)
    except schedule.OnAir:
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


def _ask_daemon_to_stop(ctx, airing_id: int, who: Actor) -> None:
    row = schedule.stop_on_air(ctx, airing_id, who)
    daemon_running = schedule.daemon_is_running(ctx)
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
    approved_by: str = typer.Option(
        None, "--approved-by", callback=name_option, help="Who approved the typed alert."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Air a bulletin that is not an emergency as one (logged as forced, with who).",
    ),
    by: str = By,
) -> None:
    """Air an emergency now on the zones, interrupting what plays; quiet hours do not apply."""
    ctx = open_station()
    who = shell_actor(by)
    targets = emergencies.parse_zones(ctx, zones)
    if (bulletin_id is None) == (text is None):
        raise typer.BadParameter(_("give either a bulletin ID or --text"))
    if text is not None:
        if not approved_by:
            raise typer.BadParameter(_("--text needs --approved-by NAME"))
        bulletin = emergencies.typed_alert(ctx, text, approved_by, who, targets)
    else:
        bulletin = ctx.bulletin(bulletin_id)
    run = emergencies.air_emergency(
        ctx,
        bulletin,
        targets,
        who,
        force=force,
        on_wait=lambda holder: out.print(
            _("waiting for {holder} to finish airing its emergency...").format(holder=holder)
        ),
        on_air=lambda n: out.print(
            _("airing emergency {id} on {n} zone(s)...").format(id=bulletin.id, n=n)
        ),
    )
    if run.handed_to is not None:
        out.print(
            _("emergency {id} handed to the running daemon ({holder}) for {n} zone(s)").format(
                id=run.bulletin_id, holder=run.handed_to, n=run.zones
            )
        )
        return
    from broadcaster.cli.common import reason_text
    from broadcaster.i18n import status_word  # display words

    table = Table(_("zone"), _("outcome"), _("reason"))
    for row in run.outcomes:
        table.add_row(
            row.zone_id,
            status_word(row.status),
            reason_text(row.reason),
            style="green" if row.status == "aired" else "red",
        )
    out.print(table)
    if not run.all_aired:
        raise typer.Exit(1)


def status(
    week: str = typer.Option(None, "--week", help="ISO week (default: this week)."),
    include_unreal: bool = IncludeUnreal,
    as_json: bool = Json,
) -> None:
    """Per zone and requirement: required, aired, planned, failed/missed and a state,
    counted from the hashed as-run log (planned airings from the schedule)."""
    from broadcaster.app import alerts, receivers  # paho and the mqtt plugin only when asked

    ctx = open_station()
    report = schedule.status(ctx, week, include_unreal=include_unreal)
    week_relays = relays.week_relays(ctx, report.week)
    dead_air = [a for a in alerts.week_alerts(ctx, report.week) if include_unreal or not a.clock]
    misses = receivers.receiver_misses(ctx, report.week)
    warning = unreal_warning(report.unreal, include_unreal)
    if as_json:
        warn(warning)
        by_zone: dict[str, list[dict]] = {}
        for m in misses:
            by_zone.setdefault(m.zone_id, []).append(_miss_json(m, ctx.station.tz))
        print_json(
            [
                {
                    **r.as_dict(),
                    "receiver_misses": by_zone.get(r.zone, []),
                    "silence_alerts": [
                        a.as_dict(ctx.station.tz) for a in dead_air if a.zone_id == r.zone
                    ],
                    "relays": [
                        _relay_json(w, ctx.station.tz) for w in week_relays.by_zone.get(r.zone, [])
                    ],
                    "unreal_entries_in_week": report.unreal_in_week,
                    "unreal_counted": include_unreal,
                }
                for r in report.rows
            ]
        )
        return
    if warning:
        out.print(Text(warning, style="bold red"))
    out.print(status_table(report, ctx.station.name, ctx.station.requirements))
    if week_relays.windows:
        out.print(relays_table(week_relays.windows, ctx.station))
    if misses:
        out.print(misses_table(misses, ctx.station.tz))
    for line in dead_air_lines(dead_air, ctx.station):
        out.print(Text(line, style="bold red"))
    for line in unairable_lines(ctx, bulletins.unairable(ctx)):
        out.print(Text(line, style="yellow"))
    for note in bulletins.audio_notes(ctx):
        out.print(Text(f"{_('fallback audio')}: {note.bulletin_id}: {note.note}", style="yellow"))
    out.print(
        _("as-run log: {n} entries, head {hash}").format(
            n=report.head_count, hash=report.head_hash[:16]
        )
    )
    if report.legacy_in_week:
        out.print(Text(legacy_note(report.legacy_in_week), style="yellow"))
    if warning:
        out.print(Text(warning, style="bold red"))
    _print_station_key(ctx)


def dead_air_lines(found, station: Station) -> list[str]:
    """One line per dead-air alert of the week (latest first), under a heading."""
    if not found:
        return []
    names = {z.id: z.name for z in station.zones}
    lines = [_("Dead air this week ({n}):").format(n=len(found))]
    for a in found:
        text = _("{zone}: silent from {time} for {seconds} s during {what}").format(
            zone=names.get(a.zone_id, a.zone_id),
            time=fmt_local(a.started_at, station.tz, with_seconds=True),
            seconds=round(a.seconds),
            what=a.what,
        )
        if a.ongoing:
            text += " " + _("(still silent)")
        if a.hook and a.hook != "ok":
            text += " " + _("(alert hook failed: {why})").format(why=a.hook)
        lines.append("  " + text)
    return lines


def legacy_note(n: int) -> str:
    return _(
        "{n} outcome(s) of this week were logged before the log carried campaign and week: "
        "those two come from the schedule table, which the hash chain does not protect"
    ).format(n=n)


def _print_station_key(ctx) -> None:
    """The station key's public half (docs/SECURITY.md), or that there is none."""
    from broadcaster.cli.log_cmds import station_key_line

    out.print(station_key_line(ctx), markup=False)


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
    from broadcaster.cli.common import reason_text
    from broadcaster.i18n import status_word  # display words

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
            status_word(m.outcome),
            reason_text(m.reason),
            style="red",
        )
    return table


def status_table(
    report: schedule.StatusReport,
    station_name: str,
    requirements: Sequence[Requirement] = (),
) -> Table:
    """The compliance table operators read, shared by ``status`` and ``demo``.

    A requirement shows by its title (the words of the station's plan, not its id), and
    ``aired`` / ``planned`` say "counted of all" when a zone did more than the minimum:
    the minimum is what compliance counts, everything is what the operator hears."""
    from broadcaster.i18n import state_word  # display words; --json keeps the values

    titles = {r.id: r.title for r in requirements if r.title}
    table = Table(
        _("zone"),
        _("requirement"),
        pgettext("column", "required"),
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
            titles.get(r.requirement, r.requirement),
            str(r.required),
            _counted_of(r.aired, r.aired_total),
            _counted_of(r.planned, r.planned_total),
            str(r.failed),
            str(r.missed),
            state_word(r.state),
            r.note,
            style=STATE_STYLE.get(r.state),
        )
    return table


def _counted_of(counted: int, total: int) -> str:
    """``2`` when all count; ``2 (in all 5)`` when 5 happened and 2 count towards the
    minimum."""
    if total <= counted:
        return str(counted)
    return _("{counted} (in all {total})").format(counted=counted, total=total)


schedule_app = typer.Typer(
    help="The schedule as a whole: list its airings (with their ids), export it for other tools."
)


@schedule_app.command("export")
def export(
    ics: Path = typer.Option(..., "--ics", help="iCalendar file to write (.ics)."),
    period: str = typer.Option(
        None, "--period", help="2026-W48, 2026-11, 2026-H2... (default: this week and the next 3)."
    ),
    date_from: str = typer.Option(None, "--from", help="First local day (with --to)."),
    date_to: str = typer.Option(None, "--to", help="Last local day, inclusive."),
) -> None:
    """Planned airings as iCalendar: one event per session per zone, bulletins in the text,
    and one per relay window per zone."""
    from broadcaster.app.calendar import export_ics  # icalendar only for this command

    ctx = open_station()
    n, airings, relay_windows = export_ics(ctx, ics, period, date_from, date_to)
    if relay_windows:
        out.print(
            _("{path}: {n} events, {m} planned airings, {r} relay windows").format(
                path=ics, n=n, m=airings, r=relay_windows
            )
        )
    else:
        out.print(_("{path}: {n} events, {m} planned airings").format(path=ics, n=n, m=airings))


@schedule_app.command("list")
def schedule_list(
    week: str = typer.Option(None, "--week", help="ISO week, e.g. 2026-W48 (default: this week)."),
    zone: str = typer.Option(None, "--zone", help="Only this zone."),
    state: str = typer.Option(
        None,
        "--state",
        help="Only airings in this state: planned, playing, aired, failed, missed, "
        "interrupted, cancelled.",
    ),
    as_json: bool = Json,
) -> None:
    """The week's airings with the ids 'cancel' takes, in time order."""
    ctx = open_station()
    label = week or schedule.current_week(ctx)
    rows = schedule.list_airings(ctx, label, zone, state)
    tz = ctx.station.tz
    if as_json:
        print_json([_row_json(r, tz) for r in rows])
        return
    from broadcaster.cli.common import reason_text
    from broadcaster.i18n import origin_word, priority_word, status_word  # display words

    table = Table(
        _("airing"),
        _("zone"),
        _("time"),
        _("session"),
        _("bulletin"),
        _("priority"),
        _("origin"),
        _("state"),
        _("reason"),
        title=_("{week}: {n} airing(s)").format(week=label, n=len(rows)),
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.zone_id,
            fmt_local(r.scheduled_at, tz, with_seconds=True),
            r.session_id or "-",
            r.bulletin_id,
            priority_word(r.priority),
            origin_word(r.origin),
            status_word(r.status),
            reason_text(r.reason),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command()(plan)
    app.command()(queue)
    app.command()(cancel)
    app.command()(emergency)
    app.command()(status)
