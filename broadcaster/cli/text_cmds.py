"""normalize and preview: what the announcer (the TTS engine) will actually say."""

from __future__ import annotations

import sys

import typer

from broadcaster.cli.common import open_station, state
from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _
from broadcaster.ops import actions
from broadcaster.ops.context import load_config, station_root
from broadcaster.speech.spoken import station_lexicon
from broadcaster.text import Lexicon
from broadcaster.text import normalize as to_spoken


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
    lexicon, station_dialect = _station_lexicon()
    source = sys.stdin.read() if text == "-" else text
    spoken = to_spoken(source.removesuffix("\n"), lexicon, dialect=dialect or station_dialect)
    sys.stdout.write(spoken + "\n")


def _station_lexicon() -> tuple[Lexicon, str]:
    """The station's lexicon and dialect when run inside one; the built-ins otherwise."""
    try:
        root = station_root(state.station)
    except BroadcasterError:
        if state.station is not None:
            raise
        return Lexicon.builtin(), "north"
    return station_lexicon(root), load_config(root).dialect


def preview(bulletin_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Show the spoken text of a script, exactly as the TTS engine receives it."""
    ctx = open_station()
    sys.stdout.write(actions.preview(ctx, bulletin_id) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(normalize)
    app.command()(preview)
