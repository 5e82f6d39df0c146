"""The as-run log and its evidence: the log's rows, its verification, the station key and
signed log heads.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from broadcaster.app.context import StationContext
from broadcaster.core.errors import FieldProblem
from broadcaster.core.timeutil import (
    to_local,
)
from broadcaster.i18n import _
from broadcaster.store import aslog, signing
from broadcaster.store.aslog import HASHED_FIELDS  # what a face shows of the log
from broadcaster.store.signing import fingerprint  # noqa: F401  (and of the station key)


def station_key(ctx: StationContext) -> signing.StationKey:
    """The station key, made on first use (the first approval of a new station) so no
    approval is ever unsigned; refused if the file is readable by others."""
    key = signing.load_key(ctx.root, required=False)
    return key if key is not None else signing.create_key(ctx.root)


def keys_init(ctx: StationContext) -> signing.StationKey:
    """``keys init``: create the station key (never replaces one)."""
    return signing.create_key(ctx.root)


def public_key(ctx: StationContext) -> str | None:
    """The station's public key (hex), or None when it has no key yet. A key file that
    others can read is an error here too: printing it would bless it."""
    key = signing.load_key(ctx.root, required=False)
    return key.public_hex if key is not None else None


def sign_log_head(ctx: StationContext) -> signing.SignedLogHead:
    """Sign the log's current head and store it (the daemon does this periodically)."""
    key = signing.load_key(ctx.root)
    assert key is not None
    with ctx.db.write() as s:
        count, head_hash = aslog.head(s)
        head = signing.make_head(key, ctx.station.id, count, head_hash, ctx.clock.now())
        return signing.store_head(s, head)


def export_head(head: signing.SignedLogHead, path: Path | None) -> dict:
    """The head as its exported JSON; written to ``path`` (whole or not at all)."""
    data = signing.head_to_json(head)
    if path is None:
        return data
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise FieldProblem(
            _("cannot write: {why}").format(why=exc.strerror or exc),
            path=str(path),
            field="export",
            exit_code=1,
        ) from None
    return data


@dataclass
class HeadCheck:
    """``log verify``: the chain itself, the stored signed heads, and (with --against)
    a head taken out of the station earlier."""

    chain: aslog.ChainReport
    public_key: str | None
    heads_checked: int = 0
    against: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. heads signed by a retired key

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def verify_signed(ctx: StationContext, against: Path | None = None) -> HeadCheck:
    """The chain, every stored signed head (signature by this station's key, and the
    entry at its count still has its hash), and optionally an exported head, a JSON
    report or an evidence pack made earlier."""
    from broadcaster.app import against_files

    key = signing.load_key(ctx.root, required=False)
    public = key.public_hex if key is not None else None
    reference = against_files.read_reference(against) if against is not None else None
    with ctx.db.read() as s:
        check = HeadCheck(aslog.verify(s), public)
        for head in signing.stored_heads(s):
            check.heads_checked += 1
            label = _("signed head {id} ({count} entries)").format(id=head.id, count=head.count)
            if not signing.head_signature_ok(head):
                check.problems.append(
                    _("{label}: its signature does not verify (forged or edited)").format(
                        label=label
                    )
                )
            elif head.public_key != public:
                check.notes.append(
                    _("{label}: signed by another key ({fp}), e.g. before a rotation").format(
                        label=label, fp=head.public_key[:16]
                    )
                )
            check.problems += signing.check_against(
                s, head.count, head.head_hash, head.signed_at, label
            )
        if reference is not None:
            check.against = reference.describe()
            check.problems += reference.problems(public)
            check.problems += signing.check_against(
                s, reference.count, reference.head_hash, reference.signed_at, reference.label
            )
    return check


def log_rows(
    ctx: StationContext, start: datetime | None, end: datetime | None, zone: str | None
) -> list[dict]:
    tz = ctx.station.tz
    with ctx.db.read() as s:
        return [_row(e, tz) for e in aslog.entries(s, start, end, zone)]


def _row(e: aslog.LogEntry, tz) -> dict:
    """One entry as the faces show and export it (local instants, ISO text)."""
    return {
        "seq": e.seq,
        "airing_id": e.airing_id,
        "zone": e.zone_id,
        "bulletin_id": e.bulletin_id,
        "audio_sha256": e.audio_sha256,
        "scheduled_at": _iso_local(e.scheduled_at, tz),
        "started_at": _iso_local(e.started_at, tz),
        "ended_at": _iso_local(e.ended_at, tz),
        "outcome": e.outcome,
        "reason": e.reason,
        "approved_by": e.approved_by,
        "triggered_by": e.triggered_by,
        "recorded_at": _iso_local(e.recorded_at, tz),
        "receivers": e.receivers,
        "campaigns": e.campaigns,
        "week": e.week,
        "priority": e.priority,
        "origin": e.origin,
        "duration_seconds": e.duration_seconds,
        "clock": e.clock,
        "source": e.source,
        "relayed_seconds": e.relayed_seconds,
        "dropouts": e.dropouts,
        "entry_hash": e.entry_hash,
    }


def _iso_local(value: datetime | None, tz) -> str | None:
    return to_local(value, tz).isoformat() if value is not None else None


def verify(ctx: StationContext) -> aslog.ChainReport:
    with ctx.db.read() as s:
        return aslog.verify(s)


@dataclass(frozen=True)
class ChainState:
    """The as-run log's chain as a dashboard shows it: intact or not, and when the whole
    of it was last walked."""

    ok: bool
    count: int
    problems: tuple[str, ...]  # English, as the store words them (problem_in translates)
    checked_at: datetime
    whole_checked_at: datetime


class ChainWatch:
    """The chain's state for a page polled every few seconds by every open browser:
    the whole chain is walked on the first call and again every ``whole_every`` (and on
    every call while it is broken), in between only the entries appended since the last
    verified one. An edit to an old entry is therefore seen within ``whole_every``; the
    Nhật ký page's check walks it all at once."""

    def __init__(self, whole_every: timedelta = timedelta(minutes=30)) -> None:
        self.whole_every = whole_every
        self._lock = threading.Lock()
        self._verified: tuple[int, str] = (0, aslog.GENESIS)
        self._whole_at: datetime | None = None

    def state(self, ctx: StationContext) -> ChainState:
        now = ctx.clock.now()
        with self._lock:
            whole = self._whole_at is None or now - self._whole_at >= self.whole_every
            with ctx.db.read() as s:
                report = aslog.verify(s, after=(0, aslog.GENESIS) if whole else self._verified)
            if whole:
                self._whole_at = now
            if report.ok:
                self._verified = (report.stored_count or 0, report.head_hash)
            else:
                self._whole_at = None  # walk it all again next time: it may be repaired
            return ChainState(
                report.ok,
                report.stored_count or 0,
                tuple(report.problems),
                now,
                self._whole_at or now,
            )


def log_head(ctx: StationContext) -> tuple[int, str]:
    with ctx.db.read() as s:
        return aslog.head(s)


def log_since(ctx: StationContext, seq: int) -> list:
    with ctx.db.read() as s:
        return aslog.entries_after(s, seq)


def reason_in(language: str, reason: str | None) -> str:
    """A stored reason in ``language``. The as-run log keeps the English the engine wrote
    (the evidence does not depend on who ran the command); the reports' translator, which
    matches it back to its catalogue template, gives the Vietnamese."""
    if not reason or language != "vi":
        return reason or ""
    from broadcaster.reports.reasons import vietnamese  # only when there is one to show

    return vietnamese(reason)


# -- the log as a page reads it: filtered, a page at a time ----------------------------

#: The outcomes a log entry can have (what the filter offers).
OUTCOMES = ("aired", "failed", "missed", "interrupted", "cancelled", "partial")
#: The exported columns: the hashed fields (``zone`` for ``zone_id``) and the hash.
EXPORT_FIELDS = [("zone" if f == "zone_id" else f) for f in HASHED_FIELDS] + ["entry_hash"]
PAGE_SIZE = 50


@dataclass(frozen=True)
class LogFilter:
    """Which entries: local days [first, last] by scheduled (else recorded) time, one
    zone, one bulletin, one outcome; None for any."""

    start: datetime | None = None
    end: datetime | None = None
    zone: str | None = None
    bulletin: str | None = None
    outcome: str | None = None


def parse_filter(
    ctx: StationContext,
    date_from: str = "",
    date_to: str = "",
    zone: str = "",
    bulletin: str = "",
    outcome: str = "",
) -> LogFilter:
    """A filter from what a person typed; a bad value is a problem at its field."""
    start, end = local_days(ctx, date_from, date_to)
    zone = zone.strip()
    if zone and zone not in ctx.station.zone_ids:
        raise FieldProblem(
            _("no zone '{zone}' in the station (zones: {known})").format(
                zone=zone, known=", ".join(ctx.station.zone_ids)
            ),
            field="zone",
        )
    outcome = outcome.strip()
    if outcome and outcome not in OUTCOMES:
        raise FieldProblem(
            _("'{value}' is not an outcome (outcomes: {known})").format(
                value=outcome, known=", ".join(OUTCOMES)
            ),
            field="outcome",
        )
    return LogFilter(
        start=start,
        end=end,
        zone=zone or None,
        bulletin=bulletin.strip()[:64] or None,
        outcome=outcome or None,
    )


def local_days(
    ctx: StationContext, date_from: str = "", date_to: str = ""
) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the local days typed (inclusive), each side optional."""
    from datetime import time, timedelta

    from broadcaster.core.timeutil import local_to_utc, parse_local_date

    tz = ctx.station.tz
    first = parse_local_date(date_from, "from") if date_from.strip() else None
    last = parse_local_date(date_to, "to") if date_to.strip() else None
    if first and last and last < first:
        raise FieldProblem(
            _("{last} is before the first day {first}").format(
                last=last.isoformat(), first=first.isoformat()
            ),
            field="to",
        )
    return (
        local_to_utc(first, time(0), tz) if first else None,
        local_to_utc(last, time(0), tz) + timedelta(days=1) if last else None,
    )


@dataclass
class LogPage:
    rows: list[dict]
    next_before: int | None  # the ``before`` of the next (older) page; None at the end


def log_page(
    ctx: StationContext, where: LogFilter, before: int | None = None, size: int | None = None
) -> LogPage:
    """One page of the filtered log, newest first: never more than ``size`` rows read."""
    size = size or PAGE_SIZE
    tz = ctx.station.tz
    with ctx.db.read() as s:
        found = aslog.page(
            s,
            where.start,
            where.end,
            where.zone,
            where.bulletin,
            where.outcome,
            before=before,
            limit=size + 1,
        )
        rows = [_row(e, tz) for e in found[:size]]
    more = len(found) > size
    return LogPage(rows, rows[-1]["seq"] if more and rows else None)


def export_rows(ctx: StationContext, where: LogFilter) -> Iterator[dict]:
    """Every filtered entry, oldest first, in EXPORT_FIELDS (streamed: one read
    transaction, a batch at a time)."""
    tz = ctx.station.tz
    with ctx.db.read() as s:
        found = aslog.entries(s, where.start, where.end, where.zone, where.bulletin, where.outcome)
        for e in found:
            row = _row(e, tz)
            yield {k: row[k] for k in EXPORT_FIELDS}


#: The chain's problems as the as-run log's verifier writes them (the msgids of
#: store/chain, whose English the log's own walk writes the same).
CHAIN_PROBLEMS = (
    "entry {gap} deleted (sequence jumps to {seq})",
    "entry {seq}: does not follow entry {before} (deleted, reordered or rewritten before it)",
    "entry {seq}: content edited (hash mismatch)",
    "entry {seq}: verified before, now deleted",
    "entry {seq}: verified before, now rewritten",
    "{what} truncated: the chain head records {count} entries, the {what} ends at {last}",
    "chain head ({count}, {hash}) does not match the {what}'s last entry ({last}, {last_hash})",
)


def problem_in(language: str, problem: str) -> str:
    """A problem of the log's verification in ``language`` (the walk writes English)."""
    if language != "vi":
        return problem
    from broadcaster.i18n import catalogue
    from broadcaster.reports.reasons import ReasonTranslator

    return ReasonTranslator(catalogue("vi"), CHAIN_PROBLEMS).translate(problem)
