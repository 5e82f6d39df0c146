"""Dead air in a relay (issue 16, "silence on air"), through the real ``broadcaster run``
against a real Icecast on 127.0.0.1: the upstream "VOV" (ffmpeg's aevalsrc) carries a
tone, then 15 s of digital silence, then the tone again, inside a one-minute window
reached by the daemon's shifted clock.

- the window's as-run entry lists the silence (kind ``silence``) with its time and
  length, the relay is still ``aired``, and the chain verifies;
- ``status`` shows the alert (Vietnamese, and in ``--json``);
- the station's hook (a tiny script writing its arguments and environment to a file)
  ran exactly once, with the alert's details;
- nothing is left behind: no ffmpeg, no hook.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from netkit import ICECAST_SOURCE_PASSWORD, icecast, stop
from relaykit import mount_up
from stationkit import VN, Cli, offset_to, rows
from test_relay_daemon import DaemonClock, _pulls_of

pytestmark = pytest.mark.realtime

WINDOW = (datetime(2026, 11, 23, 5, 30, tzinfo=VN), datetime(2026, 11, 23, 5, 31, tzinfo=VN))
SILENT = (15, 30)  # seconds of the upstream's own time that are digital silence
LEAD = 4.0  # the upstream starts this long before the window (on the daemon's clock)


def _station(cli: Cli, port: int, hook: Path) -> None:
    path = cli.root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    extra = f"""\
sources:
  - {{id: vov1, name: VOV1, url: "http://127.0.0.1:{port}/vov1.mp3"}}
relays:
  - {{id: vov1-sang, source: vov1, zones: [xa], days: [mon], start: "05:30", end: "05:31", min_share: 0.5}}
silence:
  threshold_dbfs: -50
  min_seconds: 10
  hook: [{hook}, "+84912345678"]
  hook_timeout_seconds: 10
"""
    path.write_text(text.replace("requirements:\n", extra + "requirements:\n", 1), "utf-8")


def _upstream(port: int) -> subprocess.Popen:
    """A tone with 15 s of silence in it, fed to the mount at real-time pace."""
    expr = f"if(between(t,{SILENT[0]},{SILENT[1]}),0,0.5*sin(2*PI*440*t))"
    argv = [
        *("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re"),
        *("-f", "lavfi", "-i", f"aevalsrc='{expr}':s=22050:c=mono"),
        *("-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3"),
        f"icecast://source:{ICECAST_SOURCE_PASSWORD}@127.0.0.1:{port}/vov1.mp3",
    ]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while not mount_up(f"http://127.0.0.1:{port}/vov1.mp3"):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the upstream never came up"
        time.sleep(0.1)
    return proc


def test_silence_inside_a_relay_is_logged_alerted_and_hooked(cli: Cli, tmp_path: Path):
    got = tmp_path / "hook-calls.txt"
    hook = tmp_path / "hook.sh"
    hook.write_text(
        f'#!/bin/sh\necho "$* | $BROADCASTER_ALERT_ZONE_NAME | $BROADCASTER_ALERT_MESSAGE"'
        f" >> {got}\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)
    upstream = None
    with icecast() as server:
        _station(cli, server.port, hook)
        assert cli("check").code == 0
        began = time.monotonic()
        cli.subprocess("--version", check=True, real=True)
        lead = max(10.0, 3 * (time.monotonic() - began))
        start = WINDOW[0].replace(tzinfo=None) - timedelta(seconds=lead)
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to(start.isoformat())
        clock = DaemonClock(cli.env["BROADCASTER_CLOCK_OFFSET"])
        daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
        try:
            clock.wait_until(WINDOW[0] - timedelta(seconds=LEAD))
            upstream = _upstream(server.port)
            upstream_t0 = clock.now()
            clock.wait_until(WINDOW[1] + timedelta(seconds=2))
            deadline = time.monotonic() + 30
            while not rows(cli.root, "select seq from as_run_log where origin='relay'"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert _pulls_of(server.port) == []  # killed at the window's end
        finally:
            if upstream is not None:
                stop(upstream)
            stop(daemon)
    err = daemon.stderr.read() if daemon.stderr else ""
    [entry] = rows(cli.root, "select * from as_run_log where origin='relay'")
    assert entry["outcome"] == "aired", (dict(entry), err)
    gaps = json.loads(entry["dropouts"])
    silences = [g for g in gaps if g["kind"] == "silence"]
    assert len(silences) == 1, (gaps, err)
    silence = silences[0]
    assert 13 <= silence["seconds"] <= 17, silence
    # Dead air is not the programme: the seconds relayed leave it out, and say so.
    assert entry["relayed_seconds"] <= 60 - 12, dict(entry)
    assert "s of dead air not counted as relayed" in entry["reason"], dict(entry)
    at = datetime.fromisoformat(silence["at"])
    expected = upstream_t0 + timedelta(seconds=SILENT[0])  # plus the stream's own delay
    assert timedelta(seconds=-2) <= at - expected <= timedelta(seconds=6), (at, expected)
    assert not [g for g in gaps if g["kind"] == "down"], gaps
    assert cli("log", "verify").code == 0

    [alert] = rows(cli.root, "select * from air_alert")
    assert alert["zone_id"] == "xa" and alert["what"] == "relay:vov1-sang"
    assert alert["source"] == "vov1" and alert["hook"] == "ok", dict(alert)
    assert alert["seconds"] == silence["seconds"] and alert["ended_at"] is not None
    assert alert["clock"].startswith("shifted:")

    calls = got.read_text(encoding="utf-8").splitlines()
    assert len(calls) == 1, calls  # once per silence
    args, zone_name, message = calls[0].split(" | ")
    local = at.astimezone(VN).isoformat(timespec="seconds")
    assert args.split() == ["+84912345678", "silence", "xa", local, "10", "relay:vov1-sang"]
    assert zone_name == "Đài xã" and "Đài xã" in message

    shown = cli("--lang", "vi", "status", "--include-unreal", "--week", "2026-W48")
    assert shown.code == 0, shown.err
    assert "Mất tiếng trên sóng trong tuần (1):" in shown.out, shown.out
    hh_mm = at.astimezone(VN).strftime("%H:%M")
    assert "Đài xã: im lặng từ" in shown.out and hh_mm in shown.out, shown.out
    as_json = cli("status", "--include-unreal", "--week", "2026-W48", "--json")
    assert as_json.code == 0, as_json.err
    by_zone = {r["zone"]: r["silence_alerts"] for r in json.loads(as_json.out)}
    assert [a["what"] for a in by_zone["xa"]] == ["relay:vov1-sang"] and by_zone["thon-a"] == []
    assert by_zone["xa"][0]["started_at"] == local and by_zone["xa"][0]["ongoing"] is False
    real_only = cli("status", "--week", "2026-W48", "--json")  # a test's alert is not real
    assert all(r["silence_alerts"] == [] for r in json.loads(real_only.out))
