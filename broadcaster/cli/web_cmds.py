"""web: serve the web station (Vietnamese pages for officers, approvers and operators).

The pages live in ``broadcaster.web`` and stand on the application layer; this module
only parses the options and starts uvicorn. FastAPI, Jinja2 and uvicorn are imported
inside the command, so no other command pays for loading them.
"""

from __future__ import annotations

import ipaddress

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
) -> None:
    """Serve the web station (pages in Vietnamese, on the application layer) until stopped:
    sign in with an account made by 'broadcaster users add'."""
    import uvicorn

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
    app = create_app(ctx=ctx)
    out.print(
        _("web station of {station} on http://{host}:{port}/ (Ctrl+C stops it)").format(
            station=ctx.station.name, host=host, port=port
        ),
        markup=False,
    )
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
        ctx.close()
