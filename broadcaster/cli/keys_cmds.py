"""keys: the station signing key (Ed25519) that signs approvals and log heads."""

from __future__ import annotations

import typer

from broadcaster.cli.common import open_station, out, print_json
from broadcaster.i18n import _

keys_app = typer.Typer(
    help="The station key: signs approvals and log heads (docs/SECURITY.md).",
    no_args_is_help=True,
)


@keys_app.command("init")
def keys_init() -> None:
    """Create the station key (secrets/station.key, mode 0600, or $BROADCASTER_STATION_KEY).

    Never replaces an existing key. Keep a copy offline: without it, approvals cannot be
    made and signed heads cannot be checked against new ones.
    """
    from broadcaster.app import logbook

    station = open_station()
    key = logbook.keys_init(station)
    out.print(_("station key created: {path}").format(path=key.path), markup=False)
    out.print(
        _("public key: {key} (fingerprint {fp})").format(
            key=key.public_hex, fp=logbook.fingerprint(key.public_hex)
        ),
        markup=False,
    )


@keys_app.command("show")
def keys_show(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print the station's public key (to give to whoever checks reports)."""
    from broadcaster.app import logbook

    station = open_station()
    public = logbook.public_key(station)
    if as_json:
        print_json(
            {"public_key": public, "fingerprint": logbook.fingerprint(public) if public else None}
        )
        return
    if public is None:
        out.print(_("station key: none yet (broadcaster keys init)"), markup=False)
        raise typer.Exit(1)
    out.print(public, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
