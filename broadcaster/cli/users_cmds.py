"""users list|add|passwd|roles|disable|enable: the people who may sign in to the station.

The shell acts as the local operator with every right (``cli:<os user>``, plus ``--by``);
every change is in the audit trail. No account and no password exists until made here:
the first admin is ``broadcaster users add NAME --role quan-tri``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from broadcaster.app.actors import Actor
from broadcaster.app.roles import Role, describe, parse_roles
from broadcaster.app.users import User, UserService
from broadcaster.cli.common import Json, open_station, out, print_json
from broadcaster.core.errors import BroadcasterError, UsageProblem
from broadcaster.i18n import _

users_app = typer.Typer(
    help="User accounts: who may sign in, with which roles ("
    + "; ".join(f"{r.value} = {describe(r)}" for r in Role)
    + ").",
    no_args_is_help=True,
)

PasswordFile = typer.Option(
    None,
    "--password-file",
    help="Read the password from the first line of this file instead of asking for it.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


By = typer.Option(
    None, "--by", help="Your name, recorded in the audit trail next to cli:<os user>."
)


def _service() -> tuple[UserService, ZoneInfo]:
    ctx = open_station()
    return UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids), ctx.station.tz


def _actor(by: str | None) -> Actor:
    """The shell's actor; ``--by`` (or $BROADCASTER_OPERATOR) names the person at it."""
    return Actor.local_cli(by=by or os.environ.get("BROADCASTER_OPERATOR"))


def _read_password(path: Path | None) -> str:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BroadcasterError(
                _("cannot read the password file: {why}").format(why=exc.__class__.__name__),
                path=str(path),
            ) from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    if not sys.stdin.isatty():
        raise UsageProblem(_("no terminal to ask for the password: use --password-file FILE"))
    return typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)


def _print_user(user: User, as_json: bool) -> None:
    if as_json:
        print_json(user.as_dict())
        return
    out.print(_user_line(user), markup=False)


def _user_line(user: User) -> str:
    roles = ",".join(sorted(r.value for r in user.roles)) or "-"
    zones = ",".join(sorted(user.zones)) if user.zones is not None else _("all zones")
    state = _("disabled") if user.disabled else _("active")
    return f"{user.name}: {roles} ({zones}; {state})"


@users_app.command("list")
def users_list(as_json: bool = Json) -> None:
    """List the accounts, their roles, zones and whether they are disabled."""
    service, tz = _service()
    users = service.list()
    if as_json:
        print_json([u.as_dict() for u in users])
        return
    if not users:
        out.print(_("no users yet: add the first admin with 'users add NAME --role quan-tri'"))
        return
    table = Table(_("name"), _("full name"), _("roles"), _("zones"), _("state"), _("changed"))
    for u in users:
        table.add_row(
            u.name,
            u.full_name,
            ",".join(sorted(r.value for r in u.roles)),
            ",".join(sorted(u.zones)) if u.zones is not None else _("all"),
            _("disabled") if u.disabled else _("active"),
            u.changed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="The user name typed to sign in."),
    role: list[str] = typer.Option(
        ...,
        "--role",
        help="A role (repeat, or comma-separated): soan-tin, duyet, van-hanh, bao-cao, quan-tri.",
    ),
    zone: list[str] = typer.Option(
        None, "--zone", help="Limit the operator's actions to this zone (repeatable)."
    ),
    full_name: str = typer.Option("", "--full-name", help="The person's full name."),
    password_file: Path = PasswordFile,
    by: str = By,
    as_json: bool = Json,
) -> None:
    """Add an account (the password is asked twice, or read with --password-file)."""
    roles = parse_roles(role, "role")
    service, _tz = _service()
    password = _read_password(password_file)
    user = service.add(_actor(by), name, password, roles, full_name=full_name, zones=zone or None)
    if not as_json:
        out.print(_("added {line}").format(line=_user_line(user)), markup=False)
    else:
        _print_user(user, as_json)


@users_app.command("passwd")
def users_passwd(
    name: str = typer.Argument(..., help="The user name."),
    password_file: Path = PasswordFile,
    by: str = By,
) -> None:
    """Set a new password (asked twice, or read with --password-file)."""
    service, _tz = _service()
    service.get(name)  # a clear error before asking for a password
    user = service.passwd(_actor(by), name, _read_password(password_file))
    out.print(_("password changed for {name}").format(name=user.name), markup=False)


@users_app.command("roles")
def users_roles(
    name: str = typer.Argument(..., help="The user name."),
    set_to: list[str] = typer.Option(None, "--set", help="Replace the roles with these."),
    add: list[str] = typer.Option(None, "--add", help="Add a role (repeatable)."),
    remove: list[str] = typer.Option(None, "--remove", help="Remove a role (repeatable)."),
    zone: list[str] = typer.Option(
        None, "--zone", help="Limit the operator's actions to these zones (replaces the limit)."
    ),
    all_zones: bool = typer.Option(False, "--all-zones", help="Lift the zone limit."),
    by: str = By,
    as_json: bool = Json,
) -> None:
    """Show a user's roles, or change them (--set, --add, --remove, --zone, --all-zones)."""
    if zone and all_zones:
        raise UsageProblem(_("--zone and --all-zones cannot be used together"))
    service, _tz = _service()
    changing = bool(set_to or add or remove or zone or all_zones)
    if not changing:
        _print_user(service.get(name), as_json)
        return
    zones: list[str] | bool | None = False
    if zone:
        zones = zone
    elif all_zones:
        zones = None
    user = service.set_roles(
        _actor(by),
        name,
        set_to=parse_roles(set_to, "set") if set_to else None,
        add=parse_roles(add or [], "add"),
        remove=parse_roles(remove or [], "remove"),
        zones=zones,
    )
    _print_user(user, as_json)


@users_app.command("disable")
def users_disable(name: str = typer.Argument(..., help="The user name."), by: str = By) -> None:
    """Stop an account from signing in (kept, with its history)."""
    service, _tz = _service()
    user = service.disable(_actor(by), name)
    out.print(_("disabled {name}").format(name=user.name), markup=False)


@users_app.command("enable")
def users_enable(name: str = typer.Argument(..., help="The user name."), by: str = By) -> None:
    """Let a disabled account sign in again."""
    service, _tz = _service()
    user = service.enable(_actor(by), name)
    out.print(_("enabled {name}").format(name=user.name), markup=False)
