"""Start-up of the ``broadcaster`` executable: ``--help``, ``status`` and ``check`` on the
sample station, against ``python -c pass`` in the same run (issue 15).

    .venv/bin/python bench/startup.py [--runs 7]
    .venv/bin/python bench/startup.py --smoke    # one run each: the test suite's check

The sample station (this repository's ``schedules/``, ``scripts/`` and ``audio/``) is
copied into a temporary directory; one warm-up round creates its database and Python's
byte-code caches. Then each round runs every command once, in turn, so a drift of the
shared machine's speed reaches all of them alike. Per command: the median wall time,
CPU time (user + system, ``os.wait4``) and peak resident memory (``ru_maxrss``), and
the median per-round ratio of wall time to the anchor's.

Python's byte-code caches are on, as in any installed copy, written to a temporary
``PYTHONPYCACHEPREFIX`` (even when ``PYTHONDONTWRITEBYTECODE`` is set, as on the
project's test machines); ``--no-cache`` writes none, so every run compiles the sources
that have no cache of their own (an editable install's, like this checkout's). To time
other code, put it first on ``PYTHONPATH`` (the children inherit it).

A second anchor, "libraries", imports what any command that opens the station and its
database cannot do without (Typer, pydantic, SQLModel and SQLAlchemy's ORM, PyYAML, rich):
``status`` and ``check`` minus that anchor is broadcaster's own start-up plus the
command's work. Targets (issue 15): ``--help`` under 0.2 s; ``status`` and ``check``
under 0.3 s each plus the command's own work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "broadcaster"
LIBRARIES = "import typer, pydantic, sqlmodel, sqlalchemy.orm, yaml, rich.console, rich.table"


def sample_station(base: Path) -> Path:
    """A copy of the sample station, so that its database is not the repository's."""
    root = base / "station"
    for part in ("schedules", "scripts", "audio"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("rendered"))
    return root


def commands(root: Path) -> dict[str, list[str]]:
    station = ["--station", str(root)]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "libraries": [sys.executable, "-c", LIBRARIES],
        "--help": [str(BIN), "--help"],
        "status": [str(BIN), *station, "status"],
        "check": [str(BIN), *station, "check"],
    }


def child_env(base: Path, cache: bool) -> dict[str, str]:
    env = dict(os.environ)
    if cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    else:  # the caches that exist are read (installed libraries have theirs), none written
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak MB of one run; a failed run stops the bench."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            said = err.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{said}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="counted rounds (default 7)")
    parser.add_argument("--smoke", action="store_true", help="one counted round")
    parser.add_argument(
        "--no-cache", action="store_true", help="no byte-code caches: every run compiles"
    )
    args = parser.parse_args()
    runs = 1 if args.smoke else max(1, args.runs)
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        base = Path(tmp)
        root = sample_station(base)
        todo = commands(root)
        env = child_env(base, cache=not args.no_cache)
        for argv in todo.values():  # warm-up: the database, the byte-code caches
            run_once(argv, base, env)
        found: dict[str, list[tuple[float, float, float]]] = {name: [] for name in todo}
        for _round in range(runs):
            for name, argv in todo.items():
                found[name].append(run_once(argv, base, env))
    anchor = found["python -c pass"]
    cache = "without" if args.no_cache else "with"
    print(f"{runs} round(s), {cache} byte-code caches; medians; x anchor = wall / the wall of")
    print("python -c pass in the same round")
    print(f"{'command':16} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'x anchor':>9}")
    for name, rows in found.items():
        ratio = statistics.median(w / a[0] for (w, _c, _m), a in zip(rows, anchor, strict=True))
        print(
            f"{name:16} {statistics.median(r[0] for r in rows):8.3f} "
            f"{statistics.median(r[1] for r in rows):8.3f} "
            f"{statistics.median(r[2] for r in rows):8.1f} {ratio:9.1f}"
        )
    libraries = statistics.median(r[0] for r in found["libraries"])
    for name in ("status", "check"):
        own = statistics.median(r[0] for r in found[name]) - libraries
        print(f"{name} minus the libraries anchor: {own:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
