"""The SQL for user accounts and failed sign-ins.

Rows never leave this module: callers get :class:`StoredUser`, plain frozen data. Roles
and zones are stored as ",a,b," so one LIKE matches a whole name; ``zones == ""`` means
no zone limit. Every function runs inside the caller's session (``Database.write`` for
changes), so a change and its audit entry can share one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store.tables import LoginFailure, UserAccount


@dataclass(frozen=True)
class StoredUser:
    name: str
    full_name: str
    password_hash: str
    roles: tuple[str, ...]
    zones: tuple[str, ...] | None  # None: every zone
    disabled: bool
    created_at: datetime
    changed_at: datetime


def _pack(items: Iterable[str]) -> str:
    return "," + "".join(f"{i}," for i in sorted(set(items)))


def _unpack(text: str) -> tuple[str, ...]:
    return tuple(i for i in text.split(",") if i)


def _plain(row: UserAccount) -> StoredUser:
    return StoredUser(
        name=row.name,
        full_name=row.full_name,
        password_hash=row.password_hash,
        roles=_unpack(row.roles),
        zones=_unpack(row.zones) if row.zones else None,
        disabled=row.disabled,
        created_at=as_utc(row.created_at),
        changed_at=as_utc(row.changed_at),
    )


def _row(session: Session, name: str) -> UserAccount | None:
    return session.exec(select(UserAccount).where(UserAccount.name == name)).first()


def get(session: Session, name: str) -> StoredUser | None:
    row = _row(session, name)
    return _plain(row) if row is not None else None


def all_users(session: Session) -> list[StoredUser]:
    return [_plain(r) for r in session.exec(select(UserAccount).order_by(UserAccount.name))]


def insert(
    session: Session,
    *,
    name: str,
    full_name: str,
    password_hash: str,
    roles: Iterable[str],
    zones: Iterable[str] | None,
    now: datetime,
) -> StoredUser:
    row = UserAccount(
        name=name,
        full_name=full_name,
        password_hash=password_hash,
        roles=_pack(roles),
        zones=_pack(zones) if zones else "",
        disabled=False,
        created_at=as_utc(now),
        changed_at=as_utc(now),
    )
    session.add(row)
    session.flush()
    return _plain(row)


def update(
    session: Session,
    name: str,
    now: datetime,
    *,
    password_hash: str | None = None,
    roles: Iterable[str] | None = None,
    zones: Iterable[str] | bool | None = False,
    disabled: bool | None = None,
) -> StoredUser | None:
    """Change the given fields (``zones=False`` leaves them, ``None`` lifts the limit)."""
    row = _row(session, name)
    if row is None:
        return None
    if password_hash is not None:
        row.password_hash = password_hash
    if roles is not None:
        row.roles = _pack(roles)
    if zones is not False:
        row.zones = _pack(zones) if zones else ""  # type: ignore[arg-type]
    if disabled is not None:
        row.disabled = disabled
    row.changed_at = as_utc(now)
    session.add(row)
    session.flush()
    return _plain(row)


def record_failure(session: Session, name: str, at: datetime) -> None:
    session.add(LoginFailure(name=name[:64], at=as_utc(at)))
    session.flush()


def failures_since(session: Session, name: str, since: datetime) -> int:
    return session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.name == name[:64], LoginFailure.at >= as_utc(since))
    ).one()


def oldest_failure_since(session: Session, name: str, since: datetime) -> datetime | None:
    found = session.exec(
        select(func.min(LoginFailure.at)).where(
            LoginFailure.name == name[:64], LoginFailure.at >= as_utc(since)
        )
    ).one()
    return as_utc(found) if found is not None else None


def clear_failures(session: Session, name: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.name == name[:64]))
