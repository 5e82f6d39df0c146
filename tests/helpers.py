"""Small helpers for reading a station's database and output folder in tests."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def db(root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(root / "station.db")
    conn.row_factory = sqlite3.Row
    return conn


def rows(root: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    with db(root) as conn:
        return list(conn.execute(sql, params))


def played(root: Path, out: str = "out") -> list[dict]:
    """Every 'started' record of every zone's manifest: what reached an output."""
    found = []
    for manifest in sorted((root / out).glob("*/manifest.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["event"] == "started":
                found.append({**record, "zone": manifest.parent.name})
    return found


def offset_to(local: str) -> str:
    """BROADCASTER_CLOCK_OFFSET making 'now' the given local wall time."""
    target = datetime.fromisoformat(local).replace(tzinfo=VN)
    return str((target - datetime.now(UTC)).total_seconds())
