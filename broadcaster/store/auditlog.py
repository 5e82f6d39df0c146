"""The SQL of the audit trail: append-only, hash-chained, its head in ``audit_chain_head``.

The chain is the as-run log's (:mod:`broadcaster.store.chain`): the same hash, the same
walk, the same head check, so an edited, deleted, reordered or cut-off entry is found
the same way. Callers get :class:`AuditRecord`, plain frozen data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store.chain import (
    GENESIS,
    ChainLink,
    ChainReport,
    advance_head,
    entry_hash,
    verify_chain,
)
from broadcaster.store.tables import AuditEntry, AuditHead

HASHED_FIELDS = (
    "seq",
    "recorded_at",
    "actor",
    "by",
    "roles",
    "face",
    "address",
    "action",
    "target",
    "result",
    "detail",
)


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    recorded_at: datetime
    actor: str
    by: str
    roles: str
    face: str
    address: str
    action: str
    target: str
    result: str
    detail: str
    entry_hash: str


def _values(entry: AuditEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in HASHED_FIELDS}


def _plain(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        seq=entry.seq,
        recorded_at=as_utc(entry.recorded_at),
        actor=entry.actor,
        by=entry.by,
        roles=entry.roles,
        face=entry.face,
        address=entry.address,
        action=entry.action,
        target=entry.target,
        result=entry.result,
        detail=entry.detail,
        entry_hash=entry.entry_hash,
    )


def append(
    session: Session,
    *,
    recorded_at: datetime,
    actor: str,
    by: str,
    roles: str,
    face: str,
    address: str,
    action: str,
    target: str,
    result: str,
    detail: str,
) -> AuditRecord:
    """Add one entry inside the caller's write transaction (values cut to their columns)."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, count=0, head_hash=GENESIS)
        session.add(head)
        session.flush()
    entry = AuditEntry(
        seq=head.count + 1,
        recorded_at=as_utc(recorded_at),
        actor=actor[:128],
        by=by[:128],
        roles=roles[:128],
        face=face[:16],
        address=address[:128],
        action=action[:32],
        target=target[:256],
        result=result[:16],
        detail=detail[:1024],
        prev_hash=head.head_hash or GENESIS,
        entry_hash="",
    )
    entry.entry_hash = entry_hash(entry.prev_hash, _values(entry))
    advance_head(session, AuditHead, head.count, entry.seq, entry.entry_hash, entry.recorded_at)
    session.add(entry)
    session.flush()
    session.expire(head)
    return _plain(entry)


def head(session: Session) -> tuple[int, str]:
    row = session.get(AuditHead, 1)
    if row is None:
        return 0, GENESIS
    return row.count, row.head_hash or GENESIS


def _links(session: Session, batch: int) -> Iterator[ChainLink]:
    last = 0
    while True:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        links = [ChainLink(e.seq, e.prev_hash, e.entry_hash, _values(e)) for e in rows]
        last = rows[-1].seq
        session.expunge_all()
        yield from links


def verify(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole trail in ``seq`` order and compare its end with the head row."""
    count, stored_hash = head(session)
    return verify_chain(_links(session, batch), count, stored_hash, what="audit trail")


def entries(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    user: str | None = None,
) -> list[AuditRecord]:
    """Entries recorded in [start, end), oldest first; ``user`` matches the actor or ``by``."""
    q = select(AuditEntry)
    if start is not None:
        q = q.where(AuditEntry.recorded_at >= as_utc(start))
    if end is not None:
        q = q.where(AuditEntry.recorded_at < as_utc(end))
    if user is not None:
        q = q.where(or_(AuditEntry.actor == user, AuditEntry.by == user))
    return [_plain(e) for e in session.exec(q.order_by(AuditEntry.seq))]


def page(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    user: str | None = None,
    *,
    before: int | None = None,
    limit: int = 50,
) -> list[AuditRecord]:
    """One page of entries recorded in [start, end), newest first, ``seq < before``."""
    q = select(AuditEntry)
    if start is not None:
        q = q.where(AuditEntry.recorded_at >= as_utc(start))
    if end is not None:
        q = q.where(AuditEntry.recorded_at < as_utc(end))
    if user is not None:
        q = q.where(or_(AuditEntry.actor == user, AuditEntry.by == user))
    if before is not None:
        q = q.where(AuditEntry.seq < before)
    return [_plain(e) for e in session.exec(q.order_by(AuditEntry.seq.desc()).limit(limit))]


def last_sign_ins(session: Session) -> dict[str, datetime]:
    """Each actor's latest successful sign-in."""
    q = (
        select(AuditEntry.actor, func.max(AuditEntry.recorded_at))
        .where(AuditEntry.action == "auth.login", AuditEntry.result == "ok")
        .group_by(AuditEntry.actor)
    )
    return {str(actor): as_utc(at) for actor, at in session.exec(q).all() if at is not None}
