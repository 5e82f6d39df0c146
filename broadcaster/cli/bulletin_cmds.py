"""bulletins (list), bulletins submit / reject / diff: the editorial trail of scripts."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from broadcaster.app import editorial
from broadcaster.app.actors import Actor
from broadcaster.cli.common import By, Json, open_station, out, print_json
from broadcaster.i18n import _, editorial_word

bulletins_app = typer.Typer(
    help="Bulletins and their editorial state (draft, awaiting approval, approved, "
    "changed since approval, sent back, expired); submit one for approval, or send it back.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(bulletins_app, name="bulletins")


STATE_STYLE = {"approved": "green", "pending": "yellow", "rejected": "red", "expired": "dim"}


@bulletins_app.callback()
def bulletins_list(ctx: typer.Context, as_json: bool = Json) -> None:
    """List the bulletins with their editorial state and the latest decision."""
    if ctx.invoked_subcommand is not None:
        return
    station = open_station()
    rows, problems = editorial.list_bulletins(station)
    if as_json:
        print_json(
            {
                "bulletins": [r.as_dict() for r in rows],
                "problems": [p.as_dict() for p in problems],
            }
        )
        return
    table = Table(_("bulletin"), _("title"), _("author"), _("state"), _("note"))
    for r in rows:
        note = ""
        if r.review is not None and r.state == "rejected":
            note = _("sent back by {by}: {reason}").format(by=r.review.by, reason=r.review.reason)
        elif r.review is not None and r.state == "pending":
            note = _("submitted by {by}").format(by=r.review.by)
        table.add_row(
            r.id,
            escape(r.bulletin.title),
            escape(r.bulletin.author or ""),
            editorial_word(r.state),
            escape(note),
            style=STATE_STYLE.get(r.state),
        )
    out.print(table)
    for p in problems:
        out.print(f"[red]{escape(str(p))}[/red]")


@bulletins_app.command("submit")
def submit(bulletin_id: str = typer.Argument(..., metavar="ID"), by: str = By) -> None:
    """Send a bulletin's current content to the approvers."""
    station = open_station()
    review = editorial.submit(station, Actor.local_cli(by=by), bulletin_id)
    out.print(
        _("{id} submitted for approval ({sha})").format(
            id=bulletin_id, sha=review.script_sha256[:12]
        )
    )


@bulletins_app.command("reject")
def reject(
    bulletin_id: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., "--reason", help="Why it is sent back (the officer reads it)."),
    by: str = By,
) -> None:
    """Send a bulletin's current content back to its officer, with the reason."""
    station = open_station()
    editorial.reject(station, Actor.local_cli(by=by), bulletin_id, reason)
    out.print(_("{id} sent back: {reason}").format(id=bulletin_id, reason=reason), markup=False)


@bulletins_app.command("diff")
def diff(bulletin_id: str = typer.Argument(..., metavar="ID")) -> None:
    """What changed in a bulletin since the version last approved."""
    station = open_station()
    changes = editorial.changes_since_approval(station, bulletin_id)
    if changes is None:
        out.print(_("{id}: no approved version to compare with").format(id=bulletin_id))
    elif not changes:
        out.print(_("{id}: unchanged since it was approved").format(id=bulletin_id))
    else:
        out.print(changes, markup=False, highlight=False, end="")
