"""A simulation's own folder: ``simulate`` runs on a copy of the station's database in
``.simulation/`` (``station.db`` and ``out/``), never on the station's own (issue 10).
Tests that simulate read and check that copy; ``SimCli`` runs commands against it."""

from __future__ import annotations

from pathlib import Path

from stationkit import Cli, Result

SIM = ".simulation"


def sim_root(root: Path) -> Path:
    """Where ``rows``, ``db`` and ``played`` of stationkit find the simulation's data."""
    return root / SIM


def sim_url(root: Path) -> str:
    return f"sqlite:///{sim_root(root) / 'station.db'}"


class SimCli:
    """``broadcaster --db <the simulation's database> ...`` for one station."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.root = sim_root(cli.root)

    def __call__(self, *args: str, check: bool = False) -> Result:
        return self.cli("--db", sim_url(self.cli.root), *args, check=check)
