"""Benchmark of ``broadcaster report``: a year of log for 1,000 zones, every format.

    .venv/bin/python bench/report_bench.py [--zones 1000] [--runs 3] [--dir /tmp/report-bench]
    .venv/bin/python bench/report_bench.py --smoke    # 5 zones: the test suite's check

Builds a throwaway station (1 commune station + 999 clusters, two daily sessions, one
weekly requirement) and fills its database directly with a year of outcomes: three
airings per zone per day, about 1.1 million ``airing`` rows and as many ``as_run_log``
entries with a real hash chain (``log verify`` passes), including failures, misses,
interruptions, cancellations, week-long outages and two emergencies on every zone. Rows
go in with ``executemany`` on plain sqlite3; the engine is not run (that is not what is
measured). The database is kept in --dir and reused by later runs.

Then each format is produced by the real ``broadcaster report`` executable, ``--runs``
times; the figures are the median wall time and the peak resident memory of the child
process (``os.wait4``'s ``ru_maxrss``). Targets (issue 5, 2 cores, < 500 MB): JSON < 5 s,
DOCX < 10 s, XLSX with the raw log < 60 s, CSV < 15 s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from broadcaster.store import aslog
from broadcaster.store.db import Database
from broadcaster.store.tables import AiringRow, LogEntry

BIN = Path(sys.executable).parent / "broadcaster"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = 2026
TARGETS = {"json": 5.0, "docx": 10.0, "xlsx": 60.0, "csv": 15.0}
MEMORY_TARGET_MB = 500


def station_yaml(zones: int) -> str:
    lines = [
        "station:",
        "  id: bench",
        "  name: Đài truyền thanh huyện Thử Nghiệm",
        "  timezone: Asia/Ho_Chi_Minh",
        "  tts: [espeak]",
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
        "  - {id: sang, zones: all, days: [mon, tue, wed, thu, fri, sat], start: '06:00', "
        "max_minutes: 20}",
        "  - {id: chieu, zones: all, days: [mon, tue, wed, thu, fri, sat, sun], start: '17:00', "
        "max_minutes: 20}",
        "requirements:",
        "  - {id: nq57-tuan, title: Phát sóng Nghị quyết 57 tối thiểu 01 lần/tuần, "
        "campaign: nq57, min: 1, per: week, zones: all}",
        "report:",
        "  issuing_body: UBND HUYỆN THỬ NGHIỆM",
        "  bulletins_per_month: {min: 2, max: 4}",
    ]
    return "\n".join(lines) + "\n"


BULLETINS = [(f"nq57-so-{i:02d}", "nq57") for i in range(1, 19)] + [
    (f"an-toan-{i:02d}", "an-toan") for i in range(1, 7)
]


def write_station(root: Path, zones: int) -> None:
    (root / "schedules").mkdir(parents=True, exist_ok=True)
    (root / "scripts").mkdir(exist_ok=True)
    (root / "schedules" / "station.yaml").write_text(station_yaml(zones), encoding="utf-8")
    for bid, campaign in [*BULLETINS, ("bao-khan", "canh-bao")]:
        prio = "emergency" if bid == "bao-khan" else "normal"
        (root / "scripts" / f"{bid}.md").write_text(
            f"---\nid: {bid}\ntitle: Bản tin {bid}\ncampaign: {campaign}\npriority: {prio}\n"
            f"zones: all\nlanguage: vi\n---\nNội dung bản tin {bid}.\n",
            encoding="utf-8",
        )


AIRING_COLUMNS = [
    "id",
    "zone_id",
    "bulletin_id",
    "campaign",
    "tags",
    "priority",
    "origin",
    "status",
    "scheduled_at",
    "window_end",
    "session_id",
    "week",
    "duration_seconds",
    "created_by",
    "created_at",
    "reason",
    "parent_id",
    "started_at",
    "ended_at",
]
LOG_COLUMNS = [
    "seq",
    "airing_id",
    "zone_id",
    "bulletin_id",
    "audio_sha256",
    "scheduled_at",
    "started_at",
    "ended_at",
    "outcome",
    "reason",
    "approved_by",
    "triggered_by",
    "recorded_at",
    "campaigns",
    "week",
    "priority",
    "origin",
    "duration_seconds",
    "prev_hash",
    "entry_hash",
]


def insert_sql(table: type, columns: list[str]) -> tuple[str, tuple]:
    """An INSERT for ``columns`` plus every other column of the table that has a default,
    with that default: a column added to the schema later (as ``as_run_log.receivers``
    was) gets its default instead of breaking the bench. Returns (SQL, the extra values)."""
    extra = [
        (c.name, c.default.arg)
        for c in table.__table__.columns  # type: ignore[attr-defined]
        if c.name not in columns and c.default is not None and not callable(c.default.arg)
    ]
    names = [*columns, *(name for name, _value in extra)]
    sql = (
        f"INSERT INTO {table.__tablename__} ({', '.join(names)}) "  # type: ignore[attr-defined]
        f"VALUES ({','.join('?' * len(names))})"
    )
    return sql, tuple(value for _name, value in extra)


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(root: Path, zones: int, seed: int = 57) -> int:
    """Fill station.db with a year of outcomes; returns the number of log entries."""
    db_path = root / "station.db"
    db = Database(f"sqlite:///{db_path}")
    db.create()
    db.dispose()
    rng = random.Random(seed)
    zone_ids = ["xa"] + [f"cum-{i:04d}" for i in range(1, zones)]
    audio = {bid: f"{i:064x}" for i, (bid, _c) in enumerate(BULLETINS, start=1)}
    audio["bao-khan"] = "f" * 64
    campaign = dict(BULLETINS) | {"bao-khan": "canh-bao"}
    # Week-long outages: about 2% of zone-weeks fail entirely.
    outages = {(z, w) for z in zone_ids for w in range(1, 54) if rng.random() < 0.02}
    emergencies = [
        datetime(YEAR, 5, 12, 9, 30, tzinfo=TZ),
        datetime(YEAR, 10, 20, 14, 0, tzinfo=TZ),
    ]
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=WAL")
    airings: list[tuple] = []
    log: list[tuple] = []
    prev = aslog.GENESIS
    seq = 0
    airing_id = 0
    day = date(YEAR, 1, 1)
    created = _ts(datetime(YEAR - 1, 12, 31, 12, tzinfo=UTC).replace(tzinfo=None))

    airing_sql, airing_extra = insert_sql(AiringRow, AIRING_COLUMNS)
    log_sql, log_extra = insert_sql(LogEntry, LOG_COLUMNS)

    def flush() -> None:
        conn.executemany(airing_sql, [row + airing_extra for row in airings])
        conn.executemany(log_sql, [row + log_extra for row in log])
        airings.clear()
        log.clear()

    def add(zone, bid, local: datetime, session, priority, origin, outcome, reason) -> None:
        nonlocal seq, airing_id, prev
        airing_id += 1
        seq += 1
        sched = local.astimezone(UTC).replace(tzinfo=None)
        duration = 60.0 + (airing_id % 90)
        started = ended = None
        if outcome == "aired":
            started, ended = sched, sched + timedelta(seconds=duration)
        elif outcome == "interrupted":
            started, ended = sched, sched + timedelta(seconds=duration / 3)
        elif outcome == "failed":
            started = ended = sched
        recorded = ended or sched + timedelta(minutes=20)
        y, w, _ = local.date().isocalendar()
        values = {
            "seq": seq,
            "airing_id": airing_id,
            "zone_id": zone,
            "bulletin_id": bid,
            "audio_sha256": audio[bid] if started else "",
            "scheduled_at": sched,
            "started_at": started,
            "ended_at": ended,
            "outcome": outcome,
            "reason": reason,
            "approved_by": "Chủ tịch UBND" if started else "",
            "triggered_by": "emergency:truc-ban" if origin == "emergency" else "daemon",
            "recorded_at": recorded,
            # What reports judge, hashed as StationEngine.close writes it (real clock).
            "campaigns": f",{campaign[bid]},",
            "week": f"{y}-W{w:02d}",
            "priority": priority,
            "origin": origin,
            "duration_seconds": duration,
        }
        digest = aslog.entry_hash(prev, values)
        airings.append(
            (
                airing_id,
                zone,
                bid,
                campaign[bid],
                ",",
                priority,
                origin,
                outcome,
                _ts(sched),
                _ts(sched + timedelta(minutes=20)),
                session,
                f"{y}-W{w:02d}",
                duration,
                "planner",
                created,
                reason,
                None,
                _ts(started) if started else None,
                _ts(ended) if ended else None,
            )
        )
        log.append(
            (
                seq,
                airing_id,
                zone,
                bid,
                values["audio_sha256"],
                _ts(sched),
                _ts(started) if started else None,
                _ts(ended) if ended else None,
                outcome,
                reason,
                values["approved_by"],
                values["triggered_by"],
                _ts(recorded),
                values["campaigns"],
                values["week"],
                priority,
                origin,
                duration,
                prev,
                digest,
            )
        )
        prev = digest

    while day.year == YEAR:
        week = day.isocalendar()[1]
        sunday = day.weekday() == 6
        times = (
            [(17, 0, "chieu"), (17, 5, "chieu"), (17, 10, "chieu")]
            if sunday
            else [
                (6, 0, "sang"),
                (6, 5, "sang"),
                (17, 0, "chieu"),
            ]
        )
        for slot, (hh, mm, session) in enumerate(times):
            local = datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)
            bid = BULLETINS[(day.toordinal() * 3 + slot) % len(BULLETINS)][0]
            for zone in zone_ids:
                if (zone, week) in outages:
                    outcome, reason = "failed", "output 'files' failed: zone unreachable"
                else:
                    r = rng.random()
                    if r < 0.93:
                        outcome, reason = "aired", ""
                    elif r < 0.96:
                        outcome, reason = "failed", "output 'files' failed: amplifier offline"
                    elif r < 0.98:
                        outcome, reason = "missed", "not started within the grace period"
                    elif r < 0.99:
                        outcome, reason = "interrupted", "interrupted by an emergency"
                    else:
                        outcome, reason = "cancelled", "cancelled by operator"
                add(zone, bid, local, session, "normal", "plan", outcome, reason)
        for e in emergencies:
            if e.date() == day:
                for zone in zone_ids:
                    outcome = "aired" if rng.random() < 0.97 else "failed"
                    add(zone, "bao-khan", e, None, "emergency", "emergency", outcome, "")
        if len(log) > 50_000:
            flush()
        day += timedelta(days=1)
    flush()
    conn.execute(
        "INSERT INTO log_chain_head (id, count, head_hash, updated_at) VALUES (1, ?, ?, ?)",
        (seq, prev, _ts(datetime(YEAR + 1, 1, 1))),
    )
    # First approvals spread over the year: the monthly production figure.
    for i, (bid, _c) in enumerate([*BULLETINS, ("bao-khan", "")]):
        month = 1 + (i * 12) // (len(BULLETINS) + 1)
        conn.execute(
            "INSERT INTO approval (bulletin_id, script_sha256, audio_sha256, approved_by, "
            "approved_at) VALUES (?,?,?,?,?)",
            (bid, "0" * 64, audio[bid], "Chủ tịch UBND", _ts(datetime(YEAR, month, 3, 2))),
        )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return seq


def run_once(root: Path, fmt: str, out_dir: Path) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS (MB), output size and CPU seconds (user + system, all
    threads) of one ``broadcaster report`` child process. CPU time is what the shared
    machine's other load does not inflate; wall time is what the target is about."""
    env = {
        **os.environ,
        "BROADCASTER_STATION": str(root),
        "BROADCASTER_NOW": "2027-01-05T08:00:00+07:00",
    }
    env.pop("BROADCASTER_DB", None)
    out = out_dir / f"bao-cao.{fmt}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN), "report", "--period", str(YEAR), "--format", fmt, "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"report --format {fmt} failed:\n{stdout}\n{stderr}")
    return wall, usage.ru_maxrss / 1024, out.stat().st_size, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zones", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/report-bench"))
    ap.add_argument("--formats", default="json,csv,docx,xlsx,pdf")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="5 zones, one JSON run, in a temporary --dir",
    )
    args = ap.parse_args()
    if args.smoke:
        args.zones, args.runs, args.formats = 5, 1, "json"
        with tempfile.TemporaryDirectory() as tmp:
            args.dir = Path(tmp)
            run(args)
        return
    run(args)


def run(args: argparse.Namespace) -> None:
    root = args.dir / f"station-{args.zones}"
    if not (root / "station.db").is_file():
        write_station(root, args.zones)
        t0 = time.perf_counter()
        n = generate(root, args.zones)
        print(f"generated {n:,} log entries in {time.perf_counter() - t0:.1f} s ({root})")
    conn = sqlite3.connect(root / "station.db")
    n = conn.execute("SELECT count(*) FROM as_run_log").fetchone()[0]
    conn.close()
    print(
        f"{args.zones} zones, {n:,} log entries, "
        f"{(root / 'station.db').stat().st_size / 1e6:.0f} MB"
    )
    out_dir = args.dir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"{'format':7} {'median s':>9} {'runs (s)':>24} {'peak MB':>8} {'size MB':>8} {'target':>8}"
    )
    for fmt in args.formats.split(","):
        if fmt == "pdf" and shutil.which("soffice") is None:
            print("pdf     skipped: LibreOffice (soffice) is not installed")
            continue
        runs = [run_once(root, fmt, out_dir) for _ in range(args.runs)]
        walls = [r[0] for r in runs]
        peak = max(r[1] for r in runs)
        target = TARGETS.get(fmt)
        verdict = ""
        if target is not None and not args.smoke:
            ok = statistics.median(walls) < target and peak < MEMORY_TARGET_MB
            verdict = f"< {target:.0f} s {'ok' if ok else 'MISSED'}"
        cpu = statistics.median(r[3] for r in runs)
        print(
            f"{fmt:7} {statistics.median(walls):9.2f} {' '.join(f'{w:.2f}' for w in walls):>24} "
            f"{cpu:6.2f} {peak:8.0f} {runs[-1][2] / 1e6:8.1f} {verdict:>8}",
            flush=True,
        )
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
