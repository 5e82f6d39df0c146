"""log (list) and log verify."""

from __future__ import annotations

import csv
import sys
from datetime import time, timedelta

import typer
from rich.table import Table

from broadcaster.cli.common import Json, open_station, out, print_json
from broadcaster.core.timeutil import local_to_utc, parse_local_date
from broadcaster.i18n import _
from broadcaster.ops import actions
from broadcaster.store import aslog

log_app = typer.Typer(
    help="The as-run log: list it, or verify its hash chain.",
    invoke_without_command=True,
    no_args_is_help=False,
)

# The exported entry: the hashed fields (with ``zone`` for ``zone_id``) and the hash.
FIELDS = [("zone" if f == "zone_id" else f) for f in aslog.HASHED_FIELDS] + ["entry_hash"]


@log_app.callback()
def log_list(
    ctx: typer.Context,
    date_from: str = typer.Option(None, "--from", help="First local day, e.g. 2026-11-23."),
    date_to: str = typer.Option(None, "--to", help="Last local day (inclusive)."),
    zone: str = typer.Option(None, "--zone", help="Only this zone."),
    as_json: bool = Json,
    as_csv: bool = typer.Option(False, "--csv", help="CSV on standard output."),
) -> None:
    """List log entries by scheduled time (local days, inclusive)."""
    if ctx.invoked_subcommand is not None:
        return
    station = open_station()
    tz = station.station.tz
    start = local_to_utc(parse_local_date(date_from, "--from"), time(0), tz) if date_from else None
    end = (
        local_to_utc(parse_local_date(date_to, "--to"), time(0), tz) + timedelta(days=1)
        if date_to
        else None
    )
    rows = actions.log_rows(station, start, end, zone)
    if as_json:
        print_json(rows)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(
            _("seq"),
            _("airing"),
            _("zone"),
            _("bulletin"),
            _("scheduled"),
            _("started"),
            _("ended"),
            _("outcome"),
            _("reason"),
            _("by"),
        )
        for r in rows:
            table.add_row(
                str(r["seq"]),
                str(r["airing_id"]) if r["airing_id"] is not None else "-",
                r["zone"],
                r["bulletin_id"],
                (r["scheduled_at"] or "")[:16].replace("T", " "),
                (r["started_at"] or "")[11:19],
                (r["ended_at"] or "")[11:19],
                r["outcome"],
                r["reason"],
                r["triggered_by"],
            )
        out.print(table)


@log_app.command("verify")
def log_verify(as_json: bool = Json) -> None:
    """Check the hash chain: any edited, deleted, reordered or cut-off entry exits 1."""
    station = open_station()
    report = actions.verify(station)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "entries": report.count,
                "head_hash": report.head_hash,
                "stored_count": report.stored_count,
                "stored_hash": report.stored_hash,
                "problems": report.problems,
            }
        )
    else:
        for p in report.problems:
            out.print(p, style="red", markup=False)
        if report.ok:
            out.print(
                _("log intact: {n} entries, head {hash}").format(
                    n=report.count, hash=report.head_hash[:16]
                )
            )
        else:
            out.print(
                _("log TAMPERED: {n} problem(s)").format(n=len(report.problems)), style="bold red"
            )
    if not report.ok:
        raise typer.Exit(1)
