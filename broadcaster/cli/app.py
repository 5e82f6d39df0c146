"""``broadcaster``: the station's command line."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from broadcaster import __version__
from broadcaster.cli import common
from broadcaster.cli.common import err
from broadcaster.core.errors import BroadcasterError, ConfigErrors

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
) -> None:
    common.state.station = station
    common.state.db = db


from broadcaster.cli import (  # noqa: E402
    keys_cmds,
    log_cmds,
    network_cmds,
    report_cmds,
    run_cmds,
    schedule_cmds,
    station_cmds,
    text_cmds,
)

station_cmds.register(app)
text_cmds.register(app)
schedule_cmds.register(app)
app.add_typer(log_cmds.log_app, name="log")
run_cmds.register(app)
network_cmds.register(app)
report_cmds.register(app)
keys_cmds.register(app)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; user mistakes become one line on stderr and an exit code.

    Click keeps usage errors (exit 2) and ``--help`` in standalone mode; everything the
    station itself refuses arrives here as a BroadcasterError.
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
    return 0


def main() -> None:
    sys.exit(run())
