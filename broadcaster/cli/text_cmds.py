"""normalize and preview: what the announcer (the TTS engine) will actually say."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from broadcaster.app import bulletins
from broadcaster.app.context import station_root
from broadcaster.cli.common import open_station, state
from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _


def normalize(
    text: str = typer.Argument(None, help="Text to normalise, or '-' to read standard input."),
    dialect: str = typer.Option(
        None, "--dialect", help="north or south (default: the station's setting, else north)."
    ),
) -> None:
    """Print the spoken form of written Vietnamese (one output line per input line).

    Inside a station the station's lexicon (schedules/lexicon.yaml) applies too.
    """
    if text is None:
        raise typer.BadParameter(_("give TEXT, or '-' to read standard input"), param_hint="TEXT")
    if dialect not in (None, "north", "south"):
        raise typer.BadParameter(_("must be north or south"), param_hint="--dialect")
    source = sys.stdin.read() if text == "-" else text
    spoken = bulletins.spoken_form(source.removesuffix("\n"), _station_here(), dialect)
    sys.stdout.write(spoken + "\n")


def _station_here() -> Path | None:
    """The station when run inside one (its lexicon and dialect apply); None elsewhere."""
    try:
        return station_root(state.station)
    except BroadcasterError:
        if state.station is not None:
            raise
        return None


def preview(bulletin_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Show the spoken text of a script, exactly as the TTS engine receives it."""
    ctx = open_station()
    sys.stdout.write(bulletins.preview(ctx, bulletin_id) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(normalize)
    app.command()(preview)
