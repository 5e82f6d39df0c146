"""Benchmark of weekly planning: ``plan --week`` and ``status`` at 100 / 1,000 / 5,000 zones.

    .venv/bin/python bench/plan_bench.py [--zones 100,1000,5000] [--runs 3] [--fill minimum]
                                         [--dir /tmp/plan-bench] [--smoke]

Builds throwaway stations (one commune station and N-1 clusters; the station has a morning
and an evening session on weekdays, the clusters two sessions every day, one weekly
requirement, four 'all' bulletins of which one is priority). The four scripts are rendered
with espeak-ng and approved once, through the real ``broadcaster`` commands; every size
reuses that database. Then, ``--runs`` times per size:

* **planner alone**: ``core.planner.plan_week`` in this process on the loaded station;
* **plan --week**: the whole command (a fresh copy of the approved database each run);
* **status**: the whole command on the planned week.

Figures are medians of wall time. ``--fill`` sets the station's fill (``minimum``: the
guaranteed airings only, the load issue 15 measured; ``rotate``: every session filled;
``unset``: no ``fill`` key, for code that predates it). ``--smoke`` runs one small size
once, for the test suite. The environment's PYTHONPATH is passed on, so the same bench
can time another checkout of the code (``PYTHONPATH=/tmp/old``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEEK = "2026-W48"
NOW = "2026-11-22T12:00:00+07:00"  # the Sunday before the week planned
RUNNER = "import sys; from broadcaster.cli.app import main; sys.argv[0] = 'broadcaster'; main()"

SCRIPTS = {
    "nq57-mot": ("normal", "Nghị quyết 57 về khoa học và công nghệ."),
    "nq57-hai": ("normal", "Bà con hãy cài đặt ứng dụng định danh điện tử."),
    "nq57-ba": ("normal", "Thanh toán không dùng tiền mặt an toàn."),
    "lua-dao": ("priority", "Cảnh giác với cuộc gọi lừa đảo."),
}


def station_yaml(zones: int, fill: str) -> str:
    lines = [
        "station:",
        "  id: plan-bench",
        "  name: Đài truyền thanh huyện Thử Nghiệm",
        "  timezone: Asia/Ho_Chi_Minh",
        "  tts: [espeak]",
        *([f"  fill: {fill}"] if fill != "unset" else []),
        "outputs:",
        "  files: {type: file, dir: out}",
        "zones:",
        "  - {id: xa, name: Đài xã, kind: station, output: files}",
    ]
    lines += [
        f"  - {{id: cum-{i:04d}, name: Cụm loa số {i}, kind: cluster, output: files}}"
        for i in range(1, zones)
    ]
    lines += [
        "sessions:",
        "  - {id: sang-xa, zones: stations, days: [mon, tue, wed, thu, fri], start: '06:00',"
        " max_minutes: 15}",
        "  - {id: chieu-xa, zones: stations, days: [mon, tue, wed, thu, fri], start: '17:00',"
        " max_minutes: 15}",
        "  - {id: sang-thon, zones: clusters, days: [mon, tue, wed, thu, fri, sat, sun],"
        " start: '06:15', max_minutes: 10}",
        "  - {id: chieu-thon, zones: clusters, days: [mon, tue, wed, thu, fri, sat, sun],"
        " start: '17:30', max_minutes: 10}",
        "requirements:",
        "  - {id: nq57-tuan, title: Nghị quyết 57 hằng tuần, campaign: nq57, min: 1,"
        " per: week, zones: all}",
    ]
    return "\n".join(lines) + "\n"


def script_text(bid: str, priority: str, body: str) -> str:
    return (
        f"---\nid: {bid}\ntitle: Bản tin {bid}\ncampaign: nq57\npriority: {priority}\n"
        f"valid_from: 2026-01-01\nvalid_until: 2027-12-31\nzones: all\nlanguage: vi\n---\n"
        f"{body}\n"
    )


def command(root: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU time (user + system) of one ``broadcaster`` command against ``root``
    (output discarded). CPU time says more than wall time on a machine others share."""
    env = {
        **os.environ,
        "BROADCASTER_STATION": str(root),
        "BROADCASTER_NOW": NOW,
    }
    env.pop("BROADCASTER_DB", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"broadcaster {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def make_template(base: Path) -> Path:
    """One small station, rendered and approved: its database serves every size."""
    root = base / "template"
    if (root / "station.db").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "schedules").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "schedules" / "station.yaml").write_text(station_yaml(1, "unset"), "utf-8")
    for bid, (priority, body) in SCRIPTS.items():
        (root / "scripts" / f"{bid}.md").write_text(script_text(bid, priority, body), "utf-8")
    command(root, "render")
    for bid in SCRIPTS:
        command(root, "approve", bid, "--by", "Chủ tịch UBND xã")
    return root


def make_station(base: Path, template: Path, zones: int, fill: str) -> Path:
    root = base / f"zones-{zones}-{fill}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(template, root, ignore=shutil.ignore_patterns("*.lock", "out"))
    (root / "schedules" / "station.yaml").write_text(station_yaml(zones, fill), "utf-8")
    shutil.copy(root / "station.db", root / "approved.db")
    return root


def planner_alone(root: Path) -> tuple[float, float]:
    """Wall and CPU time of the pure planner on the station, bulletins of 60 s each."""
    from broadcaster.app.context import load_config
    from broadcaster.config.scripts_loader import load_scripts
    from broadcaster.core.planner import Playable, plan_week

    station = load_config(root)
    bulletins, _problems = load_scripts(root, station)
    playables = [Playable(b, 60.0) for b in bulletins]
    not_before = datetime.fromisoformat(NOW)
    t0, c0 = time.perf_counter(), time.process_time()
    plan_week(station, 2026, 48, playables, [], not_before)
    return time.perf_counter() - t0, time.process_time() - c0


def bench_size(base: Path, template: Path, zones: int, fill: str, runs: int) -> dict[str, tuple]:
    """Medians of (wall, CPU) seconds per measured thing."""
    root = make_station(base, template, zones, fill)
    found: dict[str, list[tuple[float, float]]] = {"planner": [], "plan": [], "status": []}
    for _run in range(runs):
        found["planner"].append(planner_alone(root))
        shutil.copy(root / "approved.db", root / "station.db")
        found["plan"].append(command(root, "plan", "--week", WEEK, "--json"))
        found["status"].append(command(root, "status", "--week", WEEK, "--json"))
    return {
        name: (statistics.median(w for w, _c in pairs), statistics.median(c for _w, c in pairs))
        for name, pairs in found.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", default="100,1000,5000", help="comma-separated sizes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fill", choices=("minimum", "rotate", "unset"), default="minimum")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/plan-bench"))
    parser.add_argument("--smoke", action="store_true", help="one run at 20 zones")
    args = parser.parse_args(argv)
    sizes = [20] if args.smoke else [int(z) for z in args.zones.split(",")]
    runs = 1 if args.smoke else args.runs
    args.dir.mkdir(parents=True, exist_ok=True)
    template = make_template(args.dir)
    print(f"fill: {args.fill}; medians of {runs} run(s); seconds, wall / CPU")
    print(f"{'zones':>6}  {'planner':>13}  {'plan --week':>13}  {'status':>13}")
    for zones in sizes:
        f = bench_size(args.dir, template, zones, args.fill, runs)
        cells = [f"{f[k][0]:.2f}/{f[k][1]:.2f}".rjust(13) for k in ("planner", "plan", "status")]
        print(f"{zones:>6}  " + "  ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
