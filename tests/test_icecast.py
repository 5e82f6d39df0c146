"""The icecast output against a real Icecast on 127.0.0.1: the daemon keeps the mount
alive with silence, airs a bulletin on it at real-time pace, and returns to silence."""

from __future__ import annotations

import array
import math
import subprocess
import threading
import time
import urllib.request

import pytest
from netkit import ICECAST_SOURCE_PASSWORD, icecast, stop
from stationkit import offset_to, rows

pytestmark = pytest.mark.realtime


def _use_icecast(root, port: int) -> None:
    path = root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "  files: {type: file, dir: out}",
        "  files: {type: file, dir: out}\n"
        f"  stream: {{type: icecast, host: 127.0.0.1, port: {port}, "
        "password_file: secrets/icecast.pass, "
        "mounts: {thon-a: /cum-thon.mp3, thon-b: /cum-thon.mp3}}",
    )
    text = text.replace("kind: cluster, output: files}", "kind: cluster, output: stream}")
    path.write_text(text, encoding="utf-8")
    (root / "secrets").mkdir(exist_ok=True)
    (root / "secrets" / "icecast.pass").write_text(ICECAST_SOURCE_PASSWORD + "\n")


class Recorder(threading.Thread):
    """A listener on the mount, keeping every byte it receives."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.data = bytearray()
        self.halt = threading.Event()
        self.started_at = 0.0

    def run(self) -> None:
        with urllib.request.urlopen(self.url, timeout=10) as resp:
            self.started_at = time.monotonic()
            while not self.halt.is_set():
                chunk = resp.read(2048)
                if not chunk:
                    return
                self.data += chunk


def _levels(mp3: bytes, window: float = 0.25) -> list[float]:
    """RMS per window of the decoded stream (0 = digital silence)."""
    pcm = subprocess.run(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", "pipe:0"),
            *("-f", "s16le", "-ac", "1", "-ar", "8000", "pipe:1"),
        ],
        input=bytes(mp3),
        capture_output=True,
        check=True,
    ).stdout
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    size = int(8000 * window)
    return [
        math.sqrt(sum(s * s for s in samples[i : i + size]) / size)
        for i in range(0, len(samples) - size, size)
    ]


def _mount_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_icecast_mount_carries_silence_then_the_bulletin_then_silence(cli):
    with icecast() as server:
        _use_icecast(cli.root, server.port)
        # Booked at 05:50 by the test's clock, so that a slow CLI start on a loaded machine
        # never books into the past; the daemon's clock is set when it starts, 10 s ahead.
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:50:00")
        for zone in ("thon-a", "thon-b"):
            cli("queue", "nq57-mot", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:59:50")
        daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
        url = f"http://127.0.0.1:{server.port}/cum-thon.mp3"
        recorder = Recorder(url)
        try:
            # The daemon's start (imports, database, ffmpeg's connection) may take long on
            # a loaded 2-core machine: this waits for an event, it does not time it.
            deadline = time.monotonic() + 90
            while not _mount_up(url):
                assert time.monotonic() < deadline, "the mount never came up"
                time.sleep(0.2)
            recorder.start()
            deadline = time.monotonic() + 40
            while {r["status"] for r in rows(cli.root, "select status from airing")} != {"aired"}:
                assert time.monotonic() < deadline, "the airings never finished"
                time.sleep(0.2)
            time.sleep(2)  # silence again after the bulletin
            recorder.halt.set()
            listened = time.monotonic() - recorder.started_at
        finally:
            stop(daemon)
        recorder.join(timeout=10)

    log = rows(cli.root, "select * from as_run_log order by seq")
    assert sorted(e["zone_id"] for e in log) == ["thon-a", "thon-b"]
    assert all(e["outcome"] == "aired" for e in log)
    duration = rows(cli.root, "select duration_seconds from rendition where bulletin_id='nq57-mot'")
    levels = _levels(recorder.data)
    loud = [i for i, level in enumerate(levels) if level > 300]
    assert loud, "the bulletin never reached the mount"
    assert max(levels[: loud[0]] or [0]) < 50, "not silence before the bulletin"
    assert max(levels[loud[-1] + 2 :] or [1e9]) < 50, "not silence after the bulletin"
    # Heard once, for about its length (the two zones share the mount and one playback).
    assert (loud[-1] - loud[0] + 1) * 0.25 <= duration[0]["duration_seconds"] + 1.0
    # Real-time pace, no backlog: what a listener got is about bitrate x time + the burst.
    assert len(recorder.data) < 8000 * listened + 16384 + 16000
