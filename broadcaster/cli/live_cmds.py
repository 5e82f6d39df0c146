"""``broadcaster live``: the station's sound-card input to the zones, recorded and logged."""

from __future__ import annotations

import signal
import threading

import typer
from rich.table import Table

from broadcaster.app import emergencies, live
from broadcaster.cli.common import By, err, open_station, out, reason_text, shell_actor
from broadcaster.core.timeutil import fmt_local
from broadcaster.i18n import _, status_word


def live_command(
    zones: str = typer.Option(..., "--zones", help="'all' or z1,z2,..."),
    input: str = typer.Option(
        "default",
        "--input",
        help="The sound-card input (an ALSA device: default, hw:1, plughw:CARD=USB), or an "
        "audio file standing in for it.",
    ),
    max_minutes: float = typer.Option(
        15.0, "--max-minutes", help="Time-out: the broadcast ends then even if nobody stops it."
    ),
    by: str = By,
) -> None:
    """Go live now: the sound-card input to the zones, above scheduled content and below
    emergencies, until Ctrl+C or the time-out; recorded, and logged per zone with the
    recording's SHA-256 and the speaker."""
    ctx = open_station()
    who = shell_actor(by)
    targets = emergencies.parse_zones(ctx, zones)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_a: stop.set())
    tz = ctx.station.tz

    def on_air(told: live.LiveOnAir) -> None:
        where = (
            _("handed to the running daemon ({holder})").format(holder=told.holder)
            if told.holder
            else _("aired by this command (no daemon runs)")
        )
        out.print(
            _(
                "ON AIR: live broadcast {id} on {n} zone(s), {where}; it ends at {end} "
                "at the latest. Ctrl+C ends it now."
            ).format(
                id=told.live_id,
                n=len(told.zones),
                where=where,
                end=fmt_local(told.ends_by, tz, with_seconds=True),
            ),
            markup=False,
        )

    result = live.go_live(ctx, who, targets, input, max_minutes, stop=stop, on_air=on_air)
    if not result.zones:
        err.print(
            _("live broadcast {id} was withdrawn: nothing went out").format(id=result.live_id),
            markup=False,
        )
        raise typer.Exit(1)
    table = Table(_("zone"), _("outcome"), _("seconds"), _("reason"))
    for z in result.zones:
        table.add_row(
            z.zone_id,
            status_word(z.outcome),
            f"{z.seconds:.1f}",
            reason_text(z.reason),
            style="green" if z.outcome == "aired" else "red",
        )
    out.print(table)
    if result.recording:
        out.print(
            _("recording: {file} (SHA-256 {sha})").format(
                file=result.recording, sha=result.sha256 or "-"
            ),
            markup=False,
        )
    if not result.all_aired:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("live")(live_command)
