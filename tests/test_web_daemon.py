"""`broadcaster web --with-daemon`: the web station hosts the daemon in its own process.

The real executable on 127.0.0.1 (a free port), the clock shifted so that 06:00 on
Monday is seconds away: a queued bulletin airs, the dashboard (fetched over HTTP after
signing in) counts the log entry, a second daemon is refused while it runs, and SIGTERM
stops both with the lock released."""

from __future__ import annotations

import http.cookiejar
import re
import signal
import socket
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

import pytest
from stationkit import offset_to, rows

pytestmark = pytest.mark.realtime

PASSWORD = "mat-khau-dai-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 40.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_web_with_daemon_airs_what_is_queued_and_stops_on_sigterm(cli, tmp_path):
    password_file = tmp_path / "pw.txt"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    cli(
        "users",
        "add",
        "hung",
        "--role",
        "van-hanh",
        "--password-file",
        str(password_file),
        check=True,
    )
    cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:50:00")
    cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:00", check=True)
    began = time.monotonic()
    cli.subprocess("--version", check=True, real=True)
    lead = max(6.0, 3 * (time.monotonic() - began))
    cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to(
        (datetime.fromisoformat("2026-11-23T06:00:00") - timedelta(seconds=lead)).isoformat()
    )
    port = free_port()
    proc = cli.popen("web", "--with-daemon", "--port", str(port))
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.communicate()
        second = cli("run", "--no-autoplan")  # one daemon per database
        assert second.code != 0
        aired = wait_for(
            lambda: [r for r in rows(cli.root, "select status from airing") if r[0] == "aired"],
            timeout=lead + 40,
        )
        assert aired
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        form = opener.open(f"{base}/dang-nhap").read().decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode(
            {"name": "hung", "password": PASSWORD, "csrf": csrf, "next": "/"}
        ).encode()
        page = opener.open(f"{base}/dang-nhap", data=data).read().decode()
        assert "Tổng quan" in page
        fragment = opener.open(f"{base}/tong-quan/truc-tiep").read().decode()
        entries = int(re.search(r"(\d+) mục; kiểm tra toàn bộ lúc", fragment).group(1))
        assert "chuỗi nguyên vẹn" in fragment
        assert entries >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=30)
        except Exception:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, err
    assert "on air: " in err and "stopping: cutting what plays" in err, err  # LANGUAGE=en
    assert not listening(port)
    assert cli("run", "--no-autoplan", "--help").code == 0
