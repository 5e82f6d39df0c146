"""log (list) and log verify."""

from __future__ import annotations

import csv
import sys
from datetime import time, timedelta
from pathlib import Path

import typer
from rich.table import Table

from broadcaster.app import logbook
from broadcaster.cli.common import Json, open_station, out, print_json, unreal_warning, warn
from broadcaster.core.timeutil import local_to_utc, parse_local_date
from broadcaster.i18n import _

log_app = typer.Typer(
    help="The as-run log: list it, verify its hash chain, sign and export its head.",
    invoke_without_command=True,
    no_args_is_help=False,
)

# The exported entry: the hashed fields (with ``zone`` for ``zone_id``) and the hash.
FIELDS = [("zone" if f == "zone_id" else f) for f in logbook.HASHED_FIELDS] + ["entry_hash"]


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
    start = local_to_utc(parse_local_date(date_from, "from"), time(0), tz) if date_from else None
    end = (
        local_to_utc(parse_local_date(date_to, "to"), time(0), tz) + timedelta(days=1)
        if date_to
        else None
    )
    rows = logbook.log_rows(station, start, end, zone)
    if as_json:
        print_json(rows)
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        from broadcaster.cli.common import reason_text
        from broadcaster.i18n import status_word  # display words; --json/--csv keep values

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
                status_word(r["outcome"]),
                reason_text(r["reason"]),
                r["triggered_by"],
            )
        out.print(table)


def station_key_line(station) -> str:
    """``station key: <public key hex> (fingerprint ...)``, or how to make one."""
    public = logbook.public_key(station)
    if public is None:
        return _("station key: none yet (broadcaster keys init)")
    return _("station key: {key} (fingerprint {fp})").format(
        key=public, fp=logbook.fingerprint(public)
    )


@log_app.command("verify")
def log_verify(
    against: Path = typer.Option(
        None,
        "--against",
        metavar="FILE",
        help="Also check the log against a head exported earlier (log head --export), a "
        "JSON report or an evidence pack: the log must still hold that head.",
    ),
    as_json: bool = Json,
) -> None:
    """Check the hash chain, the signed heads, and optionally a head kept elsewhere.

    Any edited, deleted, reordered or cut-off entry, a stored head whose signature or
    content does not hold, or a log that no longer contains the --against head exits 1.
    """
    station = open_station()
    check = logbook.verify_signed(station, against)
    report = check.chain
    problems = report.problems + check.problems
    if as_json:
        print_json(
            {
                "ok": check.ok,
                "entries": report.count,
                "head_hash": report.head_hash,
                "stored_count": report.stored_count,
                "stored_hash": report.stored_hash,
                "unreal": report.unreal,
                "unreal_entries": report.unreal_count,
                "legacy_entries": report.legacy,
                "signed_heads_checked": check.heads_checked,
                "against": check.against or None,
                "station_public_key": check.public_key,
                "notes": check.notes,
                "problems": problems,
            }
        )
        warn(unreal_warning(report.unreal, included=False))
    else:
        for note in check.notes:
            out.print(note, style="yellow", markup=False)
        for p in problems:
            out.print(p, style="red", markup=False)
        if check.ok:
            out.print(
                _("log intact: {n} entries, head {hash}; {h} signed head(s) hold").format(
                    n=report.count, hash=report.head_hash[:16], h=check.heads_checked
                ),
                markup=False,
            )
            if check.against:
                out.print(_("contains the head of {what}").format(what=check.against), markup=False)
        else:
            out.print(_("log TAMPERED: {n} problem(s)").format(n=len(problems)), style="bold red")
        if report.legacy:
            out.print(
                _(
                    "{n} entries predate the hashed campaign and week fields: for them, "
                    "status and reports take both from the schedule table (not chained)"
                ).format(n=report.legacy),
                style="yellow",
                markup=False,
            )
        warning = unreal_warning(report.unreal, included=False)
        if warning:
            out.print(warning, style="bold red", markup=False)
        out.print(station_key_line(station), markup=False)
    if not check.ok:
        raise typer.Exit(1)


@log_app.command("head")
def log_head(
    export: Path = typer.Option(
        None,
        "--export",
        metavar="FILE",
        help="Also write the signed head to FILE (JSON), to keep outside the station.",
    ),
    as_json: bool = Json,
) -> None:
    """Sign the log's current head (count, newest hash, time) with the station key and
    store it; with --export, write it to a file for 'log verify --against'."""
    station = open_station()
    head = logbook.sign_log_head(station)
    data = logbook.export_head(head, export)
    if as_json:
        print_json(data)
        return
    out.print(
        _("signed head: {n} entries, {hash}, at {at}").format(
            n=head.count, hash=head.head_hash[:16], at=data["signed_at"]
        ),
        markup=False,
    )
    if export is not None:
        out.print(_("written to {path}").format(path=export), markup=False)
    out.print(station_key_line(station), markup=False)
