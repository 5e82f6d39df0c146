"""``broadcaster``: the station's command line."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import typer

from broadcaster import __version__
from broadcaster.cli import common
from broadcaster.cli.common import err
from broadcaster.core.errors import BroadcasterError, ConfigErrors, first_line
from broadcaster.i18n import LANGUAGES, _, set_language

app = typer.Typer(
    name="broadcaster",
    help="Commune loudspeaker radio: Vietnamese bulletins to audio, weekly plans, timed "
    "playout and a tamper-evident as-run log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"broadcaster {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    station: Path = typer.Option(
        None,
        "--station",
        envvar="BROADCASTER_STATION",
        help="Station directory (default: the current directory).",
    ),
    db: str = typer.Option(
        None,
        "--db",
        envvar="BROADCASTER_DB",
        help="Database URL (default: sqlite:///<station>/station.db).",
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="BROADCASTER_DEBUG",
        help="Show the Python traceback of an unexpected error (a bug to report).",
    ),
    lang: str = typer.Option(
        None,
        "--lang",
        help="Language of the messages: vi or en (default: LANGUAGE/LC_ALL/LANG when they "
        "name one, else the station's station.language, else vi).",
    ),
) -> None:
    if lang is not None and lang not in LANGUAGES:
        raise typer.BadParameter(
            _("'{lang}' is not one of {known}").format(lang=lang, known=", ".join(LANGUAGES)),
            param_hint="--lang",
        )
    set_language(lang)
    common.state.station = station
    common.state.db = db
    common.state.debug = debug


from broadcaster.cli import (  # noqa: E402
    audit_cmds,
    keys_cmds,
    log_cmds,
    network_cmds,
    report_cmds,
    run_cmds,
    schedule_cmds,
    station_cmds,
    text_cmds,
    users_cmds,
)

station_cmds.register(app)
text_cmds.register(app)
schedule_cmds.register(app)
app.add_typer(log_cmds.log_app, name="log")
run_cmds.register(app)
network_cmds.register(app)
report_cmds.register(app)
users_cmds.register(app)
audit_cmds.register(app)
keys_cmds.register(app)


#: Exit code of an unexpected error (a bug), apart from a user's mistake (1) or usage (2).
EXIT_BUG = 70


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes become one line on stderr and an exit code.

    Click keeps usage errors (exit 2) and ``--help`` in standalone mode; everything the
    station itself refuses arrives here as a BroadcasterError. The errors the machine
    can cause (a file that cannot be read, a database that is locked or damaged) are
    one line too, exit 1. Anything else is a bug: one line naming it, exit 70, and the
    traceback only with ``--debug`` or ``BROADCASTER_DEBUG=1``, so that a hostile input
    never prints the program's insides and a real bug is never silent.
    """
    try:
        app(args=argv, prog_name="broadcaster", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ConfigErrors as exc:
        for problem in exc.problems:
            err.print(str(problem), style="red", markup=False)
        return 1
    except BroadcasterError as exc:
        err.print(str(exc), style="red", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return _unexpected(exc)
    return 0


def _unexpected(exc: Exception) -> int:
    """One line for an error that is not the station's own refusal."""
    from broadcaster.app.errors import machine_error  # only when something went wrong

    known = machine_error(exc)
    if _debugging():
        traceback.print_exception(exc)
    if known is not None:
        err.print(known, style="red", markup=False)
        return 1
    err.print(
        _(
            "internal error: {kind}: {err} (run with --debug or BROADCASTER_DEBUG=1 for the "
            "traceback, and report it)"
        ).format(kind=type(exc).__name__, err=first_line(exc)),
        style="red",
        markup=False,
    )
    return EXIT_BUG


def _debugging() -> bool:
    env = os.environ.get("BROADCASTER_DEBUG", "").strip().lower()
    return common.state.debug or env in ("1", "true", "yes", "on")


def main() -> None:
    sys.exit(run())
