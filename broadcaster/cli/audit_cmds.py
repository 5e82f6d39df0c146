"""audit (list) and audit verify: who did, or tried to do, what."""

from __future__ import annotations

from datetime import time, timedelta

import typer
from rich.table import Table

from broadcaster.app.audit import AuditTrail
from broadcaster.cli.common import Json, open_station, out, print_json
from broadcaster.core.timeutil import fmt_local, local_to_utc, parse_local_date
from broadcaster.i18n import _

audit_app = typer.Typer(
    help="The audit trail: every change, refusal and sign-in; list it, or verify its chain.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit_list(
    ctx: typer.Context,
    date_from: str = typer.Option(None, "--from", help="First local day, e.g. 2026-11-23."),
    date_to: str = typer.Option(None, "--to", help="Last local day (inclusive)."),
    user: str = typer.Option(
        None, "--user", help="Only this actor (a user name, cli:<os user>, or a --by name)."
    ),
    as_json: bool = Json,
) -> None:
    """List audit entries by the time they were recorded (local days, inclusive)."""
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
    entries = AuditTrail(station.db, station.clock).entries(start, end, user)
    if as_json:
        print_json(
            [
                {
                    "seq": e.seq,
                    "recorded_at": e.recorded_at.astimezone(tz).isoformat(),
                    "actor": e.actor,
                    "by": e.by,
                    "roles": e.roles,
                    "face": e.face,
                    "address": e.address,
                    "action": e.action,
                    "target": e.target,
                    "result": e.result,
                    "detail": e.detail,
                    "entry_hash": e.entry_hash,
                }
                for e in entries
            ]
        )
        return
    table = Table(
        "#",
        _("time"),
        _("actor"),
        _("roles"),
        _("face"),
        _("action"),
        _("target"),
        _("result"),
        _("detail"),
    )
    for e in entries:
        who = f"{e.actor} ({e.by})" if e.by else e.actor
        table.add_row(
            str(e.seq),
            fmt_local(e.recorded_at, tz, with_seconds=True),
            who,
            e.roles,
            f"{e.face} {e.address}".strip(),
            e.action,
            e.target,
            e.result,
            e.detail,
        )
    out.print(table)


@audit_app.command("verify")
def audit_verify(as_json: bool = Json) -> None:
    """Check the audit trail's hash chain: an edited, deleted, reordered or cut-off entry
    exits 1."""
    station = open_station()
    report = AuditTrail(station.db, station.clock).verify()
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
                _("audit trail intact: {n} entries, head {hash}").format(
                    n=report.count, hash=report.head_hash[:16]
                )
            )
        else:
            out.print(
                _("audit trail TAMPERED: {n} problem(s)").format(n=len(report.problems)),
                style="bold red",
            )
    if not report.ok:
        raise typer.Exit(1)
