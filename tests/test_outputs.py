"""Outputs and engines as a station meets them: a real player, a failing player, and the
offline fallback of the TTS chain."""

from __future__ import annotations

import json

from stationkit import Cli, rows


def _use_player(root, command: str) -> None:
    path = root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "  files: {type: file, dir: out}",
        f"  files: {{type: file, dir: out}}\n  loa: {{type: player, command: {command}}}",
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
