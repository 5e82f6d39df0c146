"""report and evidence: the documents a commune files twice a year."""

from __future__ import annotations

from pathlib import Path

import typer

from broadcaster.app import evidence
from broadcaster.app import reports as build
from broadcaster.cli.common import open_station, out, unreal_warning
from broadcaster.i18n import _

PeriodOpt = typer.Option(None, "--period", help=f"Reporting period: {build.PERIOD_HELP}.")
FromOpt = typer.Option(None, "--from", help="First local day (with --to), e.g. 2026-01-01.")
ToOpt = typer.Option(None, "--to", help="Last local day, inclusive.")
ZonesOpt = typer.Option(None, "--zones", help="'all' (default) or zone ids: z1,z2,...")
UnrealOpt = typer.Option(
    False,
    "--include-unreal",
    help="Count log entries made under a simulated or shifted clock as if real (for "
    "simulations, demos and tests): the report then says so in capitals on its first page. "
    "Without it they are counted apart and never as aired.",
)


def report(
    period: str = PeriodOpt,
    date_from: str = FromOpt,
    date_to: str = ToOpt,
    zones: str = ZonesOpt,
    fmt: str = typer.Option(
        None,
        "--format",
        help="docx | xlsx | csv | json | pdf (default: from --out's extension). "
        "csv is the raw log; pdf needs LibreOffice.",
    ),
    out_path: Path = typer.Option(
        ..., "--out", help="File to write (replaced only when complete)."
    ),
    include_unreal: bool = UnrealOpt,
) -> None:
    """Write the evidence report of a period, counted from the as-run log (in Vietnamese)."""
    fmt = build.resolve_format(fmt, out_path)
    ctx = open_station()
    scope, zone_ids = build.resolve_scope(ctx, period, date_from, date_to, zones)
    written = build.write_report(ctx, scope, zone_ids, fmt, out_path, include_unreal=include_unreal)
    _print_written(written, build.unreal_in_database(ctx) if written.figures is None else None)


def _print_written(written: build.Written, unreal: dict[str, int] | None = None) -> None:
    fig = written.figures
    if fig is None:
        out.print(
            _("{path}: {n} log entries").format(path=written.path, n=written.log_rows),
            markup=False,
        )
        if unreal:  # the raw log: each row's ``clock`` column says which
            out.print(unreal_warning(unreal, included=True), style="bold red", markup=False)
        return
    if fig.unreal_in_database:
        out.print(
            unreal_warning(fig.unreal_in_database, fig.include_unreal),
            style="bold red",
            markup=False,
        )
    if fig.empty:
        out.print(
            _(
                "{path}: {period}: nothing to report (no airing planned or logged in the period)"
            ).format(path=written.path, period=fig.period_key),
            style="yellow",
            markup=False,
        )
        return
    out.print(
        _(
            "{path}: {period}, {zones} zones, {aired} aired / {planned} planned, zone-weeks "
            "met {share} ({met}/{judged})"
        ).format(
            path=written.path,
            period=fig.period_key,
            zones=fig.zones_total,
            aired=fig.totals.aired,
            planned=fig.totals.planned,
            share=build.labels.pct(fig.share_met),
            met=fig.zone_weeks_met,
            judged=fig.zone_weeks_judged,
        )
        + (
            _(", {n} not over yet").format(n=fig.zone_weeks_not_over)
            if fig.zone_weeks_not_over
            else ""
        ),
        markup=False,
    )
    for extra in written.extra or []:
        out.print(
            _("{path}: the full log (more rows than an Excel sheet holds)").format(path=extra),
            markup=False,
        )


def evidence_cmd(
    period: str = PeriodOpt,
    date_from: str = FromOpt,
    date_to: str = ToOpt,
    zones: str = ZonesOpt,
    fmt: str = typer.Option(
        "docx", "--format", help="Format of the report inside the pack: docx | xlsx | json | pdf."
    ),
    with_audio: bool = typer.Option(
        False, "--with-audio", help="Also put every aired audio file in the pack."
    ),
    out_path: Path = typer.Option(..., "--out", help="The .zip to write."),
    include_unreal: bool = UnrealOpt,
) -> None:
    """Write an evidence pack (.zip): the report, the raw log CSV, the log's verification and
    a SHA-256 manifest of every file and of every aired audio file (optionally the audio)."""
    ctx = open_station()
    scope, zone_ids = build.resolve_scope(ctx, period, date_from, date_to, zones)
    pack = evidence.write_pack(
        ctx, scope, zone_ids, fmt, out_path, with_audio=with_audio, include_unreal=include_unreal
    )
    unreal = build.unreal_in_database(ctx)
    if unreal:
        out.print(unreal_warning(unreal, include_unreal), style="bold red", markup=False)
    out.print(
        _("{path}: {n} files, {audio} aired audio file(s) listed").format(
            path=pack.path, n=len(pack.files), audio=pack.audio_files
        )
        + (_(" ({n} included)").format(n=pack.audio_included) if with_audio else "")
        + (_(", log intact") if pack.log_ok else _(", log TAMPERED")),
        markup=False,
    )
    for problem in pack.audio_problems:
        out.print(problem, style="yellow", markup=False)
    if not pack.log_ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command("evidence")(evidence_cmd)
