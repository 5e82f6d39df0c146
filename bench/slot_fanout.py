"""Benchmark: N zones sharing one slot. How late does each zone start?

Builds a throwaway station with N hamlet clusters (file outputs), renders one short
bulletin with espeak-ng, approves it, books it on every zone for the same instant a few
seconds ahead, runs the real-time driver (APScheduler + per-zone lanes) in this process
and reports the lateness of each start (actual start minus scheduled): the log's
``started_at`` and, separately, the instant the file output began writing the zone's
copy (its manifest's ``started`` line), which comes after the committed 'playing' mark.

The anchor, run first in the same process: bare APScheduler (a BackgroundScheduler with
its default executor) firing N trivial date jobs due at one instant, each noting how late
it ran. ``--runs R`` repeats the pair R times and prints the medians.

    .venv/bin/python bench/slot_fanout.py --zones 1000 --runs 3
    .venv/bin/python bench/slot_fanout.py --smoke     # 5 zones: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import select

from broadcaster.app import approvals, bulletins, schedule
from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, Origin, Priority
from broadcaster.core.timeutil import as_utc
from broadcaster.engine.clock import SystemClock
from broadcaster.engine.planning import new_row
from broadcaster.engine.realtime import RealtimeDriver
from broadcaster.store.tables import LogEntry


def build(root: Path, zones: int) -> None:
    (root / "schedules").mkdir(parents=True)
    (root / "scripts").mkdir()
    lines = [
        "station: {id: bench, name: Bench, tts: [espeak]}",
        "outputs: {files: {type: file, dir: out}}",
        "zones:",
        *(f"  - {{id: z{i:04d}, name: Cụm {i}, output: files}}" for i in range(zones)),
    ]
    (root / "schedules" / "station.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "scripts" / "tin.md").write_text(
        "---\nid: tin\ntitle: Bản tin\ncampaign: nq57\n---\nBản tin ngắn.\n", encoding="utf-8"
    )


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)]


def anchor(jobs: int, lead: float = 2.0) -> list[float]:
    """Bare APScheduler: ``jobs`` trivial date jobs due at one instant; their lateness (ms)."""
    late: list[float] = []
    lock = threading.Lock()
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)

    def job() -> None:
        ms = (datetime.now(UTC) - at).total_seconds() * 1000
        with lock:
            late.append(ms)

    scheduler = BackgroundScheduler(timezone=UTC)
    for i in range(jobs):
        scheduler.add_job(job, "date", run_date=at, id=f"j{i}", misfire_grace_time=None)
    scheduler.start()
    deadline = time.monotonic() + lead + 60
    while len(late) < jobs and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.shutdown(wait=True)
    return sorted(late)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", type=int, default=1000)
    parser.add_argument("--lead", type=float, default=5.0, help="seconds until the slot")
    parser.add_argument("--runs", type=int, default=1, help="pairs (anchor, station) to run")
    parser.add_argument("--smoke", action="store_true", help="5 zones; exit 1 unless all air")
    args = parser.parse_args()
    if args.smoke:
        args.zones, args.lead, args.runs = 5, 3.0, 1
    figures: list[tuple[float, ...]] = []
    for _run in range(args.runs):
        bare = anchor(args.zones)
        print(
            f"anchor: bare APScheduler, {len(bare)} jobs, lateness ms: "
            f"median={statistics.median(bare):.0f} p99={p99(bare):.0f} max={bare[-1]:.0f}"
        )
        log_p50, log_p99, out_p50, out_p99 = one_slot(args)
        figures.append((statistics.median(bare), p99(bare), log_p50, log_p99, out_p50, out_p99))
    if args.runs > 1:
        cols = list(zip(*figures, strict=True))
        med = [statistics.median(c) for c in cols]
        print(
            f"medians of {args.runs} runs, ms: anchor {med[0]:.0f}/{med[1]:.0f}, "
            f"log start {med[2]:.0f}/{med[3]:.0f}, output start {med[4]:.0f}/{med[5]:.0f} "
            "(median/p99)"
        )


def one_slot(args: argparse.Namespace) -> tuple[float, float, float, float]:
    """One slot on every zone; the median and p99 lateness (ms) of the log's start and of
    the output's own start."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.zones)
        ctx = StationContext.open(root, clock=SystemClock())
        [rendered] = bulletins.render(ctx)
        approvals.approve_as(ctx, "tin", "bench")
        bulletin = ctx.bulletin("tin")
        at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=args.lead)
        with ctx.db.write() as s:
            for zone in ctx.station.zone_ids:
                airing = Airing(
                    None,
                    zone,
                    "tin",
                    at,
                    at + timedelta(minutes=10),
                    None,
                    Priority.NORMAL,
                    Origin.QUEUE,
                    created_by="bench",
                    duration_seconds=rendered.duration_seconds,
                )
                s.add(new_row(airing, bulletin, ctx.station, at))
        engine = schedule.engine_for(ctx, ctx.outputs(ctx.clock))
        driver = RealtimeDriver(engine, ctx.clock)
        driver.start()
        deadline = time.monotonic() + args.lead + rendered.duration_seconds + 120
        while time.monotonic() < deadline:
            with ctx.db.read() as s:
                done = s.exec(LogEntry.__table__.select()).all()  # type: ignore[attr-defined]
            if len(done) >= args.zones:
                break
            time.sleep(0.5)
        driver.stop()
        with ctx.db.read() as s:
            entries = s.exec(select(LogEntry)).all()
        late = sorted(
            (as_utc(e.started_at) - at).total_seconds() * 1000 for e in entries if e.started_at
        )
        out_late = sorted(
            (datetime.fromisoformat(r["at"]) - at).total_seconds() * 1000
            for manifest in (root / "out").glob("*/manifest.jsonl")
            for r in map(json.loads, manifest.read_text(encoding="utf-8").splitlines())
            if r["event"] == "started"
        )
        aired = sum(e.outcome == "aired" for e in entries)
        print(
            f"zones={args.zones} aired={aired} audio={rendered.duration_seconds:.1f}s "
            f"start lateness ms: median={statistics.median(late):.0f} p99={p99(late):.0f} "
            f"max={late[-1]:.0f}; output start: median={statistics.median(out_late):.0f} "
            f"p99={p99(out_late):.0f} max={out_late[-1]:.0f}"
        )
        ctx.close()
        if args.smoke and (aired != args.zones or len(out_late) != args.zones):
            raise SystemExit(f"only {aired} of {args.zones} zones aired")
        return (
            statistics.median(late),
            p99(late),
            statistics.median(out_late),
            p99(out_late),
        )


if __name__ == "__main__":
    main()
