"""The as-run log: append-only, hash-chained, with its head kept in a separate table.

Each entry's hash covers its sequence number, every evidential field and the previous
entry's hash, so editing, deleting or reordering any entry breaks the chain at that
point. The head (count and newest hash) lives in ``log_chain_head`` and is printed by
``status`` and reports: cutting off the newest entries, which leaves a valid chain
behind, no longer matches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store.chain import GENESIS, advance_head, entry_hash
from broadcaster.store.tables import ChainHead, LogEntry

HASHED_FIELDS = (
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
    "receivers",  # hashed only when set, so entries written before it existed still verify
    # Hashed only when set too (issue 10): what status and reports judge, and the clock.
    "campaigns",
    "week",
    "priority",
    "origin",
    "duration_seconds",
    "clock",
    # Hashed only when set (issue 16): a relay window's source, seconds and dropouts.
    "source",
    "relayed_seconds",
    "dropouts",
)
# Fields left out of the hash while empty, so entries written before them still verify;
# an entry that had one and lost it (or gained one) no longer does. They are every field
# from "receivers" on: a new hashed field is appended, optional, at the end.
OPTIONAL_FIELDS = frozenset(HASHED_FIELDS[HASHED_FIELDS.index("receivers") :])
# The fields a log entry carries for status and the reports; entries without them (older
# than these fields) are "legacy": their campaign and week come from the airing table.
JUDGED_FIELDS = ("campaigns", "week")


@dataclass
class Outcome:
    """What the engine or an operator says happened to an airing."""

    zone_id: str
    bulletin_id: str
    outcome: str
    triggered_by: str
    airing_id: int | None = None
    audio_sha256: str = ""
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str = ""
    approved_by: str = ""
    receivers: str = ""
    campaigns: frozenset[str] | tuple[str, ...] = ()  # the campaign and the tags it counts for
    week: str = ""
    priority: str = ""
    origin: str = ""
    duration_seconds: float = 0.0
    # The kind of clock the outcome was observed on (``engine.clock.clock_kind``): "" only
    # for the real wall clock. Writers must say it; reports count only real entries.
    clock: str = ""
    # A relay window's entry (issue 16): the source, what really went out, the dropouts
    # (JSON); empty on a bulletin's entry, so its hash is as before.
    source: str = ""
    relayed_seconds: float = 0.0
    dropouts: str = ""


def _values(entry: LogEntry) -> dict[str, object]:
    values = {name: getattr(entry, name) for name in HASHED_FIELDS}
    for name in OPTIONAL_FIELDS:
        if not values.get(name):
            del values[name]
    return values


def campaigns_text(campaigns: frozenset[str] | tuple[str, ...]) -> str:
    """The campaigns as ",a,b," (sorted), so ``LIKE '%,a,%'`` matches one campaign exactly."""
    names = sorted({c for c in campaigns if c})
    return "," + ",".join(names) + "," if names else ""


def append(session: Session, outcome: Outcome, recorded_at: datetime) -> LogEntry:
    """Add one entry inside the caller's write transaction."""
    head = session.exec(select(ChainHead).where(ChainHead.id == 1).with_for_update()).first()
    if head is None:
        head = ChainHead(id=1, count=0, head_hash=GENESIS)
        session.add(head)
        session.flush()
    entry = LogEntry(
        seq=head.count + 1,
        airing_id=outcome.airing_id,
        zone_id=outcome.zone_id,
        bulletin_id=outcome.bulletin_id,
        audio_sha256=outcome.audio_sha256,
        scheduled_at=_naive(outcome.scheduled_at),
        started_at=_naive(outcome.started_at),
        ended_at=_naive(outcome.ended_at),
        outcome=outcome.outcome,
        reason=outcome.reason[:512],
        approved_by=outcome.approved_by,
        triggered_by=outcome.triggered_by,
        recorded_at=as_utc(recorded_at),
        receivers=outcome.receivers[:4096],
        campaigns=campaigns_text(outcome.campaigns)[:640],
        week=outcome.week,
        priority=outcome.priority,
        origin=outcome.origin,
        duration_seconds=round(float(outcome.duration_seconds or 0.0), 3),
        clock=outcome.clock,
        source=outcome.source,
        relayed_seconds=round(float(outcome.relayed_seconds or 0.0), 3),
        dropouts=outcome.dropouts[:4096],
        prev_hash=head.head_hash or GENESIS,
        entry_hash="",
    )
    entry.entry_hash = entry_hash(entry.prev_hash, _values(entry))
    advance_head(session, ChainHead, head.count, entry.seq, entry.entry_hash, entry.recorded_at)
    session.add(entry)
    session.flush()
    session.expire(head)
    return entry


def _naive(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@dataclass
class ChainReport:
    count: int = 0
    head_hash: str = GENESIS
    stored_count: int | None = None
    stored_hash: str | None = None
    problems: list[str] = field(default_factory=list)
    # Entries made under a clock that is not the real one, by kind ("simulated", ...).
    unreal: dict[str, int] = field(default_factory=dict)
    legacy: int = 0  # entries older than the judged fields (campaign, week) in the hash

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unreal_count(self) -> int:
        return sum(self.unreal.values())


def unreal_counts(session: Session) -> dict[str, int]:
    """How many entries each non-real clock made: a database holding any is not (only)
    evidence, and every command that shows figures says so."""
    q = (
        select(LogEntry.clock, func.count())
        .where(LogEntry.clock > "")  # a range on ix_log_clock: cheap on a million rows
        .group_by(LogEntry.clock)
        .order_by(LogEntry.clock)
    )
    return {str(kind): int(n) for kind, n in session.exec(q).all()}


def head(session: Session) -> tuple[int, str]:
    row = session.get(ChainHead, 1)
    if row is None:
        return 0, GENESIS
    return row.count, row.head_hash or GENESIS


def verify(
    session: Session, batch: int = 5000, after: tuple[int, str] = (0, GENESIS)
) -> ChainReport:
    """Walk the chain in ``seq`` order, in batches, and compare with the head: all of it,
    or (``after``: an entry's seq and hash, already verified) only the entries appended
    since, which is what a dashboard polled every few seconds can afford."""
    report = ChainReport()
    last_seq, expected_prev = after
    expected_seq = last_seq + 1
    if last_seq:
        anchor = session.exec(select(LogEntry.entry_hash).where(LogEntry.seq == last_seq)).first()
        if anchor != expected_prev:
            gone = "deleted" if anchor is None else "rewritten"
            report.problems.append(f"entry {last_seq}: verified before, now {gone}")
    while True:
        rows = session.exec(
            select(LogEntry).where(LogEntry.seq > last_seq).order_by(LogEntry.seq).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                report.problems.append(
                    f"entry {expected_seq}"
                    + (f"–{e.seq - 1}" if e.seq - 1 > expected_seq else "")
                    + f" deleted (sequence jumps to {e.seq})"
                )
            if e.prev_hash != expected_prev:
                report.problems.append(
                    f"entry {e.seq}: does not follow entry {e.seq - 1} "
                    "(deleted, reordered or rewritten before it)"
                )
            recomputed = entry_hash(e.prev_hash, _values(e))
            if recomputed != e.entry_hash:
                report.problems.append(f"entry {e.seq}: content edited (hash mismatch)")
            expected_prev = e.entry_hash
            expected_seq = e.seq + 1
            report.count += 1
            if e.clock:
                report.unreal[e.clock] = report.unreal.get(e.clock, 0) + 1
            if e.airing_id is not None and not e.week:
                report.legacy += 1
            last_seq = e.seq
        session.expunge_all()
    report.head_hash = expected_prev
    stored_count, stored_hash = head(session)
    report.stored_count, report.stored_hash = stored_count, stored_hash
    if stored_count != last_seq or stored_hash != expected_prev:
        if stored_count > last_seq:
            report.problems.append(
                f"log truncated: the chain head records {stored_count} entries, "
                f"the log ends at {last_seq}"
            )
        else:
            report.problems.append(
                f"chain head ({stored_count}, {stored_hash[:12]}) does not match the log's "
                f"last entry ({last_seq}, {expected_prev[:12]})"
            )
    return report


def entries_after(session: Session, seq: int) -> list[LogEntry]:
    """Every entry appended after entry ``seq``, in order: what one run (a simulation)
    added to the log it started on."""
    return list(
        session.exec(select(LogEntry).where(LogEntry.seq > seq).order_by(LogEntry.seq)).all()
    )


def _filtered(q, start, end, zone_id, bulletin_id, outcome):
    when = func.coalesce(LogEntry.scheduled_at, LogEntry.recorded_at)
    if start is not None:
        q = q.where(when >= as_utc(start))
    if end is not None:
        q = q.where(when < as_utc(end))
    if zone_id is not None:
        q = q.where(LogEntry.zone_id == zone_id)
    if bulletin_id is not None:
        q = q.where(LogEntry.bulletin_id == bulletin_id)
    if outcome is not None:
        q = q.where(LogEntry.outcome == outcome)
    return q


def page(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    zone_id: str | None = None,
    bulletin_id: str | None = None,
    outcome: str | None = None,
    *,
    before: int | None = None,
    limit: int = 50,
) -> list[LogEntry]:
    """One page of matching entries, newest first, those with ``seq < before`` (keyset:
    a page costs the same on the first day and on a five-million-row log)."""
    q = _filtered(select(LogEntry), start, end, zone_id, bulletin_id, outcome)
    if before is not None:
        q = q.where(LogEntry.seq < before)
    return list(session.exec(q.order_by(LogEntry.seq.desc()).limit(limit)).all())


def entries(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    zone_id: str | None = None,
    bulletin_id: str | None = None,
    outcome: str | None = None,
    batch: int = 5000,
) -> Iterator[LogEntry]:
    """Every entry whose scheduled (or recorded) time falls in [start, end), of that zone,
    bulletin and outcome when given, oldest first, streamed in batches (each batch let go
    of before the next: a CSV of five million rows holds one batch)."""
    last = 0
    while True:
        q = _filtered(
            select(LogEntry).where(LogEntry.seq > last), start, end, zone_id, bulletin_id, outcome
        )
        rows = session.exec(q.order_by(LogEntry.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def cut_in_zone(
    session: Session, zone_id: str, reason: str, start: datetime, end: datetime
) -> list[tuple[str, datetime | None]]:
    """The bulletins (with their start) logged interrupted in ``zone_id`` with exactly
    ``reason``, scheduled in [start, end): read along ix_log_zone_time, so a progress page
    polled every few seconds reads one zone's span, not the log."""
    q = (
        select(LogEntry.bulletin_id, LogEntry.started_at)
        .where(LogEntry.zone_id == zone_id)
        .where(LogEntry.scheduled_at >= start, LogEntry.scheduled_at < end)
        .where(LogEntry.outcome == "interrupted", LogEntry.reason == reason)
        .order_by(LogEntry.seq)
    )
    return [(b, at) for b, at in session.exec(q).all()]
