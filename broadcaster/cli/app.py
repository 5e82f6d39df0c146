"""``broadcaster``: the station's command line."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

import typer

from broadcaster import __version__
from broadcaster.cli import common, help_i18n
from broadcaster.cli.fields import error_line
from broadcaster.cli.lazy import LazyCommand, LazyGroup
from broadcaster.core.errors import BroadcasterError, ConfigErrors, first_line
from broadcaster.i18n import LANGUAGES, _, set_language


def _attach_log(module: ModuleType, app: typer.Typer) -> None:
    app.add_typer(module.log_app, name="log")


_STATION = "broadcaster.cli.station_cmds"
_TEXT = "broadcaster.cli.text_cmds"
_SCHEDULE = "broadcaster.cli.schedule_cmds"
_RUN = "broadcaster.cli.run_cmds"
_NETWORK = "broadcaster.cli.network_cmds"
_REPORT = "broadcaster.cli.report_cmds"

#: The root's commands, in the order ``--help`` lists them (Typer's: commands, then
#: groups), with the first sentence of each one's own help: the listing needs no import.
#: tests/test_startup.py holds these to the modules' docstrings and ``help=`` texts.
COMMANDS = (
    LazyCommand(
        "init",
        _STATION,
        "Make a new, empty station folder that check accepts: the station itself as its "
        "one zone, the file output, quiet hours at night, no sessions or requirements yet.",
    ),
    LazyCommand(
        "check",
        _STATION,
        "Validate the station configuration, every script and the files they name "
        "(recordings probed with ffmpeg, key files' permissions); write nothing.",
    ),
    LazyCommand(
        "render", _STATION, "Turn scripts into broadcast-ready audio under audio/rendered/."
    ),
    LazyCommand(
        "approve",
        _STATION,
        "Approve a bulletin's exact current content (script and audio) for airing.",
    ),
    LazyCommand(
        "schema",
        _STATION,
        "Print (or write) the JSON Schemas of station.yaml and script front matter.",
    ),
    LazyCommand(
        "normalize",
        _TEXT,
        "Print the spoken form of written Vietnamese (one output line per input line).",
    ),
    LazyCommand(
        "preview",
        _TEXT,
        "Show the spoken text of a script, exactly as the TTS engine receives it.",
    ),
    LazyCommand(
        "plan",
        _SCHEDULE,
        "Book the week: what every requirement needs, then each session filled in rotation.",
    ),
    LazyCommand(
        "queue", _SCHEDULE, "Book one airing of a bulletin on a zone at a given local time."
    ),
    LazyCommand("cancel", _SCHEDULE, "Cancel a planned airing (logged as cancelled)."),
    LazyCommand(
        "emergency",
        _SCHEDULE,
        "Air an emergency now on the zones, interrupting what plays; quiet hours do not apply.",
    ),
    LazyCommand(
        "status",
        _SCHEDULE,
        "Per zone and requirement: required, aired, planned, failed/missed and a state, "
        "counted from the hashed as-run log (planned airings from the schedule).",
    ),
    LazyCommand(
        "live",
        "broadcaster.cli.live_cmds",
        "Go live now: the sound-card input to the zones, above scheduled content and below "
        "emergencies, until Ctrl+C or the time-out; recorded, and logged per zone with the "
        "recording's SHA-256 and the speaker.",
    ),
    LazyCommand(
        "run",
        _RUN,
        "The station daemon: airs what the database says, on time, until SIGTERM.",
    ),
    LazyCommand(
        "simulate",
        _RUN,
        "Run the real engine on a simulated clock, on a copy of the station's database in "
        "a folder of its own (outputs forced to files there, except network outputs with "
        "--network).",
    ),
    LazyCommand(
        "demo",
        _RUN,
        "On the sample station, offline: render, approve, plan, simulate a week with a "
        "cluster down for two days, and show the make-ups recovering it.",
    ),
    LazyCommand(
        "receiver",
        _NETWORK,
        "The reference receiver (one or many in this process): verify, fetch, play, report.",
    ),
    LazyCommand(
        "report",
        _REPORT,
        "Write the evidence report of a period, counted from the as-run log (in Vietnamese).",
    ),
    LazyCommand(
        "evidence",
        _REPORT,
        "Write an evidence pack (.zip): the report, the raw log CSV, the log's verification "
        "and a SHA-256 manifest of every file and of every aired audio file (optionally the "
        "audio).",
    ),
    LazyCommand(
        "web",
        "broadcaster.cli.web_cmds",
        "Serve the web station (pages in Vietnamese, on the application layer) until "
        "stopped: sign in with an account made by 'broadcaster users add'.",
    ),
    LazyCommand(
        "schedule",
        _SCHEDULE,
        "The schedule as a whole: list its airings (with their ids), export it for other tools.",
    ),
    LazyCommand(
        "bulletins",
        "broadcaster.cli.bulletin_cmds",
        "Bulletins and their editorial state (draft, awaiting approval, approved, changed "
        "since approval, sent back, expired); submit one for approval, or send it back.",
    ),
    LazyCommand(
        "log",
        "broadcaster.cli.log_cmds",
        "The as-run log: list it, verify its hash chain, sign and export its head.",
        attach=_attach_log,
    ),
    LazyCommand(
        "receivers",
        _NETWORK,
        "Networked receivers (mqtt outputs): list them with their state, set volume.",
    ),
    LazyCommand(
        "users",
        "broadcaster.cli.users_cmds",
        "User accounts: who may sign in, with which roles (soan-tin = officer: writes and "
        "edits bulletins; duyet = approver: approves or rejects bulletins, with a reason; "
        "van-hanh = operator: queues, cancels, runs emergencies, controls receivers (may be "
        "limited to some zones); bao-cao = reporter: reads the log, makes reports and "
        "evidence packs; quan-tri = admin: users and station settings).",
    ),
    LazyCommand(
        "audit",
        "broadcaster.cli.audit_cmds",
        "The audit trail: every change, refusal and sign-in; list it, or verify its chain.",
    ),
    LazyCommand(
        "keys",
        "broadcaster.cli.keys_cmds",
        "The station key: signs approvals and log heads (docs/SECURITY.md).",
    ),
)


help_i18n.install()


class RootGroup(LazyGroup):
    """The root group: each command's module is imported when that command runs."""

    specs = COMMANDS


app = typer.Typer(
    name="broadcaster",
    help="Commune loudspeaker radio: Vietnamese bulletins to audio, weekly plans, timed "
    "playout and a tamper-evident as-run log.",
    cls=RootGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"broadcaster {__version__}")
        raise typer.Exit()


def _language(lang: str | None) -> str | None:
    """--lang takes effect as soon as it is parsed."""
    if lang is not None and lang not in LANGUAGES:
        raise typer.BadParameter(
            _("'{lang}' is not one of {known}").format(lang=lang, known=", ".join(LANGUAGES)),
            param_hint="--lang",
        )
    set_language(lang)
    return lang


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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="BROADCASTER_DEBUG",
        help="Show the Python traceback of an unexpected error (a bug to report).",
    ),
    lang: str = typer.Option(
        None,
        "--lang",
        callback=_language,
        is_eager=True,  # before an eager --help that follows it: the help in that language
        help="Language of the messages: vi or en (default: LANGUAGE/LC_ALL/LANG when they "
        "name one, else the station's station.language, else vi).",
    ),
) -> None:
    common.state.station = station
    common.state.db = db
    common.state.debug = debug


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
            common.err.print(str(problem), style="red", markup=False)
        return 1
    except BroadcasterError as exc:
        common.err.print(error_line(exc), style="red", markup=False)
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
        common.err.print(known, style="red", markup=False)
        return 1
    common.err.print(
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
