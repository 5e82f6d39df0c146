"""Benchmark: N zones sharing one slot. How late does each zone start?

Builds a throwaway station with N hamlet clusters (file outputs), renders one short
bulletin with espeak-ng, approves it, books it on every zone for the same instant a few
seconds ahead, runs the real-time driver (APScheduler + per-zone lanes) in this process
and reports the lateness of each start (actual start minus scheduled), from the log.

    .venv/bin/python bench/slot_fanout.py --zones 1000
    .venv/bin/python bench/slot_fanout.py --smoke     # 5 zones: the test suite's check
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zones", type=int, default=1000)
    parser.add_argument("--lead", type=float, default=5.0, help="seconds until the slot")
    parser.add_argument("--smoke", action="store_true", help="5 zones; exit 1 unless all air")
    args = parser.parse_args()
    if args.smoke:
        args.zones, args.lead = 5, 3.0
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
        aired = sum(e.outcome == "aired" for e in entries)
        p99 = late[max(0, int(len(late) * 0.99) - 1)]
        print(
            f"zones={args.zones} aired={aired} audio={rendered.duration_seconds:.1f}s "
            f"start lateness ms: median={statistics.median(late):.0f} p99={p99:.0f} "
            f"max={late[-1]:.0f}"
        )
        ctx.close()
        if args.smoke and aired != args.zones:
            raise SystemExit(f"only {aired} of {args.zones} zones aired")


if __name__ == "__main__":
    main()
