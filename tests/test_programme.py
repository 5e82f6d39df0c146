"""A session is a programme: a simulated week on the sample commune, through the CLI.

The sample station (13 zones, 13 bulletins, ``fill: rotate`` by default) is rendered
offline, approved, and simulated Monday to Sunday of 2026-W48 with one cluster down for
two days. The outcomes are read from the database ``simulate`` names in its JSON (when it
runs on a copy), else from the station's own.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from stationkit import Cli

from broadcaster.app.context import load_config
from broadcaster.config.scripts_loader import load_scripts
from broadcaster.core.model import Priority
from broadcaster.core.sessions import zone_week_slots

WEEK = "2026-W48"
MONDAY = date(2026, 11, 23)
DOWN = "khoi-1"


def _database_named(summary: object, root: Path) -> Path:
    """The SQLite file a ``simulate --json`` summary names, or the station's own."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and (value.endswith(".db") or value.startswith("sqlite:")):
            found.append(value)

    walk(summary)
    for text in found:
        path = Path(text.removeprefix("sqlite:///"))
        if path.is_file():
            return path
    return root / "station.db"


def _query(path: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def simulated_week(tmp_path_factory: pytest.TempPathFactory):
    """The sample commune rendered offline, approved, then a simulated week with
    ``khoi-1`` unreachable Monday and Tuesday."""
    import shutil

    from stationkit import REPO

    root = tmp_path_factory.mktemp("programme") / "sample"
    root.mkdir()
    for part in ("schedules", "scripts"):
        shutil.copytree(REPO / part, root / part)
    shutil.copytree(REPO / "audio" / "recorded", root / "audio" / "recorded")
    shutil.copytree(REPO / "audio" / "jingles", root / "audio" / "jingles")
    cli = Cli(root)
    cli.subprocess("render", "--offline", check=True, timeout=1800)
    station = load_config(root)
    bulletins, _problems = load_scripts(root, station)
    for b in bulletins:
        cli("approve", b.id, "--by", "Chủ tịch UBND xã", check=True)
    r = cli.subprocess(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-29",
        "--fail",
        f"{DOWN}@2026-11-23/2026-11-24",
        "--json",
        check=True,
        timeout=900,
    )
    summary = json.loads(r.out)
    return cli, station, bulletins, summary, _database_named(summary, root)


def test_every_valid_bulletin_airs_in_every_zone_it_targets(simulated_week):
    """Not one airing a week per zone: every approved bulletin valid in the week (but
    emergencies, which air on an operator's order) airs at least once in each of its zones,
    the cluster that was down included."""
    _cli, station, bulletins, _summary, db = simulated_week
    aired = {
        (r["zone_id"], r["bulletin_id"])
        for r in _query(db, "select zone_id, bulletin_id from as_run_log where outcome='aired'")
    }
    days = [MONDAY + timedelta(d) for d in range(7)]
    slots = zone_week_slots(station, 2026, 48)
    missing = [
        (zone, b.id)
        for b in bulletins
        if b.priority != Priority.EMERGENCY
        for zone in b.zone_ids
        if any(b.valid_on(s.local_day) for s in slots[zone] if s.local_day in days)
        and (zone, b.id) not in aired
    ]
    assert missing == []


def test_sessions_are_filled_up_to_their_caps(simulated_week):
    """Each session that was on air carries a programme: what aired leaves less free time
    than the make-up reserve plus the shortest valid bulletin it does not already carry."""
    _cli, station, bulletins, _summary, db = simulated_week
    durations = {
        r["bulletin_id"]: r["duration_seconds"]
        for r in _query(
            db,
            "select bulletin_id, max(duration_seconds) as duration_seconds "
            "from rendition group by bulletin_id",
        )
    }
    by_slot: dict[tuple[str, str], list[sqlite3.Row]] = defaultdict(list)
    for r in _query(
        db,
        "select zone_id, session_id, bulletin_id, duration_seconds, window_end, status "
        "from airing where status='aired' and session_id is not null",
    ):
        by_slot[(r["zone_id"], r["window_end"][:16])].append(r)
    normal = [b for b in bulletins if b.priority != Priority.EMERGENCY]
    checked = 0
    for zone, slots in zone_week_slots(station, 2026, 48).items():
        reserve = max(
            durations[b.id]
            for b in normal
            if zone in b.zone_ids and b.campaign == "nq57" and b.id in durations
        )
        for slot in slots:
            if zone == DOWN and slot.local_day < MONDAY + timedelta(2):
                continue
            key = (zone, slot.end.strftime("%Y-%m-%d %H:%M"))
            here = by_slot.get(key, [])
            assert here, f"{zone} {slot.start} stayed silent"
            present = {r["bulletin_id"] for r in here}
            absent = [
                durations[b.id]
                for b in normal
                if zone in b.zone_ids and b.valid_on(slot.local_day) and b.id not in present
            ]
            free = slot.capacity_seconds - sum(r["duration_seconds"] for r in here)
            assert free >= -1e-6, key
            if absent:
                assert free < reserve + min(absent), (key, free, present)
            checked += 1
    assert checked > 100


def test_every_requirement_is_met_with_one_cluster_down_two_days(simulated_week):
    """Status on the simulated database: every zone and requirement 'met'; the down
    cluster failed on Monday and Tuesday only, nothing was missed for want of room."""
    cli, _station, _bulletins, summary, db = simulated_week
    # a simulation's entries are not real: status counts them only when asked to
    r = cli(
        "--db",
        f"sqlite:///{db}",
        "status",
        "--week",
        WEEK,
        "--json",
        "--include-unreal",
        check=True,
    )
    status = json.loads(r.out)
    assert status and all(s["state"] == "met" for s in status), [
        (s["zone"], s["requirement"], s["state"]) for s in status if s["state"] != "met"
    ]
    failed = _query(db, "select zone_id, scheduled_at from as_run_log where outcome='failed'")
    assert failed and {f["zone_id"] for f in failed} == {DOWN}
    assert _query(db, "select * from as_run_log where outcome='missed'") == []
    assert summary["outcomes"].get("missed", 0) == 0
