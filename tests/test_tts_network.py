"""gTTS against a simulated Google on 127.0.0.1 (see fakegoogle.py): time-outs, 429 with
back-off, 5xx, an unreachable network, and the fallback to espeak and back."""

from __future__ import annotations

import itertools
import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from audiokit import speech_wav
from fakegoogle import FakeGoogle
from simkit import SimCli
from stationkit import Cli
from test_audio_production import keep_only, set_yaml

from broadcaster.speech.render import sha256_file

FAST_RETRIES = (
    "engines:\n  gtts: {timeout: 1.0, attempts: 3, backoff_seconds: 0.4, "
    "backoff_cap_seconds: 4, chunk_pause_seconds: 0}\n"
)


@pytest.fixture(scope="module")
def google_audio(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("google")
    wav = speech_wav(folder / "voice.wav", "Xin chào bà con.")
    mp3 = folder / "voice.mp3"
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(mp3)], check=True)
    return mp3.read_bytes()


@pytest.fixture
def google(tmp_path: Path, google_audio: bytes):
    fake = FakeGoogle(tmp_path, google_audio)
    yield fake
    fake.close()


@pytest.fixture
def online_station(bare_station: Path) -> Path:
    set_yaml(bare_station, FAST_RETRIES, tts="[gtts, espeak]")
    keep_only(bare_station, "nq57-mot")
    return bare_station


def render(root: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict]]:
    result = Cli(root, env)("render", "--json", *args)
    assert "Traceback" not in result.err
    return result.code, json.loads(result.out)


def assert_no_partial_files(root: Path) -> None:
    rendered = root / "audio" / "rendered"
    leftovers = [p.name for p in rendered.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert all(p.stat().st_size > 0 for p in rendered.iterdir())


def gaps(google: FakeGoogle) -> list[float]:
    times = [t for t, _b in google.requests]
    return [b - a for a, b in itertools.pairwise(times)]


def test_429_is_retried_with_growing_back_off_then_gtts_speaks(online_station, google):
    google.behaviours = ["429", "429", "ok"]
    code, (outcome,) = render(online_station, google.proxy_env)
    assert code == 0
    assert outcome["engine"] == "gtts" and not outcome["fallback"]
    first, second = gaps(google)[:2]
    # back-off: half fixed, half random, doubling from 0.4 s
    assert 0.2 <= first <= 0.4 + 0.3
    assert 0.4 <= second <= 0.8 + 0.3
    assert_no_partial_files(online_station)


def test_retry_after_from_the_server_is_honoured(online_station, google):
    google.behaviours = ["503", "ok"]
    google.retry_after = 1.5
    code, (outcome,) = render(online_station, google.proxy_env)
    assert code == 0 and outcome["engine"] == "gtts"
    assert gaps(google)[0] >= 1.4


def test_a_stalled_connection_times_out_and_espeak_takes_over(online_station, google):
    google.behaviours = ["stall"]
    code, (outcome,) = render(online_station, google.proxy_env)
    assert code == 0
    assert outcome["engine"] == "espeak" and outcome["fallback"]
    assert len(google.requests) == 3  # every attempt timed out, none hung
    assert any("gtts" in s for s in outcome["skipped"])
    assert_no_partial_files(online_station)


def test_429_forever_falls_back_after_the_attempts(online_station, google):
    google.behaviours = ["429"]
    code, (outcome,) = render(online_station, google.proxy_env)
    assert code == 0 and outcome["engine"] == "espeak" and outcome["fallback"]
    assert len(google.requests) == 3
    assert "429" in outcome["skipped"][0]


def unreachable_env() -> dict[str, str]:
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    return {"HTTPS_PROXY": url, "https_proxy": url, "NO_PROXY": "", "no_proxy": ""}


def at(minutes: int) -> dict[str, str]:
    """The test's own clock: ``minutes`` after 10:00 on Sunday 22 November 2026 (the day
    before the week the test books), whatever the wall clock says."""
    start = datetime(2026, 11, 22, 10, 0, tzinfo=timezone(timedelta(hours=7)))
    return {"BROADCASTER_NOW": (start + timedelta(minutes=minutes)).isoformat()}


def test_fallback_audio_is_flagged_and_replaced_once_gtts_works_again(online_station, google):
    cli_off = Cli(online_station, {**unreachable_env(), **at(0)})
    code, (offline,) = render(online_station, {**unreachable_env(), **at(0)})
    assert code == 0 and offline["engine"] == "espeak" and offline["fallback"]
    assert_no_partial_files(online_station)
    assert cli_off("approve", "nq57-mot", "--by", "Chủ tịch UBND xã").code == 0
    status = cli_off("status")
    assert "fallback audio: nq57-mot" in status.out and "gtts failed" in status.out

    # the network is back, and once retry_fallback_minutes (30) have passed since gtts
    # failed, the same command tries gtts again and makes new audio
    google.behaviours = ["ok"]
    later = {**google.proxy_env, **at(31)}
    code, (online,) = render(online_station, later)
    assert code == 0 and online["engine"] == "gtts" and not online["fallback"]
    assert not online["cached"] and online["path"] != offline["path"]

    cli = Cli(online_station, later)
    status = cli("status")
    assert "new gtts audio awaits approval" in status.out
    # until then the approved espeak audio is what airs
    assert cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:00").code == 0
    sim = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23", "--no-autoplan")
    assert sim.code == 0, sim.err
    log = SimCli(cli)("log", "--json").out  # the simulation ran on its own copy
    aired = {r["audio_sha256"] for r in json.loads(log)}
    assert aired == {sha256_file(online_station / offline["path"])}
    assert cli("approve", "nq57-mot", "--by", "Chủ tịch UBND xã").code == 0
    assert "fallback audio" not in cli("status").out
    # and once gtts audio exists, rendering again is a plain cache hit
    code, (again,) = render(online_station, {**unreachable_env(), **at(32)})
    assert again["cached"] and again["engine"] == "gtts"


def test_a_failing_engine_is_remembered_across_runs(online_station, google):
    """Issue 11: every ``render`` waited on an unreachable gTTS again for each cached
    fallback. Now a failure is remembered (audio/tts-unavailable.json) and gTTS is tried
    again only after ``retry_fallback_minutes`` (30 by default)."""
    google.behaviours = ["stall"]  # each attempt waits out its 1 s time-out
    code, (first,) = render(online_station, {**google.proxy_env, **at(0)})
    assert code == 0 and first["engine"] == "espeak" and first["fallback"]
    assert len(google.requests) == 3
    assert (online_station / "audio" / "tts-unavailable.json").is_file()

    # the next run, minutes later: gtts is not asked; the cached fallback is the outcome
    code, (second,) = render(online_station, {**google.proxy_env, **at(5)})
    assert code == 0 and second["cached"] and second["engine"] == "espeak"
    assert len(google.requests) == 3
    assert "gtts" in second["skipped"][0] and "tried again after" in second["skipped"][0]

    # a new bulletin meanwhile goes straight to espeak, without the wait either
    text = (online_station / "scripts" / "nq57-mot.md").read_text(encoding="utf-8")
    (online_station / "scripts" / "nq57-moi.md").write_text(
        text.replace("id: nq57-mot", "id: nq57-moi"), encoding="utf-8"
    )
    code, outcomes = render(online_station, {**google.proxy_env, **at(6)})
    new = next(o for o in outcomes if o["bulletin_id"] == "nq57-moi")
    assert code == 0 and new["engine"] == "espeak" and not new["cached"]
    assert len(google.requests) == 3

    # past the wait, gtts is tried again; it works now, and the memory is cleared
    google.behaviours = ["ok"]
    code, outcomes = render(online_station, {**google.proxy_env, **at(31)})
    assert code == 0 and {o["engine"] for o in outcomes} == {"gtts"}
    assert len(google.requests) > 3
    assert "gtts" not in (online_station / "audio" / "tts-unavailable.json").read_text()


def test_no_memory_when_retry_fallback_minutes_is_zero(online_station, google):
    set_yaml(online_station, "production:\n  retry_fallback_minutes: 0\n")
    google.behaviours = ["429"]
    render(online_station, google.proxy_env)
    assert len(google.requests) == 3
    code, (again,) = render(online_station, google.proxy_env)
    assert code == 0 and again["engine"] == "espeak"
    assert len(google.requests) == 6  # asked again at once


def test_the_daemons_periodic_job_replaces_fallback_audio(online_station, google, monkeypatch):
    """``rerender_fallbacks`` is what ``run`` schedules every retry_fallback_minutes."""
    from broadcaster.app import bulletins
    from broadcaster.app.context import StationContext
    from broadcaster.engine.clock import SystemClock

    code, (offline,) = render(online_station, unreachable_env())
    assert code == 0 and offline["engine"] == "espeak"
    for key, value in google.proxy_env.items():
        monkeypatch.setenv(key, value)
    ctx = StationContext.open(online_station, clock=SystemClock())
    try:
        (outcome,) = bulletins.rerender_fallbacks(ctx)
        assert outcome.engine == "gtts" and not outcome.fallback and not outcome.cached
        assert bulletins.rerender_fallbacks(ctx) == []  # nothing left to replace
    finally:
        ctx.close()
