"""Shared CLI plumbing: the station option, consoles and output helpers."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from broadcaster.i18n import _
from broadcaster.ops.context import StationContext, station_root

# Piped into a file or another program, tables get room instead of the 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160
)


class State:
    station: Path | None = None
    db: str | None = None


state = State()


def open_station() -> StationContext:
    return StationContext.open(station_root(state.station), state.db)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def operator_name(value: str | None) -> str:
    return value or os.environ.get("BROADCASTER_OPERATOR") or getpass.getuser()


By = typer.Option(None, "--by", help="Operator name recorded in the log (default: $USER).")
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
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(unreal.items()))
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
        err.print(text, style="bold red", markup=False)
