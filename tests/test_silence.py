"""Dead air (issue 16, "silence on air"): the pure detector fed numpy-made tones and
silences, the ``silence:`` block of station.yaml through the real ``check``, and the hook
runner with a real script (its arguments, its time-out, its failure)."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from stationkit import STATION_YAML, Cli

from broadcaster.engine.silence_alerts import run_hook
from broadcaster.playout.silence import (
    FLOOR_DBFS,
    SilenceDetector,
    SilenceSpan,
    SilenceStarted,
    level_dbfs,
)

RATE = 22050
T0 = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)


def tone(seconds: float, amplitude: float = 0.5, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")


def quiet(seconds: float, noise_dbfs: float | None = None) -> np.ndarray:
    n = int(seconds * RATE)
    if noise_dbfs is None:
        return np.zeros(n, dtype="<i2")
    rms = 32768 * 10 ** (noise_dbfs / 20)
    return np.random.default_rng(1).normal(0, rms, n).astype("<i2")


def feed(detector: SilenceDetector, signal: np.ndarray, block: float = 0.1):
    """The signal in blocks of ``block`` seconds from T0, as bytes (what a sink gets)."""
    step = int(block * RATE)
    events = []
    for i in range(0, len(signal), step):
        events += detector.feed(signal[i : i + step].tobytes(), T0 + timedelta(seconds=i / RATE))
    return events


def test_levels_of_a_tone_and_of_digital_silence():
    assert level_dbfs(tone(1.0, 0.5)) == pytest.approx(-9.03, abs=0.1)  # sine: peak - 3 dB
    assert level_dbfs(quiet(1.0)) == FLOOR_DBFS
    assert level_dbfs(b"") == FLOOR_DBFS
    assert level_dbfs(quiet(1.0, -60).tobytes()) == pytest.approx(-60, abs=0.5)


def test_a_long_silence_between_tones_is_one_span_with_its_time():
    d = SilenceDetector(-50, 10, rate=RATE)
    events = feed(d, np.concatenate([tone(5), quiet(15), tone(5)]))
    assert [type(e) for e in events] == [SilenceStarted, SilenceSpan]
    started, span = events
    assert started.at == span.at == T0 + timedelta(seconds=5)
    assert started.seconds == pytest.approx(10, abs=0.11)  # raised at the minimum, not later
    assert span.seconds == pytest.approx(15, abs=0.11)
    assert span.as_dict() == {"at": span.at.isoformat(), "seconds": 15.0, "kind": "silence"}


def test_short_pauses_and_quiet_programme_are_not_dead_air():
    d = SilenceDetector(-50, 10, rate=RATE)
    speech_like = np.concatenate([tone(3), quiet(9), tone(1, 0.01), quiet(9), tone(3)])
    assert feed(d, speech_like) == []  # -49 dBFS tone breaks the 18 s into two 9 s pauses
    hiss = np.concatenate([tone(1), quiet(12, noise_dbfs=-40), tone(1)])
    assert feed(SilenceDetector(-50, 10, rate=RATE), hiss) == []  # -40 dBFS is not silence


def test_noise_below_the_threshold_counts_and_both_settings_are_honoured():
    signal = np.concatenate([tone(1), quiet(7, noise_dbfs=-70), tone(1)])
    assert feed(SilenceDetector(-50, 10, rate=RATE), signal) == []  # 7 s < 10 s
    events = feed(SilenceDetector(-50, 5, rate=RATE), signal)
    assert [type(e) for e in events] == [SilenceStarted, SilenceSpan]
    assert events[1].seconds == pytest.approx(7, abs=0.11)
    assert feed(SilenceDetector(-75, 5, rate=RATE), signal) == []  # -70 dBFS is above -75


def test_silence_to_the_end_is_closed_by_interrupt():
    d = SilenceDetector(-50, 10, rate=RATE)
    events = feed(d, np.concatenate([tone(2), quiet(12)]))
    assert [type(e) for e in events] == [SilenceStarted]
    assert d.silent_since == T0 + timedelta(seconds=2)
    end = d.interrupt(T0 + timedelta(seconds=14))
    assert [type(e) for e in end] == [SilenceSpan] and end[0].seconds == pytest.approx(12)
    assert d.interrupt(T0 + timedelta(seconds=20)) == []  # nothing open any more


def test_a_second_silence_is_a_second_alert():
    d = SilenceDetector(-50, 10, rate=RATE)
    events = feed(d, np.concatenate([quiet(11), tone(1), quiet(11), tone(1)]))
    assert [type(e) for e in events] == [SilenceStarted, SilenceSpan] * 2
    assert events[3].at == T0 + timedelta(seconds=12)


STATION = "schedules/station.yaml"


def _with(root: Path, block: str) -> str:
    text = STATION_YAML.replace("requirements:\n", block + "requirements:\n", 1)
    (root / STATION).write_text(text, encoding="utf-8")
    return text


def test_the_silence_block_passes_check_and_its_mistakes_are_located(bare_station: Path):
    cli = Cli(bare_station, env={"BROADCASTER_NOW": "2026-11-20T08:00+07:00"})
    _with(bare_station, "silence: {threshold_dbfs: -45, min_seconds: 8, hook: [scripts/sms.sh]}\n")
    ok = cli("check")
    assert ok.code == 0, ok.err
    text = _with(
        bare_station,
        "silence:\n  threshold_dbfs: 3\n  min_seconds: 0\n  hook: []\n  loud: yes\n",
    )
    bad = cli("check")
    assert bad.code == 1 and "Traceback" not in bad.err
    lines = text.split("\n")
    for field in ("threshold_dbfs", "min_seconds", "hook", "loud"):
        line = next(i for i, t in enumerate(lines, 1) if t.strip().startswith(field + ":"))
        assert f"{STATION}:{line}: silence.{field}:" in bad.err, bad.err


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_hook_gets_its_arguments_and_environment(tmp_path: Path):
    out = tmp_path / "got.txt"
    hook = _script(tmp_path / "hook.sh", f'echo "$@" "$BROADCASTER_ALERT_ZONE" > {out}\n')
    ok, why = run_hook([str(hook), "a b"], {"BROADCASTER_ALERT_ZONE": "xa"}, tmp_path, 5)
    assert (ok, why) == (True, "ok")
    assert out.read_text(encoding="utf-8") == "a b xa\n"


def test_a_failing_or_hanging_hook_is_reported_never_raised(tmp_path: Path):
    failing = _script(tmp_path / "fail.sh", "echo 'no modem' >&2\nexit 3\n")
    ok, why = run_hook([str(failing)], {}, tmp_path, 5)
    assert not ok and "3" in why and "no modem" in why
    assert run_hook([str(tmp_path / "missing")], {}, tmp_path, 5)[0] is False
    pid_file = tmp_path / "pid"
    hanging = _script(tmp_path / "hang.sh", f"sleep 30 &\necho $! > {pid_file}\nwait\n")
    began = time.monotonic()
    ok, why = run_hook([str(hanging)], {}, tmp_path, 1)
    assert not ok and time.monotonic() - began < 5
    child = int(pid_file.read_text(encoding="utf-8"))
    assert _gone(child)  # the whole group was killed, the script's child too


def _gone(pid: int, timeout: float = 5.0) -> bool:
    """No such process, or only its zombie (reaped by whoever adopted it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1]
        except OSError:
            return True
        if state.split()[0] in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False
