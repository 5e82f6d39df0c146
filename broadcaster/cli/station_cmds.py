"""check, render, approve, schema."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broadcaster.app import approvals, bulletins, checks
from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext, load_config, station_root
from broadcaster.app.probe import probe_outputs
from broadcaster.cli.common import Json, err, name_option, open_station, out, print_json, state
from broadcaster.core.errors import BroadcasterError, ConfigErrors, Problem
from broadcaster.i18n import _


def check(
    as_json: bool = Json,
    online: bool = typer.Option(
        False,
        "--online",
        help="Also try the outputs: play 1 s of silence through each player output and "
        "say when it cannot open its device.",
    ),
) -> None:
    """Validate the station configuration, every script and the files they name
    (recordings probed with ffmpeg, key files' permissions); write nothing."""
    root = station_root(state.station)
    problems: list[Problem] = []
    scripts = []
    ctx = None
    try:
        station = load_config(root)
    except ConfigErrors as exc:
        problems.extend(exc.problems)
    else:
        from broadcaster.i18n import use_station_language  # the one rule, as open_station

        use_station_language(station.language)
        ctx = StationContext(root, station, state.db or f"sqlite:///{root / 'station.db'}")
        scripts, script_problems = ctx.scripts()
        problems.extend(script_problems)
        problems.extend(bulletins.script_warnings(ctx, scripts))
        problems.extend(checks.audit(root, station, scripts))
        if online:
            problems.extend(probe_outputs(root, station))
    states: dict[str, str] = {}
    if ctx is not None:
        try:
            states = approvals.approval_states_readonly(ctx, scripts)
        except BroadcasterError as exc:
            problems.append(exc.problem)
    lost = {bid for bid, st in states.items() if st in ("audio-missing", "changed-since-approval")}
    notes = {}
    if ctx is not None:
        risky = approvals.airings_at_risk(ctx, lost, readonly=True)
        notes = {bid: approvals.at_risk_note(ctx, airings) for bid, airings in risky.items()}
    problems.extend(approvals.approval_warnings(scripts, states, notes))
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        print_json(
            {
                "ok": not errors,
                "bulletins": [
                    {
                        "id": b.id,
                        "title": b.title,
                        "priority": b.priority.value,
                        "campaign": b.campaign,
                        "zones": list(b.zone_ids),
                        "path": b.source_path,
                        "approval": states.get(b.id),
                    }
                    for b in scripts
                ],
                "problems": [p.as_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            (err.print(str(p), style="red" if p.severity == "error" else "yellow", markup=False))
        if not errors:
            out.print(
                _("ok: station '{name}', {zones} zones, {n} bulletins").format(
                    name=ctx.station.name if ctx else "?",
                    zones=len(ctx.station.zones) if ctx else 0,
                    n=len(scripts),
                )
            )
    if errors:
        raise typer.Exit(1)


def render(
    ids: list[str] = typer.Argument(None, help="Bulletin ids (default: all)."),
    force: bool = typer.Option(False, "--force", help="Produce again even if cached."),
    offline: bool = typer.Option(False, "--offline", help="Use offline engines only."),
    jobs: int = typer.Option(
        0, "--jobs", "-j", min=0, max=64, help="Worker processes (default: one per core)."
    ),
    as_json: bool = Json,
) -> None:
    """Turn scripts into broadcast-ready audio under audio/rendered/.

    Each bulletin is spoken by the first engine of the station's chain that works,
    laid out with pauses, jingles and the optional repeat, and normalised to the
    station's loudness. Unchanged input is a cache hit. Exit code 1 if any failed."""
    ctx = open_station()
    engines = None
    if offline:
        engines = bulletins.offline_engines(ctx)
    workers = jobs or os.cpu_count() or 1
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as progress:
        total = len(ids) if ids else len(ctx.scripts()[0])
        task = progress.add_task(_("rendering"), total=total)
        outcomes = bulletins.render(
            ctx,
            ids or None,
            force=force,
            engines=engines,
            workers=workers,
            on_done=lambda o: progress.advance(task),
        )
    if as_json:
        print_json([asdict(o) for o in outcomes])
    else:
        out.print(render_table(outcomes))
    if any(o.error for o in outcomes):
        raise typer.Exit(1)


def render_table(outcomes: list[bulletins.RenderOutcome]) -> Table:
    table = Table(
        _("bulletin"),
        _("engine"),
        _("duration"),
        _("LUFS"),
        _("peak dBTP"),
        _("cache"),
        _("file / error"),
    )
    for o in outcomes:
        if o.error:
            table.add_row(o.bulletin_id, "", "", "", "", "", o.error, style="red")
            continue
        engine = f"{o.engine} {o.voice}".strip()
        if o.fallback:
            engine += " " + _("(fallback: {preferred} failed)").format(preferred=o.preferred)
        table.add_row(
            o.bulletin_id,
            engine,
            f"{o.duration_seconds:.1f} s",
            _number(o.loudness_lufs),
            _number(o.true_peak_dbtp),
            _("cached") if o.cached else _("new"),
            o.path,
            style="yellow" if o.fallback else None,
        )
    return table


def _number(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "?"


def approve(
    bulletin_id: str = typer.Argument(..., metavar="ID"),
    by: str = typer.Option(..., "--by", callback=name_option, help="Name of the approving leader."),
) -> None:
    """Approve a bulletin's exact current content (script and audio) for airing."""
    ctx = open_station()
    approval = approvals.approve(ctx, bulletin_id, Actor.local_cli(by=by))
    out.print(
        _("approved {id} by {by} (audio {sha})").format(
            id=bulletin_id, by=approval.approved_by, sha=approval.audio_sha256[:12]
        )
    )
    warning = approvals.approved_audio_warning(ctx, approval)
    if warning:
        out.print(f"[yellow]{_('warning')}: {escape(warning)}[/yellow]")


def schema(
    out_dir: Path = typer.Option(None, "--out", help="Write the JSON Schemas to this folder."),
) -> None:
    """Print (or write) the JSON Schemas of station.yaml and script front matter."""
    schemas = checks.json_schemas()
    if out_dir is None:
        print_json(schemas)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, body in schemas.items():
        (out_dir / name).write_text(
            json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        out.print(str(out_dir / name))


def init(
    directory: Path = typer.Argument(
        ..., help="The new station's folder (created if missing; it must be empty)."
    ),
    name: str = typer.Option(
        ..., "--name", help='The station\'s name, e.g. "Đài truyền thanh xã Tân Kỳ".'
    ),
    station_id: str = typer.Option(
        None, "--id", help="The station's id, a slug (default: made from the name)."
    ),
    timezone: str = typer.Option(
        "Asia/Ho_Chi_Minh", "--timezone", help="The station's time zone (IANA name)."
    ),
    as_json: bool = Json,
) -> None:
    """Make a new, empty station folder that check accepts: the station itself as its one
    zone, the file output, quiet hours at night, no sessions or requirements yet."""
    from broadcaster.app.new_station import init_station

    made = init_station(directory, name, station_id, timezone)
    if as_json:
        print_json(made.as_dict())
        return
    out.print(
        _(
            "new station '{id}' in {dir}: add its clusters, sessions and requirements in "
            "{file}, then run check"
        ).format(id=made.station_id, dir=made.root, file="schedules/station.yaml"),
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(check)
    app.command()(render)
    app.command()(approve)
    app.command()(schema)
