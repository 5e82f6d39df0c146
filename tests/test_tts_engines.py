"""The engine interface, the entry-point registry and a third-party engine plugged in."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from stationkit import Cli
from test_audio_production import keep_only, set_yaml

from broadcaster.speech.engines import EngineSettings, available_engines, make_engine
from broadcaster.speech.engines.command_engine import _fill
from broadcaster.speech.retry import Backoff, Retryable


def test_every_builtin_engine_declares_itself():
    engines = available_engines()
    assert {"gtts", "espeak", "edge", "command"} <= set(engines)
    for name, cls in engines.items():
        assert cls.name == name
        assert isinstance(cls.needs_network, bool)
        assert issubclass(cls.Settings, EngineSettings)
        engine = make_engine(name)
        assert isinstance(engine.voices(), list)
    assert engines["gtts"].needs_network and not engines["espeak"].needs_network
    assert "vi-VN-HoaiMyNeural" in make_engine("edge").voices()
    assert {"vi", "vi-vn-x-south"} <= set(make_engine("espeak").voices())


def test_operational_settings_do_not_change_the_cache_key_but_audio_ones_do():
    base = make_engine("gtts").settings.audio_fields()
    assert make_engine("gtts", {"timeout": 3, "attempts": 9}).settings.audio_fields() == base
    assert make_engine("gtts", {"slow": True}).settings.audio_fields() != base


def test_command_placeholders_are_filled_once_and_never_by_a_shell():
    values = {"text": "{out} $(rm -rf ~) ; `id`", "out": "/tmp/x.wav", "voice": "vi"}
    assert _fill("--text={text}", values) == "--text={out} $(rm -rf ~) ; `id`"
    assert _fill("{out}", values) == "/tmp/x.wav"


def test_back_off_grows_and_stops_after_the_attempts():
    waits: list[float] = []
    calls = []

    def failing():
        calls.append(1)
        raise Retryable("HTTP 429")

    backoff = Backoff(attempts=4, base=1.0, cap=3.0, sleep=waits.append, rand=lambda: 1.0)
    with contextlib.suppress(Retryable):
        backoff.run(failing)
    assert len(calls) == 4
    assert waits == [1.0, 2.0, 3.0]  # doubling, capped
    half = Backoff(base=1.0, rand=lambda: 0.0)
    assert half.delay(3) == 2.0  # never less than half the ceiling
    assert half.delay(1, retry_after=5.0) == 5.0


PLUGIN = '''
from pathlib import Path
import subprocess
from typing import ClassVar

from broadcaster.speech.engines import EngineSettings, atomic_output


class LoudSettings(EngineSettings):
    pitch: int = 70


class LoudEngine:
    """A vendor's engine, installed as its own distribution."""

    name: ClassVar[str] = "vendor"
    needs_network: ClassVar[bool] = False
    Settings = LoudSettings
    suffix = ".wav"

    def __init__(self, settings=None):
        self.settings = settings or LoudSettings()

    def voices(self):
        return ["vi"]

    def voice(self):
        return "vi"

    def synthesize(self, text, out: Path) -> None:
        with atomic_output(out) as tmp:
            subprocess.run(["espeak-ng", "-v", "vi", "-p", str(self.settings.pitch),
                            "-w", str(tmp), text], check=True)
'''


def test_a_third_party_engine_registers_through_an_entry_point(bare_station: Path, tmp_path):
    site = tmp_path / "site"
    info = site / "vendor_tts-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "vendor_tts.py").write_text(PLUGIN, encoding="utf-8")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-tts\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[broadcaster.tts]\nvendor = vendor_tts:LoudEngine\n")
    set_yaml(bare_station, "engines:\n  vendor: {pitch: 60}\n", tts="[vendor]")
    keep_only(bare_station, "nq57-mot")
    result = Cli(bare_station, {"PYTHONPATH": str(site)})("render", "--json")
    assert result.code == 0, result.err
    (outcome,) = json.loads(result.out)
    assert outcome["engine"] == "vendor" and not outcome["fallback"]
    # its settings are validated by its own model
    # the engine's own model refuses a bad value (a second 'vendor:' key would now be
    # refused as a duplicate first, so the value is changed in place)
    station = bare_station / "schedules" / "station.yaml"
    station.write_text(
        station.read_text(encoding="utf-8").replace("vendor: {pitch: 60}", "vendor: {pitch: high}"),
        encoding="utf-8",
    )
    bad = Cli(bare_station, {"PYTHONPATH": str(site)})("check")
    assert bad.code == 1 and "engines.vendor.pitch" in bad.out + bad.err


def test_edge_without_its_extra_falls_back_with_the_install_hint(bare_station: Path):
    try:
        import edge_tts  # noqa: F401

        pytest.skip("edge-tts is installed here; this checks the missing-extra path")
    except ImportError:
        pass
    set_yaml(bare_station, "", tts="[edge, espeak]")
    keep_only(bare_station, "nq57-mot")
    result = Cli(bare_station)("render", "--json")
    assert result.code == 0, result.err
    (outcome,) = json.loads(result.out)
    assert outcome["engine"] == "espeak" and outcome["fallback"]
    assert "broadcaster[edge]" in outcome["skipped"][0]
