"""The web station for browser tests: `broadcaster web` started on 127.0.0.1 (a free
port) on a station folder and stopped with its process group at the end, and Debian's
chromium launched headless the way this machine allows (no sandbox as root, no
background connections to a closed network)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stationkit import BIN

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_web(station: Path, *args: str) -> Iterator[str]:
    """``broadcaster web --port P [args]`` on ``station`` until the block ends: its base
    URL. The pages are in Vietnamese (no LANGUAGE from the test's environment)."""
    port = free_port()
    env = {**os.environ, "BROADCASTER_STATION": str(station), "LANGUAGE": "", "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        [str(BIN), "web", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out, err = proc.communicate(timeout=5)
                    pytest.fail(f"broadcaster web did not start: {out}\n{err}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def launch_chromium(playwright, *extra: str):
    """Chromium as above, with ``extra`` switches (a test's fake microphone)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra], headless=True
    )
