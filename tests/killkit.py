"""kill -9 of the real daemon at and just after slot instants (issue 10, "Done means").

Shared by the test suite (a few kills) and ``bench/kill_at_slots.py`` (fifty). Airings are
booked on every zone at slots a few seconds apart inside the 06:00 session; for each slot
a daemon is started with its clock set a few seconds before it, killed with SIGKILL a
chosen delay after the slot's instant, and the next daemon (for the next slot) recovers
what the kill left. A last daemon finishes everything. Then the evidence is checked
against what reached the outputs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stationkit import VN, Cli, played, rows

from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, Origin, Priority
from broadcaster.engine.clock import SimClock
from broadcaster.engine.planning import new_row

SESSION_START = datetime(2026, 11, 23, 6, 0, tzinfo=VN)


@dataclass
class KillRun:
    kills: int = 0
    in_the_act: int = 0  # kills that left an airing 'playing'
    late_starts: int = 0  # daemons not ready by their slot (the kill hit their start-up)
    problems: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    starts: int = 0


def book_slots(cli: Cli, count: int, spacing: float, bulletin: str = "nq57-mot") -> list[datetime]:
    """One airing per zone at each of ``count`` slots from 06:00, ``spacing`` s apart, all
    in the 06:00 session (booked straight into the database, as the planner does)."""
    ctx = StationContext.open(cli.root, clock=SimClock(SESSION_START - timedelta(minutes=10)))
    slots = [SESSION_START + timedelta(seconds=spacing * i) for i in range(count)]
    window_end = (SESSION_START + timedelta(minutes=10)).astimezone(UTC)
    try:
        b = ctx.bulletin(bulletin)
        with ctx.db.write() as s:
            for slot in slots:
                for zone in ctx.station.zone_ids:
                    airing = Airing(
                        None,
                        zone,
                        bulletin,
                        slot.astimezone(UTC),
                        window_end,
                        "sang",
                        Priority(b.priority),
                        Origin.QUEUE,
                        created_by="killkit",
                    )
                    s.add(new_row(airing, b, ctx.station, ctx.clock.now()))
    finally:
        ctx.close()
    return slots


def _offset_for(local: datetime) -> float:
    return (local.astimezone(UTC) - datetime.now(UTC)).total_seconds()


def _start(cli: Cli, local_now: datetime) -> tuple[subprocess.Popen[str], float]:
    """A daemon whose clock reads ``local_now`` now; and its clock offset."""
    offset = _offset_for(local_now)
    cli.env["BROADCASTER_CLOCK_OFFSET"] = repr(offset)
    return cli.popen("run", "--no-autoplan", "--quiet", "--sweep-seconds", "0.2"), offset


def _ready(cli: Cli, proc: subprocess.Popen[str], timeout: float = 30.0) -> bool:
    import fcntl

    deadline = time.monotonic() + timeout
    lock = cli.root / "station.db.lock"
    while time.monotonic() < deadline and proc.poll() is None:
        if lock.exists():
            with open(lock, "rb") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(fh, fcntl.LOCK_UN)
        time.sleep(0.02)
    return False


def kill_at_slots(
    cli: Cli, delays: list[float], spacing: float = 12.0, lead: float = 3.0
) -> KillRun:
    """For each delay: a daemon started ``lead`` s before its slot, SIGKILLed ``delay`` s
    after the slot's instant. Returns what the evidence says against the outputs."""
    slots = book_slots(cli, len(delays), spacing)
    run = KillRun()
    for slot, delay in zip(slots, delays, strict=True):
        # The daemon must be up before its slot: on a loaded machine start-up takes
        # seconds, so the lead follows the start-ups seen so far.
        began = time.monotonic()
        proc, offset = _start(cli, slot - timedelta(seconds=lead))
        try:
            slot_wall = slot.astimezone(UTC).timestamp() - offset
            if not _ready(cli, proc) or time.time() > slot_wall:
                run.late_starts += 1
            lead = max(lead, 1.5 * (time.monotonic() - began) + 0.5)
            pause = slot_wall + delay - time.time()
            if pause > 0:
                time.sleep(pause)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        run.kills += 1
        playing = rows(cli.root, "select count(*) as n from airing where status='playing'")
        run.in_the_act += playing[0]["n"] > 0
    # The last daemon recovers the last kill and airs everything left in the session.
    proc, _offset = _start(cli, slots[-1] + timedelta(seconds=1))
    try:
        _ready(cli, proc)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = rows(
                cli.root, "select count(*) as n from airing where status in ('planned','playing')"
            )
            if left[0]["n"] == 0:
                break
            time.sleep(0.2)
        else:
            run.problems.append("airings still planned or playing after 120 s")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    check_evidence(cli, run)
    return run


def check_evidence(cli: Cli, run: KillRun) -> None:
    """Every start on an output has exactly one log entry, and it records the start; no
    airing started twice; nothing failed (a name clash was the way they failed)."""
    starts = played(cli.root)
    run.starts = len(starts)
    per_airing = Counter(s["airing"] for s in starts)
    log = rows(cli.root, "select * from as_run_log order by seq")
    entries: dict[int, list] = {}
    for e in log:
        entries.setdefault(e["airing_id"], []).append(e)
        run.outcomes[e["outcome"]] += 1
    for airing, n in per_airing.items():
        if n != 1:
            run.problems.append(f"airing {airing} reached an output {n} times")
        found = entries.get(airing, [])
        if len(found) != 1:
            run.problems.append(f"airing {airing} started with {len(found)} log entries")
        elif not found[0]["started_at"]:
            run.problems.append(f"airing {airing} started but its entry has no start")
    for e in log:
        if e["outcome"] == "failed":
            run.problems.append(f"airing {e['airing_id']} failed: {e['reason']}")
    verify = cli("log", "verify")
    if verify.code != 0:
        run.problems.append("log verify: " + verify.out + verify.err)
