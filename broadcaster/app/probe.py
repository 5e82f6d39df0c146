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
from broadcaster.playout.base import build_output
from broadcaster.playout.player_output import PlayerOutput

STATION_FILE = "schedules/station.yaml"


def probe_outputs(root: Path, station: Station) -> list[Problem]:
    """One problem per configured player output that cannot play (an error: its zones
    would fail every airing)."""
    problems = []
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
