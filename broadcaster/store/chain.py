"""The hash chain shared by the station's append-only records (the as-run log, the audit trail).

An entry's hash covers its canonical JSON (sorted keys, instants as UTC ISO strings) and
the previous entry's hash, so editing, deleting or reordering an entry breaks the chain at
that point; a separate head row (count and newest hash) makes cutting off the newest
entries detectable too. This module knows nothing about tables: each record says which
fields it hashes and streams its rows to :func:`verify_chain`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update

from broadcaster.core.timeutil import as_utc
from broadcaster.i18n import _

GENESIS = "0" * 64


class ChainConflict(Exception):
    """Another writer moved the head between our read and our write."""


def advance_head(
    session: Any, head_table: Any, count: int, entry_seq: int, new_hash: str, at: datetime
) -> None:
    """Move a record's head from ``count`` to the new entry inside the caller's write
    transaction, only if no other writer moved it meanwhile (compare-and-set on the
    count): two writers can never fork the chain."""
    moved = session.execute(
        update(head_table)
        .where(head_table.id == 1, head_table.count == count)
        .values(count=entry_seq, head_hash=new_hash, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise ChainConflict(f"{head_table.__tablename__} moved during append")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def entry_hash(prev_hash: str, values: dict[str, object]) -> str:
    """SHA-256 of the previous hash and this entry's canonical JSON."""
    canonical = json.dumps(
        {k: _iso(v) if isinstance(v, datetime) else v for k, v in values.items()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    """One stored entry as the verifier sees it: its place, its stored hashes, its content."""

    seq: int
    prev_hash: str
    entry_hash: str
    values: dict[str, object]


@dataclass
class ChainReport:
    count: int = 0
    head_hash: str = GENESIS
    stored_count: int | None = None
    stored_hash: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    links: Iterable[ChainLink], stored_count: int, stored_hash: str, what: str = "log"
) -> ChainReport:
    """Walk the links in ``seq`` order and compare the end with the stored head.

    ``what`` names the record in the truncation message ("log", "audit trail").
    """
    report = ChainReport()
    expected_prev = GENESIS
    expected_seq = 1
    last_seq = 0
    for e in links:
        if e.seq != expected_seq:
            gap = f"{expected_seq}" + (f"–{e.seq - 1}" if e.seq - 1 > expected_seq else "")
            report.problems.append(
                _("entry {gap} deleted (sequence jumps to {seq})").format(gap=gap, seq=e.seq)
            )
        if e.prev_hash != expected_prev:
            report.problems.append(
                _(
                    "entry {seq}: does not follow entry {before} "
                    "(deleted, reordered or rewritten before it)"
                ).format(seq=e.seq, before=e.seq - 1)
            )
        if entry_hash(e.prev_hash, e.values) != e.entry_hash:
            report.problems.append(
                _("entry {seq}: content edited (hash mismatch)").format(seq=e.seq)
            )
        expected_prev = e.entry_hash
        expected_seq = e.seq + 1
        report.count += 1
        last_seq = e.seq
    report.head_hash = expected_prev
    report.stored_count, report.stored_hash = stored_count, stored_hash
    if stored_count != last_seq or stored_hash != expected_prev:
        if stored_count > last_seq:
            report.problems.append(
                _(
                    "{what} truncated: the chain head records {count} entries, "
                    "the {what} ends at {last}"
                ).format(what=what, count=stored_count, last=last_seq)
            )
        else:
            report.problems.append(
                _(
                    "chain head ({count}, {hash}) does not match the {what}'s "
                    "last entry ({last}, {last_hash})"
                ).format(
                    count=stored_count,
                    hash=stored_hash[:12],
                    what=what,
                    last=last_seq,
                    last_hash=expected_prev[:12],
                )
            )
    return report
