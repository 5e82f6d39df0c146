"""``broadcaster live`` (issue 16): an audio file stands in for the station's sound card.
What was said live is recorded, hashed and logged per zone; the broadcast ends at its
time-out, when the speaker stops it, or when the file ends; with a daemon running it is
aired by the daemon, holds back scheduled airings, cuts what plays and yields to an
emergency. Real ffmpeg, real daemon, the file output's bytes."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
import wave
from pathlib import Path

import pytest
from stationkit import Cli, db


def tone(path: Path, seconds: float, freq: int = 440) -> Path:
    subprocess.run(
        [
            *("ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi"),
            *("-i", f"sine=frequency={freq}:duration={seconds}", "-ar", "16000", "-ac", "1"),
            str(path),
        ],
        check=True,
    )
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def live_entries(root: Path) -> list[dict]:
    with db(root) as conn:
        found = conn.execute(
            "SELECT * FROM as_run_log WHERE origin = 'live' ORDER BY seq"
        ).fetchall()
    return [dict(r) for r in found]


def broadcasts(root: Path) -> list[dict]:
    with db(root) as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM live_broadcast ORDER BY id")]


def test_a_live_broadcast_is_recorded_hashed_logged_and_times_out(cli: Cli, station: Path):
    source = tone(station / "mic.wav", 30)
    res = cli(
        "live",
        *("--zones", "xa,thon-a", "--input", str(source), "--max-minutes", "0.1"),
        *("--by", "Chủ tịch UBND xã"),
    )
    assert res.code == 0, res.err
    assert "ON AIR" in res.out and "no daemon runs" in res.out
    [row] = broadcasts(station)
    assert row["state"] == "done" and row["zones"] == "xa,thon-a"
    recording = station / row["recording"]
    assert recording.parent == station / "recordings" / "live"
    assert 4.5 <= wav_seconds(recording) <= 6.5  # 6 s, not the file's 30 s
    assert row["sha256"] == sha256(recording)
    entries = live_entries(station)
    assert [e["zone_id"] for e in entries] == ["xa", "thon-a"]  # thon-b was not asked for
    for e in entries:
        assert e["outcome"] == "aired"
        assert e["bulletin_id"] == f"live:{row['id']}"
        assert e["audio_sha256"] == row["sha256"]
        assert "Chủ tịch UBND xã" in e["triggered_by"]
        assert e["reason"] == "ended at the time-out of 0.1 min"
        assert e["source"] == str(source)
        assert 4.0 <= e["relayed_seconds"] <= 6.1
        assert 5.5 <= e["duration_seconds"] <= 8.0
        # what the zone's output carried is what was recorded
        [carried] = (station / "out" / e["zone_id"]).glob(f"*-relay-live-{row['id']}-*.wav")
        assert sha256(carried) == row["sha256"]
    assert cli("log", "verify").code == 0
    status = json.loads(cli("status", "--json", "--include-unreal").out)
    assert all(r["aired"] == 0 for r in status)  # a live broadcast is not a bulletin
    for kind in ("json", "xlsx", "docx"):  # the reports show it beside bulletins and relays
        out = station / f"report.{kind}"
        made = cli(
            "report",
            "--from",
            "2026-11-16",
            "--to",
            "2026-11-29",
            "--include-unreal",
            "--out",
            str(out),
        )
        assert made.code == 0, made.err
    zones = {
        z["zone_id"]: z["counts"]
        for z in json.loads((station / "report.json").read_text())["zones"]
    }
    assert zones["xa"]["live_broadcasts"] == 1 and zones["thon-b"]["live_broadcasts"] == 0
    assert zones["xa"]["live_minutes"] == pytest.approx(
        entries[0]["relayed_seconds"] / 60, abs=0.01
    )
    assert zones["xa"]["aired"] == 0


def test_the_file_ending_ends_it_and_the_speaker_can_stop_it(cli: Cli, station: Path):
    short = tone(station / "short.wav", 2.5)
    res = cli("live", "--zones", "all", "--input", str(short), "--by", "Cán bộ A")
    assert res.code == 0, res.err
    ended = live_entries(station)
    assert {e["zone_id"] for e in ended} == {"xa", "thon-a", "thon-b"}
    assert {e["reason"] for e in ended} == {"the input ended"}
    assert all(2.0 <= e["relayed_seconds"] <= 2.6 for e in ended)

    long = tone(station / "long.wav", 120)
    proc = cli.popen("live", "--zones", "xa", "--input", str(long), "--by", "Cán bộ B")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(b["state"] == "on-air" for b in broadcasts(station)):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the broadcast never went on air")
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    last = live_entries(station)[-1]
    assert last["zone_id"] == "xa" and last["outcome"] == "aired"
    assert last["reason"].startswith("stopped by ") and "Cán bộ B" in last["reason"]
    assert 1.0 <= last["relayed_seconds"] <= 30  # stopped long before the file's end


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--zones", "xa", "--input", "khong-co.wav"), "--input"),
        (("--zones", "xa", "--input", "/khong/co/tep.mp3"), "--input"),
        (("--zones", "xa", "--input", "default", "--max-minutes", "0"), "--max-minutes"),
        (("--zones", "xa", "--input", "default", "--max-minutes", "500"), "--max-minutes"),
        (("--zones", "khong-co", "--input", "default"), "--zones"),
    ],
)
def test_bad_input_is_one_line_and_nothing_goes_on_air(
    cli: Cli, station: Path, args: tuple[str, ...], option: str
):
    res = cli("live", *args)
    assert res.code == 2
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in res.err
    assert not (station / "recordings").exists()
    assert broadcasts(station) == [] if (station / "station.db").exists() else True


def test_dead_air_inside_a_live_broadcast_is_listed_and_raises_an_alert(cli: Cli, station: Path):
    """The speaker falls silent for 4 s (the station's minimum is 2 s): the zone's entry
    lists the span and an alert is raised for it, as for a relay."""
    import math

    yaml = station / "schedules" / "station.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8") + "silence:\n  min_seconds: 2\n")
    rate = 16000
    voice = [int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(2 * rate)]
    samples = voice + [0] * (4 * rate) + voice
    source = station / "im-lang.wav"
    with wave.open(str(source), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
    res = cli("live", "--zones", "xa", "--input", str(source), "--by", "Cán bộ C")
    assert res.code == 0, res.err
    [entry] = live_entries(station)
    quiet = [g for g in json.loads(entry["dropouts"]) if g["kind"] == "silence"]
    assert len(quiet) == 1 and 3.0 <= quiet[0]["seconds"] <= 5.0, entry["dropouts"]
    with db(station) as conn:
        alerts = [dict(r) for r in conn.execute("SELECT * FROM air_alert")]
    assert [(a["zone_id"], a["what"]) for a in alerts] == [("xa", entry["bulletin_id"])]
    assert 3.0 <= alerts[0]["seconds"] <= 5.0 and alerts[0]["ended_at"] is not None
