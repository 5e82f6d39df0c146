"""Benchmark (issue 10, "Done means"): kill -9 of the real daemon at and just after slot
instants. Every start on an output must have exactly one log entry, and no airing may fail
on a name clash.

Builds the test suite's small station (3 zones, file outputs) in a temporary folder,
renders and approves it with espeak-ng, books one airing per zone at each of N slots a
few seconds apart in the 06:00 session, and for each slot starts ``broadcaster run`` with
its clock a few seconds before the slot and SIGKILLs it at a delay after the slot's
instant, cycling through the delays below (0 to 500 ms). A last daemon finishes the
session; the log is then checked against the manifests of what reached the outputs.

    .venv/bin/python bench/kill_at_slots.py --kills 50
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from killkit import kill_at_slots  # noqa: E402
from stationkit import SCRIPTS, Cli, write_station  # noqa: E402

DELAYS = [0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument(
        "--spacing", type=float, default=12.0, help="seconds between slots (50 x 12 s: 10 min)"
    )
    parser.add_argument("--smoke", action="store_true", help="two kills")
    args = parser.parse_args()
    if args.smoke:
        args.kills = 2
    with tempfile.TemporaryDirectory() as tmp:
        root = write_station(Path(tmp) / "station")
        cli = Cli(root)
        cli("render", check=True)
        for bid in SCRIPTS:
            cli("approve", bid, "--by", "bench", check=True)
        delays = [DELAYS[i % len(DELAYS)] for i in range(args.kills)]
        began = time.monotonic()
        run = kill_at_slots(cli, delays, spacing=min(args.spacing, 600 / max(args.kills, 1)))
        took = time.monotonic() - began
    print(f"kills: {run.kills} (delays after the slot: {sorted(set(delays))} s)")
    print(f"kills that left an airing playing: {run.in_the_act}")
    print(f"daemons not ready by their slot: {run.late_starts}")
    print(f"starts on the outputs: {run.starts}")
    print(f"log outcomes: {dict(run.outcomes)}")
    print(f"problems: {len(run.problems)}")
    for problem in run.problems:
        print(f"  {problem}")
    print(f"took {took:.0f} s")
    sys.exit(1 if run.problems else 0)


if __name__ == "__main__":
    main()
