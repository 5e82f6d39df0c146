"""The audit trail: who did, or tried to do, what, through which face and from where.

Every action that changes something, and every refusal, is appended to its own
hash-chained table (``audit_log``), verified like the as-run log. Faces call
:func:`audited` around an operation::

    with audited(ctx, actor, Action.BULLETIN_APPROVE, bulletin_id, author=author) as note:
        ...  # the operation; may set note.detail
    # ok is recorded after the block; a PermissionDenied (raised before the block runs,
    # so nothing else is written) is recorded as refused; any other error as failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from broadcaster.app.actors import Actor
from broadcaster.app.permissions import Action, PermissionDenied, authorize, roles_used
from broadcaster.core.errors import ConfigErrors, UsageProblem
from broadcaster.store import auditlog
from broadcaster.store.auditlog import AuditRecord
from broadcaster.store.chain import ChainReport
from broadcaster.store.db import Database


class Result(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


class Clock(Protocol):
    def now(self) -> datetime: ...


class _Settings(Protocol):
    authors_may_approve: bool


class StationLike(Protocol):
    """What :func:`audited` needs of an open station (``app.context.StationContext`` fits)."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def station(self) -> _Settings: ...


class AuditTrail:
    """Appends to and reads the audit trail of one station's database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def record(
        self,
        actor: Actor,
        action: Action | str,
        target: str = "",
        result: Result | str = Result.OK,
        detail: str = "",
        *,
        roles: str | None = None,
        session=None,
    ) -> AuditRecord:
        """Append one entry, in ``session`` if given (the change's own transaction)."""
        if roles is None:
            known = action in Action.__members__.values()
            roles = roles_used(actor, Action(action)) if known else ""
        values = {
            "recorded_at": self.clock.now(),
            "actor": actor.who,
            "by": actor.by,
            "roles": roles,
            "face": actor.face,
            "address": actor.address,
            "action": str(action),
            "target": target,
            "result": str(result),
            "detail": detail,
        }
        if session is not None:
            return auditlog.append(session, **values)
        with self.db.write() as own:
            return auditlog.append(own, **values)

    def entries(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        user: str | None = None,
    ) -> list[AuditRecord]:
        with self.db.read() as session:
            return auditlog.entries(session, start, end, user)

    def page(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        user: str | None = None,
        *,
        before: int | None = None,
        limit: int = 50,
    ) -> list[AuditRecord]:
        """One page, newest first, of entries older than ``before`` (a page's cost does
        not grow with the trail)."""
        with self.db.read() as session:
            return auditlog.page(session, start, end, user, before=before, limit=limit)

    def last_sign_ins(self) -> dict[str, datetime]:
        """Each user's latest successful sign-in, from the trail."""
        with self.db.read() as session:
            return auditlog.last_sign_ins(session)

    def verify(self) -> ChainReport:
        with self.db.read() as session:
            return auditlog.verify(session)

    def refuse(self, actor: Actor, exc: PermissionDenied, target: str = "") -> None:
        """Record a refusal (the only write a refused action makes)."""
        self.record(actor, exc.action, target, Result.REFUSED, str(exc), roles=actor.roles_text)


@dataclass
class AuditNote:
    """What the operation inside :func:`audited` wants to add to its entry."""

    detail: str = ""


@contextlib.contextmanager
def audited(
    ctx: StationLike,
    actor: Actor,
    action: Action,
    target: str = "",
    *,
    zone: str | Collection[str] | None = None,
    author: str | None = None,
    detail: str = "",
) -> Iterator[AuditNote]:
    """Check the actor's permission, run the block, and record the outcome.

    Refused (``PermissionDenied`` re-raised, the block never runs), failed (the block
    raised; re-raised) or ok. The entry is written in its own transaction after the
    block, so it never rolls back with a failed operation. A user's mistake in the
    block (a bad argument, a broken station file: ``UsageProblem``, ``ConfigErrors``)
    is neither: nothing was done or refused, and nothing is written (the database is
    not even opened for it), as for any bad input.
    """

    def trail() -> AuditTrail:  # opened only to write: a mistake must not create the file
        return AuditTrail(ctx.db, ctx.clock)

    try:
        authorize(
            actor,
            action,
            zone=zone,
            author=author,
            authors_may_approve=getattr(ctx.station, "authors_may_approve", False),
        )
    except PermissionDenied as exc:
        trail().refuse(actor, exc, target)
        raise
    note = AuditNote(detail)
    try:
        yield note
    except (UsageProblem, ConfigErrors):
        raise
    except Exception as exc:
        failure = f"{note.detail}; {exc}" if note.detail else str(exc)
        trail().record(actor, action, target, Result.FAILED, failure)
        raise
    trail().record(actor, action, target, Result.OK, note.detail)
