"""web: serve the web station (Vietnamese pages for officers, approvers and operators).

The pages live in ``broadcaster.web`` and stand on the application layer; this module
only parses the options and starts uvicorn. FastAPI, Jinja2 and uvicorn are imported
inside the command, so no other command pays for loading them.
"""

from __future__ import annotations

import ipaddress
import signal

import typer

from broadcaster.cli.common import err, open_station, out
from broadcaster.i18n import _

LOOPBACK_NAMES = ("localhost",)


def register(app: typer.Typer) -> None:
    app.command("web")(web)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on; another than 127.0.0.1 only behind a TLS reverse "
        "proxy (docs/ARCHITECTURE.md, the web face).",
    ),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Make (or renew) the account 'demo' with every role but admin and a generated "
        "password, printed here once: to try the station.",
    ),
    with_daemon: bool = typer.Option(
        False,
        "--with-daemon",
        help="Also air the station from this process, as 'broadcaster run' does (one daemon "
        "per database: refused while another runs).",
    ),
) -> None:
    """Serve the web station (pages in Vietnamese, on the application layer) until stopped:
    sign in with an account made by 'broadcaster users add'."""
    import uvicorn

    from broadcaster.app.heap import settle_heap
    from broadcaster.web.app import create_app

    if not _is_loopback(host):
        err.print(
            _(
                "warning: listening on {host}, not only on this machine: the pages are "
                "plain HTTP, not behind TLS. Put a reverse proxy with HTTPS in front of "
                "them (passwords and sessions cross the network)."
            ).format(host=host),
            style="yellow",
            markup=False,
        )
    ctx = open_station()
    if demo:
        _demo_account(ctx)
    daemon = _start_daemon() if with_daemon else None
    app = create_app(ctx=ctx)
    out.print(
        _("web station of {station} on http://{host}:{port}/ (Ctrl+C stops it)").format(
            station=ctx.station.name, host=host, port=port
        ),
        markup=False,
    )
    # uvicorn stops gracefully on SIGTERM, then raises the signal again with the handler
    # it found: this one, so that the daemon's orderly stop below still runs.
    signal.signal(signal.SIGTERM, _exit_quietly)
    settle_heap()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",
            server_header=False,
        )
    finally:
        if daemon is not None:
            try:
                err.print(_("stopping: cutting what plays and logging it"), markup=False)
                daemon.stop(_("the web station was stopped (signal)"))
            finally:
                daemon.close()
                daemon.ctx.close()
        ctx.close()


def _demo_account(ctx) -> None:
    import os

    from broadcaster.app.actors import Actor
    from broadcaster.app.users import UserService

    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    actor = Actor.local_cli(by=os.environ.get("BROADCASTER_OPERATOR"))
    user, password = users.demo_account(actor)
    out.print(
        _("demo account: user name {name}, password {password} (roles: {roles})").format(
            name=user.name, password=password, roles=",".join(sorted(r.value for r in user.roles))
        ),
        markup=False,
    )


def _exit_quietly(*_args) -> None:
    raise SystemExit(0)


def _start_daemon():
    """The station daemon in this process, on its own connection to the database."""
    from broadcaster.app.daemon import Daemon, DaemonOptions, configure_logging
    from broadcaster.cli.run_cmds import say_on_air

    configure_logging(False)
    daemon_ctx = open_station()
    daemon = Daemon(daemon_ctx, DaemonOptions())
    try:
        nxt = daemon.start()
    except BaseException:
        daemon.close()
        daemon_ctx.close()
        raise
    say_on_air(daemon_ctx, daemon, nxt)
    return daemon
