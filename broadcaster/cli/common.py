"""Shared CLI plumbing: the station option, consoles and output helpers."""

from __future__ import annotations

import getpass
import json
import os
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from broadcaster.app.actors import Actor
from broadcaster.core.errors import UsageProblem
from broadcaster.i18n import _, clock_word, current_language, use_station_language

if TYPE_CHECKING:
    from rich.console import Console

    from broadcaster.app.context import StationContext

# ``out`` and ``err``, the two consoles, are made on first use (``__getattr__`` below):
# rich is not imported to print ``--help`` or a usage error (issue 15).


def _console(name: str) -> Console:
    """A console made once, on first use. Piped into a file or another program, tables
    get room instead of the 80-column default."""
    from rich.console import Console

    stream = sys.stderr if name == "err" else sys.stdout
    made = Console(
        stderr=name == "err",
        highlight=False,
        soft_wrap=True,
        width=None if stream.isatty() else 160,
    )
    globals()[name] = made
    return made


def console(name: str) -> Console:
    """``out`` or ``err`` from inside this module (``__getattr__`` serves only importers)."""
    made = globals().get(name)
    return made if made is not None else _console(name)


def __getattr__(name: str) -> Any:
    if name in ("out", "err"):
        return _console(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class State:
    station: Path | None = None
    db: str | None = None
    debug: bool = False


state = State()


def open_station() -> StationContext:
    """The station, and its ``station.language`` unless --lang or the locale chose one."""
    # Imported here: the configuration and database layers load only for a command that
    # opens the station.
    from broadcaster.app.context import StationContext, station_root

    ctx = StationContext.open(station_root(state.station), state.db)
    use_station_language(ctx.station.language)
    return ctx


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


#: The largest row id a database holds (SQLite and PostgreSQL BIGINT): larger is a typo.
MAX_ID = 2**63 - 1

#: A person's name as the log and the approvals record it (a 100,000-character name, or
#: one with control characters, would go into every report and evidence pack).
MAX_NAME = 200


def person_name(value: str, option: str = "--by") -> str:
    """A name an operator typed, trimmed, or a usage error (exit 2) naming the option."""
    name = value.strip()
    if len(name) > MAX_NAME:
        raise UsageProblem(
            _("{option}: a name of {n} characters is too long (at most {limit})").format(
                option=option, n=len(name), limit=MAX_NAME
            )
        )
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        raise UsageProblem(
            _("{option}: the name contains the control character U+{code:04X}").format(
                option=option, code=ord(bad)
            )
        )
    return name


def name_option(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Typer callback: the same rule for every option that records a person."""
    if value is None or ctx.resilient_parsing:
        return value
    return person_name(value, param.opts[0] if param.opts else "--by")


def operator_name(value: str | None) -> str:
    if value:
        return person_name(value)
    from_env = os.environ.get("BROADCASTER_OPERATOR")
    if from_env:
        return person_name(from_env, "BROADCASTER_OPERATOR")
    return getpass.getuser()


def shell_actor(by: str | None = None) -> Actor:
    """Whoever has the station's shell acts with every right (they have its database
    anyway), recorded as ``cli:<os user>`` plus the person ``--by`` (or
    $BROADCASTER_OPERATOR, else the OS user) names."""
    return Actor.local_cli(by=operator_name(by))


By = typer.Option(
    None,
    "--by",
    callback=name_option,
    help="Operator name recorded in the log (default: $USER).",
)
Json = typer.Option(False, "--json", help="Machine-readable output.")
IncludeUnreal = typer.Option(
    False,
    "--include-unreal",
    help="Also count log entries made under a simulated or shifted clock (simulations, "
    "demos, tests). Never for evidence: the output says it loudly.",
)


def unreal_warning(unreal: dict[str, int], included: bool) -> str:
    """The loud line every command showing figures prints when the database holds log
    entries made under a clock that is not the real one ("" when it holds none)."""
    if not unreal:
        return ""
    kinds = ", ".join(f"{clock_word(kind)}: {n}" for kind, n in sorted(unreal.items()))
    text = _(
        "WARNING: this database holds {n} log entries made under a clock that is not the "
        "real one ({kinds}): they are not evidence of anything that went on air."
    ).format(n=sum(unreal.values()), kinds=kinds)
    if included:
        return text + " " + _("They ARE counted here (--include-unreal).")
    return text + " " + _("They are not counted as aired (--include-unreal counts them).")


def warn(text: str) -> None:
    """A warning on standard error, so --json output on standard output stays parseable."""
    if text:
        console("err").print(text, style="bold red", markup=False)


def reason_text(reason: str | None) -> str:
    """A stored (English) reason in the language in use, for a table."""
    from broadcaster.app.logbook import reason_in

    return reason_in(current_language(), reason)
