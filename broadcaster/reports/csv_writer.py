"""The raw log as CSV: UTF-8 with a byte-order mark, because Excel (the tool every commune
office has) reads a BOM-less CSV in the machine's legacy code page and garbles Vietnamese.

Rows are formatted here rather than by ``csv.writer``: it spends 7 µs a row checking
every character of the four 64-digit hashes, a third of the time budget for a province's
year. The quoting is the csv module's default dialect (QUOTE_MINIMAL, CRLF), and a test
reads the file back with ``csv`` on text that needs quoting.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from broadcaster.reports.rawlog import COLUMNS, LocalTimes

_SPECIAL = re.compile(r'[",\r\n]')


def field(value: Any) -> str:
    """One field as csv.writer's excel dialect writes it."""
    if not value:
        return "" if value is None or value == "" else str(value)
    text = value if isinstance(value, str) else str(value)
    if _SPECIAL.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


_EXPECTED = (
    "seq", "airing_id", "zone", "bulletin_id", "audio_sha256", "scheduled_at", "started_at",
    "ended_at", "outcome", "reason", "approved_by", "triggered_by", "recorded_at",
    "receivers", "campaigns", "week", "priority", "origin", "duration_seconds", "clock",
    "source", "relayed_seconds", "dropouts", "entry_hash", "prev_hash",
)  # fmt: skip


def write_csv(path: Path, rows: Iterable[tuple[Any, ...]], tz) -> int:
    """Times as local ISO 8601 with the offset (as ``log --csv``); returns rows written.

    One f-string per row, the columns named: ids are slugs, hashes hex digits, outcomes
    words and times ours, so only the free-text columns go through quoting."""
    if tuple(COLUMNS) != _EXPECTED:  # the log's fields changed: update the line below
        raise AssertionError(f"raw log columns changed: {COLUMNS}")
    iso = LocalTimes(tz).iso
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerow(COLUMNS)
        out: list[str] = []
        for (
            seq, aid, zone, bid, audio, sch, st, en, res, why, appr, trig, rec, rcv,
            camp, week, prio, orig, dur, clock, src, relayed, gaps, eh, ph,
        ) in rows:  # fmt: skip
            out.append(
                f"{seq},{'' if aid is None else aid},{zone},{field(bid)},{audio or ''},"
                f"{iso(sch) if sch else ''},{iso(st) if st else ''},{iso(en) if en else ''},"
                f"{res},{field(why)},{field(appr)},{field(trig)},{iso(rec) if rec else ''},"
                f"{field(rcv)},{field(camp)},{week or ''},{prio or ''},{orig or ''},"
                f"{dur!r},{clock or ''},{src or ''},{relayed!r},{field(gaps)},{eh},{ph}\r\n"
            )
            if len(out) >= 5000:
                fh.write("".join(out))
                n += len(out)
                out.clear()
        fh.write("".join(out))
        n += len(out)
    return n
