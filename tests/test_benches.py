"""Every bench under bench/ runs in its small ``--smoke`` size, so none can break
unnoticed (issue 15: ``report_bench.py`` failed on main for weeks). The figures are not
checked here (a shared test machine says nothing about speed); that each bench still
runs end to end on the current code is.

``plan_bench.py``, ``hostile_soak.py`` and ``kill_at_slots.py`` have their own (see
OWN_TEST)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Benches whose smoke size another test runs: the planning bench (tests/test_plan_bench.py),
# the hostile soak (tests/test_soak.py runs ``--smoke``) and the kills at slot instants
# (tests/test_daemon.py runs the same ``killkit.kill_at_slots`` at four instants).
OWN_TEST = {"plan_bench.py", "hostile_soak.py", "kill_at_slots.py"}
BENCHES = sorted(p.name for p in (REPO / "bench").glob("*.py") if p.name not in OWN_TEST)


def test_every_bench_is_covered():
    """A new bench is picked up by the glob; this says the list is not empty by mistake."""
    assert {"render_bench.py", "render_anchor.py", "report_bench.py"} <= set(BENCHES)


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_runs_in_its_smoke_size(bench: str, tmp_path: Path):
    if bench == "intelligibility.py":
        pytest.importorskip("vietasr", reason="the dev extra's viet-asr is not installed")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / bench), "--smoke"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=900,  # a guard against a hang only: the smoke sizes take seconds
    )
    assert proc.returncode == 0, f"{bench} --smoke failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
