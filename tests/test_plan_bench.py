"""The planning bench in its smoke size, so it cannot rot unnoticed (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_plan_bench_smoke_runs_and_prints_its_figures(tmp_path: Path):
    """``bench/plan_bench.py --smoke`` builds a 20-zone station, renders and approves its
    bulletins, times the planner, ``plan --week`` and ``status``, and prints one row."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "plan_bench.py"), "--smoke", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("fill: minimum")
    zones, *cells = lines[-1].split()
    assert zones == "20" and len(cells) == 3
    figures = [tuple(float(x) for x in cell.split("/")) for cell in cells]
    assert all(wall >= 0 and cpu >= 0 for wall, cpu in figures)  # 20 zones: the planner ~0
    assert all(wall > 0 and cpu > 0 for wall, cpu in figures[1:])  # plan --week, status
    # The whole command really planned the week: the station's database has its airings.
    import sqlite3

    db = tmp_path / "zones-20-minimum" / "station.db"
    with sqlite3.connect(db) as conn:
        zones_planned = conn.execute("select count(distinct zone_id) from airing").fetchone()[0]
    assert zones_planned == 20
