"""Benchmark of the web station's pages: latency of Tổng quan (the dashboard), its live
fragment and Lịch phát (the week's calendar), under a small concurrent load.

    .venv/bin/python bench/web_bench.py [--zones sample,1000] [--requests 200] [--load 4]
                                        [--interval 0.25] [--dir /tmp/web-bench] [--smoke]

For each station (``sample``: the repository's commune, rendered, approved and planned;
a number: a throwaway station of that many zones built as ``bench/plan_bench.py`` builds
its own, planned with ``--fill minimum``), this starts ``broadcaster web`` on 127.0.0.1
(a free port), signs in an account holding every role, then:

* a **second process** (this file with ``--hammer``) keeps ``--load`` threads requesting
  the dashboard's fragment, each with its own session and ``--interval`` seconds between
  its requests (by default 4 x 0.25 s: what 80 open dashboards polling every 5 s ask;
  ``--interval 0`` for back-to-back requests), as other open browsers would;
* this process requests each page ``--requests`` times, one after another, on one
  keep-alive connection, and times each answer from the request to the last byte.

Figures are p50 and p95 in milliseconds per page, with the number of answers the load
got in the same time. Issue 14's targets: p95 under 150 ms on the sample station and
under 500 ms at 1,000 zones. ``--smoke`` runs a 20-zone station with few requests, for
the test suite. The clock is fixed (BROADCASTER_NOW) inside the planned week.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import plan_bench  # noqa: E402 - the station builder this bench shares

from broadcaster.web.app import SESSION_COOKIE  # noqa: E402

BIN = Path(sys.executable).with_name("broadcaster")
NOW = "2026-11-25T09:00:00+07:00"  # Wednesday of the planned week
WEEK = "2026-W48"
USER = "bench"
PASSWORD = "mat-khau-do-tai-1"
PAGES = {"dashboard": "/", "fragment": "/tong-quan/truc-tiep", "calendar": "/lich-phat"}
ALL_ROLES = "soan-tin,duyet,van-hanh,bao-cao,quan-tri"


def env_for(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BROADCASTER_STATION": str(root),
        "BROADCASTER_NOW": NOW,
        "LANGUAGE": "vi",
    }


def cli(root: Path, *args: str) -> None:
    proc = subprocess.run(
        [str(BIN), *args],
        env=env_for(root),
        cwd=root,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise SystemExit(f"broadcaster {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")


def sample_station(base: Path) -> Path:
    """The repository's sample commune, rendered, approved and planned (kept between
    runs: rendering takes a while)."""
    root = base / "sample"
    if (root / "planned.ok").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for part in ("schedules", "scripts", "audio"):
        shutil.copytree(
            REPO / part, root / part, ignore=shutil.ignore_patterns("rendered", "*.json")
        )
    cli(root, "render", "--offline")
    for script in sorted((root / "scripts").glob("*.md")):
        cli(root, "approve", script.stem, "--by", "Chủ tịch UBND xã")
    cli(root, "plan", "--week", WEEK)
    (root / "planned.ok").write_text("")
    return root


def zones_station(base: Path, zones: int) -> Path:
    template = plan_bench.make_template(base)
    root = plan_bench.make_station(base, template, zones, "minimum")
    cli(root, "plan", "--week", WEEK)
    return root


def add_user(root: Path) -> None:
    secret = root / "bench-password.txt"
    secret.write_text(PASSWORD + "\n")
    proc = subprocess.run(
        [str(BIN), "users", "add", USER, "--role", ALL_ROLES, "--password-file", str(secret)],
        env=env_for(root),
        cwd=root,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0 and "exists" not in proc.stderr and "đã có" not in proc.stderr:
        raise SystemExit(f"users add failed:\n{proc.stderr}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "web", "--port", str(port)],
        env=env_for(root),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_server(proc)
                raise SystemExit("broadcaster web did not start") from None
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


def sign_in(port: int) -> str:
    """A session cookie header for the bench's account, through the sign-in form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    form = opener.open(f"{base}/dang-nhap").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    if csrf is None:
        raise SystemExit("the sign-in form has no csrf field")
    data = urllib.parse.urlencode(
        {"name": USER, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"}
    ).encode()
    opener.open(f"{base}/dang-nhap", data=data).read()
    session = [c for c in jar if c.name == SESSION_COOKIE]
    if not session:
        raise SystemExit("signing in gave no session cookie")
    return f"{SESSION_COOKIE}={session[0].value}"


def timed_gets(port: int, cookie: str, path: str, count: int) -> tuple[list[float], int]:
    """``count`` GETs of ``path`` on one keep-alive connection: milliseconds each, and
    the status of the last."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    took: list[float] = []
    status = 0
    try:
        for _n in range(count):
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            resp = conn.getresponse()
            resp.read()
            took.append((time.perf_counter() - t0) * 1000)
            status = resp.status
    finally:
        conn.close()
    return took, status


def hammer(port: int, threads: int, interval: float) -> int:
    """The second process: ``threads`` clients polling the dashboard's fragment, each
    waiting ``interval`` seconds between its answers (0: back to back), until SIGINT; the
    number of answers they got."""
    cookies = [sign_in(port) for _t in range(threads)]
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_args: stop.set())
    answers = [0] * threads

    def poll(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while not stop.is_set():
                conn.request("GET", PAGES["fragment"], headers={"Cookie": cookies[n]})
                conn.getresponse().read()
                answers[n] += 1
                stop.wait(interval)
        finally:
            conn.close()

    workers = [threading.Thread(target=poll, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    print("ready", flush=True)
    stop.wait()
    for w in workers:
        w.join()
    return sum(answers)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_station(name: str, root: Path, requests: int, load: int, interval: float) -> list[str]:
    add_user(root)
    proc, port = start_server(root)
    lines = []
    try:
        cookie = sign_in(port)
        timed_gets(port, cookie, "/", 3)  # warm: templates compiled, caches filled
        for page, path in PAGES.items():
            loader = subprocess.Popen(
                [
                    *(sys.executable, __file__, "--hammer", str(port)),
                    *("--load", str(load), "--interval", str(interval)),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            if loader.stdout is None or loader.stdout.readline().strip() != "ready":
                raise SystemExit("the load's process did not start")
            took, status = timed_gets(port, cookie, path, requests)
            loader.send_signal(signal.SIGINT)
            answered = loader.communicate(timeout=120)[0].strip()
            if status == 404:
                lines.append(f"| {name} | {page} `{path}` | absent (404) | | | |")
                continue
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
            lines.append(
                f"| {name} | {page} `{path}` | {statistics.median(took):.1f} | "
                f"{percentile(took, 0.95):.1f} | {max(took):.1f} | {answered} |"
            )
    finally:
        stop_server(proc)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", default="sample,1000", help="sample and/or zone counts")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--load", type=int, default=4, help="threads of the second process")
    parser.add_argument(
        "--interval",
        type=float,
        default=0.25,
        help="seconds each load thread waits between answers (0.25 s x 4 threads: the "
        "polling of 80 open dashboards, one request each 5 s)",
    )
    parser.add_argument("--dir", type=Path, default=Path("/tmp/web-bench"))
    parser.add_argument("--smoke", action="store_true", help="20 zones, few requests")
    parser.add_argument("--hammer", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hammer:
        print(hammer(args.hammer, args.load, args.interval))
        return 0
    if args.smoke:
        args.zones, args.requests, args.load = "20", 5, 1
        args.dir = Path(os.environ.get("TMPDIR", "/tmp")) / "web-bench-smoke"
    args.dir.mkdir(parents=True, exist_ok=True)
    print("| station | page | p50 ms | p95 ms | max ms | load's answers meanwhile |")
    print("|---|---|---|---|---|---|")
    for size in args.zones.split(","):
        root = sample_station(args.dir) if size == "sample" else zones_station(args.dir, int(size))
        for line in bench_station(size, root, args.requests, args.load, args.interval):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
