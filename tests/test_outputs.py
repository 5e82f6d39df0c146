"""Outputs and engines as a station meets them: a real player, a failing player, and the
offline fallback of the TTS chain."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from stationkit import Cli, rows


def _use_player(root, command: str | None = None, device: str | None = None) -> None:
    path = root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    settings = "type: player"
    if command is not None:
        settings += f", command: {command}"
    if device is not None:
        settings += f", device: {device}"
    text = text.replace(
        "  files: {type: file, dir: out}",
        f"  files: {{type: file, dir: out}}\n  loa: {{{settings}}}",
    )
    text = text.replace(
        "{id: thon-a, name: Cụm loa thôn A, kind: cluster, output: files}",
        "{id: thon-a, name: Cụm loa thôn A, kind: cluster, output: loa}",
    )
    path.write_text(text, encoding="utf-8")


def test_player_output_plays_through_ffplay(cli):
    """The station PC's sound card path: ffplay (SDL's dummy audio driver here) plays the
    approved audio to the end and the airing is logged aired."""
    _use_player(cli.root, '[ffplay, -nodisp, -autoexit, -loglevel, error, "{file}"]')
    cli.env["SDL_AUDIODRIVER"] = "dummy"
    r = cli("emergency", "bao-lu", "--zones", "thon-a")
    assert r.code == 0, r.out + r.err
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "aired" and entry["zone_id"] == "thon-a"
    assert entry["ended_at"] > entry["started_at"]


def test_failing_player_is_logged_failed_never_aired(cli):
    _use_player(cli.root, '["false", "{file}"]')
    r = cli("emergency", "bao-lu", "--zones", "thon-a")
    assert r.code == 1
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "failed"
    assert "player exited with 1" in entry["reason"]


def test_missing_player_is_logged_failed(cli):
    _use_player(cli.root, '[no-such-player, "{file}"]')
    assert cli("emergency", "bao-lu", "--zones", "thon-a").code == 1
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "failed" and "not installed" in entry["reason"]


def _no_sound_card() -> bool:
    cards = Path("/proc/asound/cards")
    return not cards.exists() or "no soundcards" in cards.read_text() or not cards.read_text()


needs_no_card = pytest.mark.skipif(
    not _no_sound_card(), reason="this machine has a sound card: the test would play on it"
)
# ffmpeg writing to ALSA's ``null`` device at the audio's own pace (-re): a real player
# that plays successfully on a machine without a sound card.
NULL_PLAYER = (
    '[ffmpeg, -hide_banner, -nostdin, -loglevel, error, -re, -i, "{file}", -f, alsa, "{device}"]'
)


def _duration(entry) -> float:
    return (
        datetime.fromisoformat(entry["ended_at"]) - datetime.fromisoformat(entry["started_at"])
    ).total_seconds()


@needs_no_card
def test_ffplay_that_cannot_open_the_sound_card_is_failed_not_aired(cli):
    """ffplay prints "audio open failed" and exits 0 at once on a PC without a working
    sound card: it was logged aired, started and ended in the same second."""
    _use_player(cli.root, '[ffplay, -nodisp, -autoexit, -loglevel, error, "{file}"]')
    cli.env["SDL_AUDIODRIVER"] = "alsa"
    r = cli("emergency", "bao-lu", "--zones", "thon-a")
    assert r.code == 1
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "failed"
    assert "could not open its device" in entry["reason"]
    assert "audio open failed" in entry["reason"]


@needs_no_card
def test_default_player_fails_loudly_without_a_sound_card(cli):
    _use_player(cli.root)
    assert cli("emergency", "bao-lu", "--zones", "thon-a").code == 1
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "failed"
    assert "player exited with 1" in entry["reason"]
    assert "cannot open audio device" in entry["reason"]


def test_player_that_plays_at_real_pace_is_aired(cli):
    _use_player(cli.root, NULL_PLAYER, device='"null"')
    r = cli("emergency", "bao-lu", "--zones", "thon-a")
    assert r.code == 0, r.out + r.err
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "aired"
    [rendition] = rows(
        cli.root, "select duration_seconds from rendition where bulletin_id='bao-lu'"
    )
    assert _duration(entry) >= rendition["duration_seconds"] - 0.25


def test_player_that_returns_early_is_failed_with_what_it_played(cli):
    """Exit 0 after half a second of a longer bulletin: it did not play the bulletin."""
    _use_player(
        cli.root,
        '[ffmpeg, -hide_banner, -nostdin, -loglevel, error, -re, -t, "0.5", -i, "{file}", '
        '-f, alsa, "null"]',
    )
    assert cli("emergency", "bao-lu", "--zones", "thon-a").code == 1
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "failed"
    assert re.search(r"returned early: played \d\.\d s of \d+ s", entry["reason"]), entry["reason"]


@needs_no_card
def test_check_online_says_when_the_player_cannot_open_its_device(cli):
    _use_player(cli.root)
    assert cli("check").code == 0  # offline, nothing is tried
    r = cli("check", "--online")
    assert r.code == 1
    assert "outputs.loa" in r.err and "cannot open audio device" in r.err
    assert "Traceback" not in r.err


def test_check_online_passes_a_player_that_plays(cli):
    _use_player(cli.root, NULL_PLAYER, device='"null"')
    r = cli("check", "--online")
    assert r.code == 0, r.out + r.err


def test_corrupted_audio_on_disk_never_plays(cli):
    """Audio changed on disk after approval: the gate refuses it at playout."""
    [path] = [
        r["audio_path"]
        for r in rows(cli.root, "select audio_path from rendition where bulletin_id='bao-lu'")
    ]
    with open(cli.root / path, "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00" * 64)
    assert cli("emergency", "bao-lu", "--zones", "xa").code == 1
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "failed" and "differs from the approved audio" in entry["reason"]
    assert not (cli.root / "out").exists()


def test_render_falls_back_to_espeak_when_gtts_is_unreachable(bare_station):
    """gTTS first, as stations configure it; with the network closed (a proxy that refuses
    connections, so no test reaches the internet) espeak-ng renders and it is flagged."""
    path = bare_station / "schedules" / "station.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("tts: [espeak]", "tts: [gtts, espeak]"),
        encoding="utf-8",
    )
    cli = Cli(
        bare_station,
        {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""},
    )
    r = cli("render", "nq57-mot", "--json")
    assert r.code == 0, r.err
    [outcome] = json.loads(r.out)
    assert outcome["engine"] == "espeak" and outcome["fallback"]
    assert not list((bare_station / "audio" / "rendered").glob("*.part"))
    assert not list((bare_station / "audio" / "rendered").glob(".*"))
