"""Relays on air (issue 16, part 2) through the real ``broadcaster run`` against a real
Icecast on 127.0.0.1 carrying a test "VOV" (ffmpeg's sine), in one one-minute window
reached by the daemon's shifted clock (BROADCASTER_CLOCK_OFFSET):

- ``xa`` and ``thon-c`` take ``vov1``: ONE connection to the upstream for both; the
  upstream is killed mid-window and comes back: the log lists the dropout and the
  seconds relayed, and the relay still stops at the window's end;
- an emergency on ``thon-c`` cuts its relay, which resumes after it (the entry lists
  the cut; the recorded file is shorter by it);
- ``thon-a`` takes ``tinh``, whose main URL is gone: the backup URL takes over;
- ``thon-b`` takes ``huyen``, which never comes up: ``failed`` with the reason;
- the file output's recordings have the expected length (ffprobe), and no ffmpeg is
  left behind.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from netkit import free_port, icecast, stop
from relaykit import listeners, probe_seconds, relay_records, upstreams
from stationkit import VN, Cli, offset_to, rows

pytestmark = pytest.mark.realtime

WINDOW = (datetime(2026, 11, 23, 5, 30, tzinfo=VN), datetime(2026, 11, 23, 5, 31, tzinfo=VN))


def _relay_station(cli: Cli, port: int, dead_port: int) -> None:
    path = cli.root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "  - {id: thon-b, name: Cụm loa thôn B, kind: cluster, output: files}\n",
        "  - {id: thon-b, name: Cụm loa thôn B, kind: cluster, output: files}\n"
        "  - {id: thon-c, name: Cụm loa thôn C, kind: cluster, output: files}\n",
    )
    base = f"http://127.0.0.1:{port}"
    extra = f"""\
sources:
  - {{id: vov1, name: VOV1, url: "{base}/vov1.mp3"}}
  - {{id: tinh, name: Đài tỉnh, url: "{base}/missing.mp3", backup_url: "{base}/backup.mp3"}}
  - {{id: huyen, name: Đài huyện, url: "http://127.0.0.1:{dead_port}/huyen.mp3"}}
relays:
  - {{id: vov1-sang, source: vov1, zones: [xa, thon-c], days: [mon], start: "05:30", end: "05:31", min_share: 0.5}}
  - {{id: tinh-sang, source: tinh, zones: [thon-a], days: [mon], start: "05:30", end: "05:31", min_share: 0.5}}
  - {{id: huyen-sang, source: huyen, zones: [thon-b], days: [mon], start: "05:30", end: "05:31"}}
"""
    path.write_text(text.replace("requirements:\n", extra + "requirements:\n", 1), "utf-8")


class DaemonClock:
    """The daemon's clock as the test sees it: wall time shifted by the same offset."""

    def __init__(self, offset: str) -> None:
        self.offset = timedelta(seconds=float(offset))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def wait_until(self, instant: datetime) -> None:
        while (left := (instant - self.now()).total_seconds()) > 0:
            time.sleep(min(left, 0.5))


def _pulls_of(port: int) -> list[int]:
    """ffmpeg processes still reading from the test's Icecast into a pipe (relay pulls)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pipe:1" in argv and any(f"127.0.0.1:{port}/".encode() in a for a in argv):
            found.append(int(entry.name))
    return found


def _entries(root: Path) -> dict[str, dict]:
    found = rows(root, "select * from as_run_log where origin='relay' order by seq")
    return {e["zone_id"]: dict(e) for e in found}


def test_relays_fan_out_drop_out_fail_over_and_stop_at_the_window_end(cli: Cli):
    with icecast() as server, upstreams(server.port, "/vov1.mp3", "/backup.mp3") as ups:
        _relay_station(cli, server.port, free_port())
        assert cli("check").code == 0
        began = time.monotonic()
        cli.subprocess("--version", check=True, real=True)
        lead = max(8.0, 3 * (time.monotonic() - began))  # the daemon's start, on this load
        start = WINDOW[0].replace(tzinfo=None) - timedelta(seconds=lead)
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to(start.isoformat())
        clock = DaemonClock(cli.env["BROADCASTER_CLOCK_OFFSET"])
        daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
        try:
            clock.wait_until(WINDOW[0] + timedelta(seconds=6))
            assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
            assert listeners(server.port, "/vov1.mp3") == 1  # xa and thon-c: one pull
            clock.wait_until(WINDOW[0] + timedelta(seconds=10))
            ups["/vov1.mp3"].kill()
            clock.wait_until(WINDOW[0] + timedelta(seconds=20))
            ups["/vov1.mp3"].start()
            clock.wait_until(WINDOW[0] + timedelta(seconds=34))
            r = cli("emergency", "bao-lu", "--zones", "thon-c", "--by", "Trực ban")
            assert r.code == 0, r.err
            clock.wait_until(WINDOW[1] + timedelta(seconds=2))
            deadline = time.monotonic() + 30
            while len(_entries(cli.root)) < 4:
                assert time.monotonic() < deadline, _entries(cli.root)
                time.sleep(0.2)
            assert _pulls_of(server.port) == []  # killed at the window's end
        finally:
            stop(daemon)
    err = daemon.stderr.read() if daemon.stderr else ""
    log = _entries(cli.root)
    assert set(log) == {"xa", "thon-a", "thon-b", "thon-c"}, err
    window_start = WINDOW[0].astimezone(UTC).replace(tzinfo=None)
    window_end = WINDOW[1].astimezone(UTC).replace(tzinfo=None)
    for zone, e in log.items():
        assert e["bulletin_id"].startswith("relay:") and e["triggered_by"] == "daemon:relay"
        assert e["duration_seconds"] == 60 and e["week"] == "2026-W48"
        assert e["clock"].startswith("shifted:")  # a test's entries are never real evidence
        ended = datetime.fromisoformat(e["ended_at"])
        assert ended - window_end < timedelta(seconds=2), (zone, e["ended_at"])  # no overrun
        late = datetime.fromisoformat(e["started_at"]) - window_start
        assert timedelta(0) <= late < timedelta(seconds=1.5), (zone, e["started_at"])

    xa = log["xa"]
    assert xa["outcome"] == "aired" and xa["source"] == "vov1", xa
    downs = [d for d in json.loads(xa["dropouts"]) if d["kind"] == "down"]
    assert len(downs) == 1 and 8 <= downs[0]["seconds"] <= 20, xa["dropouts"]
    assert 30 <= xa["relayed_seconds"] <= 52, xa

    thon_c = log["thon-c"]
    assert thon_c["outcome"] == "aired", thon_c
    cuts = [d for d in json.loads(thon_c["dropouts"]) if d["kind"] == "emergency"]
    assert len(cuts) == 1 and 2 <= cuts[0]["seconds"] <= 15, thon_c["dropouts"]
    assert thon_c["relayed_seconds"] < xa["relayed_seconds"]
    alert = rows(cli.root, "select * from as_run_log where bulletin_id='bao-lu'")
    assert [a["outcome"] for a in alert] == ["aired"]

    thon_a = log["thon-a"]
    assert thon_a["outcome"] == "aired", thon_a
    assert any(d["kind"] == "backup" for d in json.loads(thon_a["dropouts"]))
    assert thon_a["relayed_seconds"] >= 45, thon_a

    thon_b = log["thon-b"]
    assert thon_b["outcome"] == "failed" and thon_b["relayed_seconds"] == 0, thon_b
    assert "source 'huyen' never came up" in thon_b["reason"], thon_b["reason"]
    assert "Connection refused" in thon_b["reason"], thon_b["reason"]

    # What the file output recorded: the window (programme, and silence while down) for
    # each zone, less the emergency on thon-c; its hash is the entry's.
    lengths = {}
    for zone in log:
        records = relay_records(cli.root, zone)
        assert [r["event"] for r in records] == ["relay-started", "relay-ended"], records
        wav = cli.root / "out" / zone / records[0]["file"]
        lengths[zone] = probe_seconds(wav)
        assert records[1]["sha256"] == log[zone]["audio_sha256"]
        assert oct(os.stat(wav).st_mode & 0o777) == "0o444"
    for zone in ("xa", "thon-a", "thon-b"):
        assert 56 <= lengths[zone] <= 60.2, lengths
    assert lengths["thon-c"] == pytest.approx(lengths["xa"] - cuts[0]["seconds"], abs=1.5)
    verify = cli("log", "verify")
    assert verify.code == 0, verify.out + verify.err

    # Reports: relay minutes per zone beside the bulletins' figures, which the relays
    # leave alone (the one bulletin aired is the emergency).
    target = cli.root / "bao-cao.json"
    r = cli(
        *("report", "--include-unreal", "--from", "2026-11-23", "--to", "2026-11-23"),
        *("--format", "json", "--out", str(target)),
    )
    assert r.code == 0, r.err
    figures = json.loads(target.read_text(encoding="utf-8"))
    assert figures["totals"]["aired"] == 1 and figures["totals"]["failed"] == 0
    assert figures["totals"]["relay_windows"] == 4 and figures["totals"]["relays_aired"] == 3
    by_zone = {z["zone_id"]: z["counts"] for z in figures["zones"]}
    for zone, e in log.items():
        assert by_zone[zone]["relay_minutes"] == pytest.approx(e["relayed_seconds"] / 60, abs=0.01)
        assert by_zone[zone]["relay_window_minutes"] == pytest.approx(1.0)
    from openpyxl import load_workbook

    book = cli.root / "bao-cao.xlsx"
    r = cli(
        *("report", "--include-unreal", "--from", "2026-11-23", "--to", "2026-11-23"),
        *("--out", str(book)),
    )
    assert r.code == 0, r.err
    sheet = load_workbook(book)["Cụm loa"]
    headers = [c.value for c in sheet[1]]
    assert headers[-4:-2] == ["Khung giờ tiếp sóng", "Phút tiếp sóng thực tế"]
    assert headers[-2:] == ["Lượt phát trực tiếp", "Phút phát trực tiếp"]
    for row in sheet.iter_rows(min_row=2, values_only=True):
        assert row[-4] == 1 and row[-3] == pytest.approx(by_zone[row[0]]["relay_minutes"], abs=0.06)
        assert row[-2:] == (0, 0)  # no live broadcast
    status = cli("status", "--include-unreal", "--week", "2026-W48")
    assert status.code == 0, status.err
    shown = cli("--lang", "vi", "log", "--zone", "thon-b")
    assert shown.code == 0 and "relay:huyen-sang" in shown.out, shown.out + shown.err
    assert "không lên sóng" in shown.out  # the reason in Vietnamese
    pack = cli(
        *("evidence", "--include-unreal", "--from", "2026-11-23", "--to", "2026-11-23"),
        *("--with-audio", "--out", str(cli.root / "ho-so.zip")),
    )
    assert pack.code == 0, pack.out + pack.err
