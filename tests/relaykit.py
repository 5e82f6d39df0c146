"""Test kit for relays (issue 16): a test "VOV" made by ffmpeg (a sine tone) carried by
a local Icecast, which the test can kill and bring back, and readers of what a relay
recorded (the file output's WAV files, measured by ffprobe)."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from netkit import ICECAST_SOURCE_PASSWORD, stop


class Upstream:
    """One mount fed by ffmpeg at real-time pace: ``start`` / ``kill`` / ``start`` again."""

    def __init__(self, port: int, mount: str, frequency: int = 440) -> None:
        self.port = port
        self.mount = mount
        self.frequency = frequency
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.mount}"

    def start(self, timeout: float = 30) -> None:
        argv = [
            *("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re"),
            *("-f", "lavfi", "-i", f"sine=frequency={self.frequency}:sample_rate=22050"),
            *("-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3"),
            f"icecast://source:{ICECAST_SOURCE_PASSWORD}@127.0.0.1:{self.port}{self.mount}",
        ]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while not mount_up(self.url):
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            assert time.monotonic() < deadline, f"{self.mount} never came up"
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


@contextlib.contextmanager
def upstreams(port: int, *mounts: str) -> Iterator[dict[str, Upstream]]:
    """Upstreams on the mounts, started; all stopped at the end, whatever happened."""
    found = {m: Upstream(port, m, 440 + 110 * i) for i, m in enumerate(mounts)}
    try:
        for upstream in found.values():
            upstream.start()
        yield found
    finally:
        for upstream in found.values():
            upstream.kill()


def mount_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def listeners(port: int, mount: str) -> int:
    """How many clients Icecast counts on the mount (its admin interface)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/listclients?mount={mount}")
    token = base64.b64encode(f"admin:{ICECAST_SOURCE_PASSWORD}-admin".encode()).decode()
    req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = resp.read().decode("utf-8", "replace")
    found = re.search(r"<Listeners>(\d+)</Listeners>", body)
    return int(found.group(1)) if found else 0


def probe_seconds(path: Path) -> float:
    """The duration ffprobe reads from a recorded file."""
    out = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-show_entries", "format=duration"),
            *("-of", "default=noprint_wrappers=1:nokey=1", str(path)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip())


def relay_records(root: Path, zone: str, out: str = "out") -> list[dict]:
    manifest = root / out / zone / "manifest.jsonl"
    if not manifest.exists():
        return []
    lines = manifest.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["event"].startswith("relay-")]
