"""receivers (list, volume) and receiver (the reference receiver / simulator)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import typer
from rich.table import Table

from broadcaster.cli.common import Json, err, open_station, out, print_json, shell_actor
from broadcaster.core.errors import BroadcasterError
from broadcaster.core.timeutil import fmt_local
from broadcaster.i18n import _

receivers_app = typer.Typer(
    help="Networked receivers (mqtt outputs): list them with their state, set volume.",
    invoke_without_command=True,
    no_args_is_help=False,
)

STATE_STYLE = {"online": "green", "offline": "red", "stale": "yellow", "never seen": "red"}


@receivers_app.callback()
def receivers_list(
    ctx: typer.Context,
    wait: float = typer.Option(
        1.5, "--wait", min=0.1, max=30, help="Seconds to collect retained messages."
    ),
    as_json: bool = Json,
) -> None:
    """List receivers: state (online, offline since ...), last heartbeat, firmware."""
    if ctx.invoked_subcommand is not None:
        return
    from broadcaster.app import receivers  # imported here: every other command starts faster

    station = open_station()
    lines = receivers.receivers(station, wait)
    tz = station.station.tz
    if as_json:
        print_json(
            [
                {
                    **line.__dict__,
                    "since": line.since.isoformat() if line.since else None,
                    "last_heartbeat": line.last_heartbeat.isoformat()
                    if line.last_heartbeat
                    else None,
                }
                for line in lines
            ]
        )
        return
    from broadcaster.i18n import receiver_state_word  # display words; --json keeps values

    table = Table(
        _("receiver"),
        _("zone"),
        _("state"),
        _("since"),
        _("last heartbeat"),
        _("firmware"),
        _("version"),
        _("volume"),
    )
    for line in lines:
        table.add_row(
            line.receiver + ("" if line.configured else " (?)"),
            line.zone,
            receiver_state_word(line.state),
            fmt_local(line.since, tz, with_seconds=True) if line.since else "-",
            fmt_local(line.last_heartbeat, tz, with_seconds=True) if line.last_heartbeat else "-",
            line.firmware or "-",
            line.version or "-",
            "-" if line.volume is None else str(line.volume),
            style=STATE_STYLE.get(line.state),
        )
    out.print(table)
    if any(not line.configured for line in lines):
        out.print(_("(?) known to the broker but not listed in station.yaml"), markup=False)
    _print_alarms(station, lines)


def _print_alarms(station, lines) -> None:
    """What the network survived: the daemon's loop restarts and ignored reports, each
    receiver's loop restarts, dropped commands and forged retained messages."""
    from broadcaster.app import receivers

    tz = station.station.tz
    for h in receivers.station_health(station):
        if h.loop_restarts:
            out.print(
                _(
                    "ALARM {output}: the station's network loop died and was restarted {n} "
                    "time(s), last at {at}: {why}"
                ).format(
                    output=h.output,
                    n=h.loop_restarts,
                    at=fmt_local(h.last_restart_at, tz, with_seconds=True)
                    if h.last_restart_at
                    else "-",
                    why=h.last_restart,
                ),
                style="bold red",
                markup=False,
            )
        if h.handler_faults:
            out.print(
                _("ALARM {output}: {n} report(s) could not be handled and were dropped").format(
                    output=h.output, n=h.handler_faults
                ),
                style="red",
                markup=False,
            )
        if h.ignored_reports:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(h.ignored_reports.items()))
            out.print(
                _("{output}: reports ignored (not authentic): {kinds}").format(
                    output=h.output, kinds=kinds
                ),
                style="yellow",
                markup=False,
            )
    for line in lines:
        notes = []
        if line.loop_restarts:
            notes.append(_("network loop restarted {n} time(s)").format(n=line.loop_restarts))
        if line.faults:
            notes.append(_("{n} command(s) dropped as unhandleable").format(n=line.faults))
        if line.ignored:
            notes.append(_("{n} forged retained message(s) ignored").format(n=line.ignored))
        if notes:
            out.print(
                _("{receiver}: {notes}").format(receiver=line.receiver, notes="; ".join(notes)),
                style="yellow",
                markup=False,
            )


@receivers_app.command("volume")
def receivers_volume(
    level: int = typer.Argument(..., metavar="LEVEL", help="0..100"),
    zone: str = typer.Option(None, "--zone", help="Only this zone's receivers."),
    receiver: str = typer.Option(None, "--receiver", help="Only this receiver."),
) -> None:
    """Send a signed volume command to receivers (all, a zone's, or one)."""
    from broadcaster.app import receivers

    station = open_station()
    sent = receivers.send_volume(station, level, zone, receiver, shell_actor())
    out.print(_("volume {level} sent to {n} receiver(s)").format(level=level, n=len(sent)))


@receivers_app.command("resync")
def receivers_resync(
    zone: str = typer.Option(None, "--zone", help="Only this zone's receivers."),
    receiver: str = typer.Option(None, "--receiver", help="Only this receiver."),
) -> None:
    """Send a signed resync: receivers take this station's clock as their counter again.

    For after the station's clock was wrong ahead: receivers that accepted a counter
    from the future refuse later commands as 'replayed' until resynced (or until the
    clock catches up). See docs/RECEIVER-PROTOCOL.md.
    """
    from broadcaster.app import receivers

    station = open_station()
    sent = receivers.send_resync(station, zone, receiver, shell_actor())
    out.print(_("resync sent to {n} receiver(s)").format(n=len(sent)))


def receiver(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The receiver's YAML file."),
    only: str = typer.Option(None, "--only", help="Run only these receiver ids (a,b,...)."),
    pace: float = typer.Option(
        None, "--pace", min=0, help="Playing speed (0 = instantly, for simulations)."
    ),
    verbose: bool = typer.Option(False, "--verbose"),
) -> None:
    """The reference receiver (one or many in this process): verify, fetch, play, report.

    Runs until SIGTERM/SIGINT; prints 'ready N' once every receiver is connected.
    """
    from broadcaster.receiver.host import ReceiverHost
    from broadcaster.receiver.settings import load_receiver_file

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    cfg = load_receiver_file(config)
    if pace is not None:
        cfg.pace = pace
    wanted = {i.strip() for i in only.split(",") if i.strip()} if only else None
    if wanted:
        unknown = wanted - {r.id for r in cfg.receivers}
        if unknown:
            raise BroadcasterError(
                _("--only: unknown receiver(s) {ids}").format(ids=", ".join(sorted(unknown))),
                path=str(config),
            )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: stop.set())
    host = ReceiverHost(cfg, config.resolve().parent, wanted)
    try:
        if not host.start():
            err.print(
                _("not every receiver could connect to {host}:{port} yet; retrying").format(
                    host=cfg.broker.host, port=cfg.broker.port
                ),
                markup=False,
            )
        else:
            typer.echo(f"ready {len(host.receivers)}")
        stop.wait()
    finally:
        host.close()


def register(app: typer.Typer) -> None:
    app.add_typer(receivers_app, name="receivers")
    app.command()(receiver)
