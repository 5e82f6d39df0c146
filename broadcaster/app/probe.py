"""``check --online``: try what the station will play through, before a slot finds out.

A player output is asked to play one second of silence, judged as an airing would be
(exit status, device errors in its output, time actually played), so a station PC whose
sound card is missing or taken is reported now rather than as failed airings later.
"""

from __future__ import annotations

from pathlib import Path

from broadcaster.core.errors import Problem
from broadcaster.core.model import Station
from broadcaster.engine.clock import SystemClock
from broadcaster.i18n import _
from broadcaster.playout.base import build_output, output_types
from broadcaster.playout.player_output import PlayerOutput

STATION_FILE = "schedules/station.yaml"


def probe_outputs(root: Path, station: Station) -> list[Problem]:
    """What each output's plugin says its environment lacks (a program, a server that
    does not answer), and one problem per player output that cannot play: errors, since
    their zones would fail every airing."""
    problems = environment_problems(root, station)
    for name, spec in station.outputs.items():
        if spec.type != "player":
            continue
        output = build_output(name, spec.type, spec.settings, root, SystemClock())
        if not isinstance(output, PlayerOutput):
            continue
        why = output.probe()
        if why is not None:
            problems.append(
                Problem(
                    _("the player cannot play (its zones would fail every airing): {why}").format(
                        why=why
                    ),
                    path=STATION_FILE,
                    field=f"outputs.{name}",
                )
            )
    return problems


def environment_problems(root: Path, station: Station) -> list[Problem]:
    """Each output plugin's ``check_environment`` on its settings (settings that do not
    validate are ``check``'s own error already, and are skipped here)."""
    from pydantic import ValidationError

    types = output_types()
    problems = []
    for name, spec in station.outputs.items():
        plugin = types.get(spec.type)
        model = getattr(plugin, "Settings", None)
        check = getattr(plugin, "check_environment", None)
        if model is None or check is None:
            continue
        try:
            settings = model.model_validate(spec.settings)
        except ValidationError:
            continue
        for why in check(settings, root):
            problems.append(Problem(why, path=STATION_FILE, field=f"outputs.{name}"))
    return problems
