"""The raw log as CSV: UTF-8 with a byte-order mark, because Excel (the tool every commune
office has) reads a BOM-less CSV in the machine's legacy code page and garbles Vietnamese."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from broadcaster.reports.rawlog import COLUMNS, TIME_COLUMNS, as_local

_TIME_INDEXES = [i for i, c in enumerate(COLUMNS) if c in TIME_COLUMNS]


def write_csv(path: Path, rows: Iterable[tuple[Any, ...]], tz) -> int:
    """Times as local ISO 8601 with the offset (as ``log --csv``); returns rows written."""
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            values = list(row)
            for i in _TIME_INDEXES:
                v = values[i]
                if v is not None:
                    values[i] = as_local(v, tz).isoformat()
            writer.writerow(values)
            n += 1
    return n
