"""bench/intelligibility.py: the station it renders with is the sample station with one
voice changed, and a repeated bulletin is scored against everything it says (issue 11)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from broadcaster.app.context import StationContext
from broadcaster.engine.clock import SystemClock
from broadcaster.speech.render import Renderer
from broadcaster.speech.spoken import spoken_text

REPO = Path(__file__).resolve().parents[2]


def _bench():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        spec = importlib.util.spec_from_file_location(
            "intelligibility", REPO / "bench" / "intelligibility.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(REPO / "bench"))


BENCH = _bench()


def test_the_voice_is_set_and_every_other_section_kept() -> None:
    original = (REPO / "schedules" / "station.yaml").read_text(encoding="utf-8")
    changed = yaml.safe_load(BENCH.with_voice(original, "espeak", "vi-vn-x-south"))
    before = yaml.safe_load(original)
    assert list(changed) == list(before)  # quiet_hours, outputs, zones, sessions ... survive
    assert changed["engines"]["espeak"] == {**before["engines"]["espeak"], "voice": "vi-vn-x-south"}
    assert changed["zones"] == before["zones"] and changed["sessions"] == before["sessions"]


def test_a_station_without_engine_settings_gets_them() -> None:
    changed = yaml.safe_load(BENCH.with_voice("station: {id: x}\n", "espeak", "vi"))
    assert changed == {"station": {"id": "x"}, "engines": {"espeak": {"voice": "vi"}}}


def test_a_repeated_bulletin_is_scored_against_its_text_twice(tmp_path: Path) -> None:
    root = BENCH.sample_copy(tmp_path)
    ctx = StationContext.open(root, clock=SystemClock())
    try:
        renderer = Renderer(root, ctx.station, ("espeak",))
        alert = ctx.bulletin("canh-bao-bao")  # "repeat: true": alerts are read twice
        plain = ctx.bulletin("nq57-gioi-thieu")
        dialect = ctx.station.dialect
        once = BENCH.words(spoken_text(alert, root, dialect))
        lead_in = BENCH.words(renderer.layout(alert).repeat_lead_in)
        assert renderer.layout(alert).repeat and lead_in
        assert BENCH.reference(renderer, alert, root, dialect) == f"{once} {lead_in} {once}"
        assert BENCH.reference(renderer, plain, root, dialect) == BENCH.words(
            spoken_text(plain, root, dialect)
        )
    finally:
        ctx.close()
