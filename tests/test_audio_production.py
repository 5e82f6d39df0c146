"""Audio production end to end through ``broadcaster render``: loudness by an
independent meter, delivery format, jingles and repeat, recordings, and the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from audiokit import ebur128, make_audio, probe, speech_wav
from stationkit import Cli, script_text

TOLERANCE_LU = 1.0


def set_yaml(root: Path, extra: str, tts: str | None = None) -> None:
    path = root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    if tts:
        text = text.replace("tts: [espeak]", f"tts: {tts}")
    path.write_text(text + extra, encoding="utf-8")


def keep_only(root: Path, *ids: str) -> None:
    for script in (root / "scripts").glob("*.md"):
        if script.stem not in ids:
            script.unlink()


def write_script(root: Path, bulletin_id: str, body: str, extra: str = "") -> None:
    text = script_text(bulletin_id, "normal", "nq57", body, "all")
    if extra:
        text = text.replace("language: vi\n", f"language: vi\n{extra}")
    (root / "scripts" / f"{bulletin_id}.md").write_text(text, encoding="utf-8")


def render_json(cli: Cli, *args: str) -> list[dict]:
    result = cli("render", "--json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_tts_renditions_meet_the_loudness_target_by_ffmpegs_meter(bare_station: Path):
    cli = Cli(bare_station)
    outcomes = render_json(cli)
    assert outcomes and all(not o["error"] for o in outcomes)
    for o in outcomes:
        lufs, peak = ebur128(bare_station / o["path"])
        assert abs(lufs - (-16.0)) <= TOLERANCE_LU, (o["bulletin_id"], lufs)
        assert peak <= -1.0, (o["bulletin_id"], peak)
        # what render stored and shows is what the file measures
        assert abs(o["loudness_lufs"] - lufs) <= 0.2
        assert abs(o["true_peak_dbtp"] - peak) <= 0.2


@pytest.mark.parametrize(
    ("name", "gain_db", "suffix", "codec_args"),
    [
        ("too-loud", 30.0, ".m4a", ["-c:a", "aac", "-b:a", "128k"]),
        ("too-quiet", -35.0, ".ogg", ["-c:a", "libvorbis"]),
    ],
)
def test_a_recording_far_too_loud_or_quiet_comes_out_at_target(
    bare_station: Path, tmp_path: Path, name, gain_db, suffix, codec_args
):
    wav = speech_wav(
        tmp_path / f"{name}.wav",
        "Thông báo của ủy ban nhân dân xã về lịch tiêm phòng cho trẻ em.",
        gain_db,
    )
    recorded = bare_station / "audio" / "recorded" / f"{name}{suffix}"
    recorded.parent.mkdir(parents=True, exist_ok=True)
    os.system(f"ffmpeg -v error -y -i {wav} {' '.join(codec_args)} {recorded}")
    before, _ = ebur128(recorded)
    assert abs(before - (-16.0)) > 8, before  # really far off, so the test means something
    write_script(bare_station, name, "Bản ghi âm.", f"audio: audio/recorded/{name}{suffix}\n")
    keep_only(bare_station, name)
    (outcome,) = render_json(Cli(bare_station), name)
    assert outcome["engine"] == "recorded"
    lufs, peak = ebur128(bare_station / outcome["path"])
    assert abs(lufs - (-16.0)) <= TOLERANCE_LU
    assert peak <= -1.0


def test_station_format_and_loudness_target_are_honoured(bare_station: Path):
    set_yaml(
        bare_station,
        "production:\n  format: wav\n  sample_rate: 48000\n  channels: 2\n"
        "  loudness: {target_lufs: -23, true_peak_dbtp: -2}\n",
    )
    keep_only(bare_station, "nq57-mot")
    (outcome,) = render_json(Cli(bare_station))
    path = bare_station / outcome["path"]
    assert path.suffix == ".wav"
    info = probe(path)
    assert (info["codec"], info["sample_rate"], info["channels"]) == ("pcm_s16le", 48000, 2)
    lufs, peak = ebur128(path)
    assert abs(lufs - (-23.0)) <= TOLERANCE_LU
    assert peak <= -2.0


TONE_TTS = (
    "engines:\n  command:\n    argv: [ffmpeg, -nostdin, -v, error, -y, -f, lavfi, -i, "
    '"sine=frequency=330:duration=1", -ar, "44100", "{out}"]\n'
    "    suffix: .wav\n"
)


def test_jingles_and_repeat_give_the_exact_layout(bare_station: Path):
    """A TTS command that says every sentence as exactly one second of tone makes the
    layout arithmetic exact: intro, gap, body, pause, lead-in, pause, body, gap, outro."""
    jingles = bare_station / "audio" / "jingles"
    jingles.mkdir(parents=True)
    make_audio(jingles / "intro.wav", "sine=frequency=880:duration=2")
    make_audio(jingles / "outro.mp3", "sine=frequency=660:duration=1.5")
    set_yaml(
        bare_station,
        TONE_TTS + "production:\n"
        "  pauses: {sentence_ms: 400, paragraph_ms: 900}\n"
        "  jingles: {intro: audio/jingles/intro.wav, outro: audio/jingles/outro.mp3, gap_ms: 300}\n"
        "  repeat: {enabled: true, lead_in: Xin nhắc lại., pause_ms: 1000}\n",
        tts="[command]",
    )
    # title paragraph + two sentences + one sentence: 4 sentences, 3 paragraphs
    write_script(bare_station, "bo-cuc", "Câu thứ nhất. Câu thứ hai.\n\nCâu thứ ba.")
    keep_only(bare_station, "bo-cuc")
    (outcome,) = render_json(Cli(bare_station))
    body = 4 * 1.0 + 1 * 0.4 + 2 * 0.9
    expected = 2.0 + 0.3 + body + 1.0 + 1.0 + 0.4 + body + 0.3 + 1.5
    assert outcome["duration_seconds"] == pytest.approx(expected, abs=0.05)
    assert probe(bare_station / outcome["path"])["duration"] == pytest.approx(expected, abs=0.15)

    # a script can turn the repeat off; the layout shrinks by exactly the repeat
    write_script(
        bare_station, "bo-cuc", "Câu thứ nhất. Câu thứ hai.\n\nCâu thứ ba.", "repeat: false\n"
    )
    (once,) = render_json(Cli(bare_station))
    assert once["duration_seconds"] == pytest.approx(2.0 + 0.3 + body + 0.3 + 1.5, abs=0.05)


def test_a_cache_hit_does_no_synthesis_and_force_redoes_it(bare_station: Path, tmp_path: Path):
    """The engine is a real program that counts its calls."""
    counter = tmp_path / "calls.log"
    tool = tmp_path / "counting-tts"
    tool.write_text(
        f'#!/bin/sh\necho call >> "{counter}"\nexec espeak-ng -v vi -w "$1" "$2"\n',
        encoding="utf-8",
    )
    tool.chmod(0o755)
    set_yaml(
        bare_station,
        f'engines:\n  command:\n    argv: ["{tool}", "{{out}}", "{{text}}"]\n',
        tts="[command]",
    )
    keep_only(bare_station, "nq57-mot", "nq57-hai")
    cli = Cli(bare_station)
    first = render_json(cli)
    calls = counter.read_text().count("call")
    assert calls >= 4 and all(not o["cached"] for o in first)

    second = render_json(cli)
    assert all(o["cached"] for o in second)
    assert counter.read_text().count("call") == calls  # no synthesis at all
    assert [o["path"] for o in second] == [o["path"] for o in first]

    forced = render_json(cli, "--force", "nq57-mot")
    assert not forced[0]["cached"]
    assert counter.read_text().count("call") > calls


def test_changing_a_setting_that_changes_the_sound_makes_new_audio(bare_station: Path):
    keep_only(bare_station, "nq57-mot")
    cli = Cli(bare_station)
    (first,) = render_json(cli)
    set_yaml(bare_station, "engines:\n  espeak: {speed: 130}\n")
    (slower,) = render_json(cli)
    assert not slower["cached"] and slower["path"] != first["path"]
    assert slower["duration_seconds"] > first["duration_seconds"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"ID3\x04garbage" * 50, "cannot decode audio")],
)
def test_a_corrupt_or_empty_recording_is_refused_by_name(bare_station: Path, content, message):
    recorded = bare_station / "audio" / "recorded" / "hong.mp3"
    recorded.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_bytes(content)
    write_script(bare_station, "hong", "Bản ghi hỏng.", "audio: audio/recorded/hong.mp3\n")
    keep_only(bare_station, "hong", "nq57-mot")
    result = Cli(bare_station)("render", "--json")
    assert result.code == 1
    assert "Traceback" not in result.err + result.out
    (failed,) = [o for o in json.loads(result.out) if o["error"]]
    assert failed["bulletin_id"] == "hong"
    assert "audio/recorded/hong.mp3" in failed["error"] and message in failed["error"]
    assert "\n" not in failed["error"]
    rendered = list((bare_station / "audio" / "rendered").iterdir())
    assert not [p for p in rendered if p.name.startswith("hong")]
    assert not [p for p in rendered if p.name.startswith(".")]  # no scratch left behind
    assert [p for p in rendered if p.name.startswith("nq57-mot") and p.suffix == ".mp3"]


def test_bad_production_settings_are_reported_with_their_line(bare_station: Path):
    set_yaml(
        bare_station,
        "production:\n  loudness: {target_lufs: 3}\n  jingles: {intro: audio/jingles/none.mp3}\n"
        "engines:\n  espeak: {sped: 140}\n  piper: {}\n",
    )
    result = Cli(bare_station)("check")
    assert result.code == 1
    text = result.out + result.err
    assert "Traceback" not in text
    for field in (
        "production.loudness.target_lufs",
        "production.jingles.intro",
        "engines.espeak.sped",
        "engines.piper",
    ):
        assert field in text, field


def test_a_render_with_worker_processes_leaves_no_process_behind(bare_station: Path):
    """Issue 11: runs left multiprocessing fork servers behind. The pool's workers and its
    fork server are stopped when a render with workers ends."""
    from prockit import descendants

    from broadcaster.app import bulletins
    from broadcaster.app.context import StationContext
    from broadcaster.engine.clock import SystemClock

    keep_only(bare_station, "nq57-mot", "nq57-hai")
    before = {pid for pid, _cmd in descendants()}
    ctx = StationContext.open(bare_station, clock=SystemClock())
    try:
        outcomes = bulletins.render(ctx, workers=2)
    finally:
        ctx.close()
    assert len(outcomes) == 2 and not [o.error for o in outcomes if o.error]
    left = [(pid, cmd) for pid, cmd in descendants() if pid not in before]
    assert left == []
