"""Opening a station directory: configuration, scripts, database, clock and outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.config.scripts_loader import ScriptMemo, load_scripts
from broadcaster.config.station_loader import load_station, parse_station
from broadcaster.core.errors import BroadcasterError, ConfigErrors, Problem
from broadcaster.core.model import Bulletin, Station
from broadcaster.engine.clock import SystemClock
from broadcaster.i18n import _
from broadcaster.playout.base import Clock, Output, build_output, output_types
from broadcaster.speech.engines import available_engines
from broadcaster.store.db import Database


def station_root(option: Path | None) -> Path:
    root = option or Path(os.environ.get("BROADCASTER_STATION") or Path.cwd())
    root = root.resolve()
    if not (root / "schedules" / "station.yaml").is_file():
        raise BroadcasterError(
            _(
                "not a station: schedules/station.yaml is missing (use --station DIR "
                "or BROADCASTER_STATION)"
            ),
            path=str(root),
        )
    return root


def load_config(root: Path) -> Station:
    return load_station(
        root,
        set(output_types()),
        {name: cls.Settings for name, cls in available_engines().items()},
    )


def load_config_text(root: Path, text: str) -> Station:
    """A new text for ``root``'s ``schedules/station.yaml``, checked exactly as
    :func:`load_config` checks the file (the settings page checks before it writes)."""
    return parse_station(
        root,
        text,
        "schedules/station.yaml",
        set(output_types()),
        {name: cls.Settings for name, cls in available_engines().items()},
    )


@dataclass
class StationContext:
    root: Path
    station: Station
    db_url: str
    clock: Clock = field(default_factory=SystemClock.from_env)
    _db: Database | None = None
    _scripts_read: ScriptMemo = field(default_factory=ScriptMemo)

    @classmethod
    def open(
        cls, root: Path, db_url: str | None = None, clock: Clock | None = None
    ) -> StationContext:
        station = load_config(root)
        url = db_url or os.environ.get("BROADCASTER_DB") or f"sqlite:///{root / 'station.db'}"
        return cls(root, station, url, clock or SystemClock.from_env())

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.db_url)
            self._db.create()
        return self._db

    def scripts(self) -> tuple[list[Bulletin], list[Problem]]:
        return load_scripts(self.root, self.station, self._scripts_read)

    def bulletin(self, bulletin_id: str) -> Bulletin:
        """One script by id; its own problems are fatal, others' are not."""
        bulletins, problems = self.scripts()
        for b in bulletins:
            if b.id == bulletin_id:
                return b
        mine = [p for p in problems if p.path and Path(p.path).stem == bulletin_id]
        if mine:
            raise ConfigErrors(mine)
        raise BroadcasterError(
            _("no bulletin '{id}' in scripts/ (known: {known})").format(
                id=bulletin_id, known=", ".join(b.id for b in bulletins) or "-"
            )
        )

    def outputs(
        self,
        clock: Clock,
        force_file: bool = False,
        out_dir: str | None = None,
        keep_networked: bool = False,
    ) -> dict[str, Output]:
        """Outputs as configured; for a simulation, files instead, except (with
        ``keep_networked``) the network outputs able to follow a simulated clock."""
        built: dict[str, Output] = {}
        types = output_types()
        for name, spec in self.station.outputs.items():
            networked = keep_networked and getattr(types[spec.type], "simulation_capable", False)
            if force_file and not networked:
                settings = {"dir": out_dir or spec.settings.get("dir", "out")}
                built[name] = build_output(name, "file", settings, self.root, clock)
            else:
                built[name] = build_output(name, spec.type, spec.settings, self.root, clock)
        return built

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None
