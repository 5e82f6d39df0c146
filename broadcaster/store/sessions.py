"""The SQL for the web station's sessions: one row per signed-in browser.

The browser holds a random token; the row holds its SHA-256 (a copied database gives no
session away), the user's name, the session's CSRF token and when it expires. Rows never
leave this module: callers get :class:`StoredSession`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from broadcaster.core.timeutil import as_utc
from broadcaster.store.tables import WebSession


@dataclass(frozen=True)
class StoredSession:
    token_sha256: str
    user_name: str
    csrf: str
    created_at: datetime
    expires_at: datetime
    address: str


def _plain(row: WebSession) -> StoredSession:
    return StoredSession(
        row.token_sha256,
        row.user_name,
        row.csrf,
        as_utc(row.created_at),
        as_utc(row.expires_at),
        row.address,
    )


def insert(
    session: Session,
    *,
    token_sha256: str,
    user_name: str,
    csrf: str,
    now: datetime,
    expires_at: datetime,
    address: str = "",
) -> StoredSession:
    row = WebSession(
        token_sha256=token_sha256,
        user_name=user_name,
        csrf=csrf,
        created_at=as_utc(now),
        expires_at=as_utc(expires_at),
        address=address[:64],
    )
    session.add(row)
    session.flush()
    return _plain(row)


def live(session: Session, token_sha256: str, now: datetime) -> StoredSession | None:
    """The session of this token if it has not expired."""
    row = session.exec(
        select(WebSession).where(
            WebSession.token_sha256 == token_sha256, WebSession.expires_at > as_utc(now)
        )
    ).first()
    return _plain(row) if row is not None else None


def remove(session: Session, token_sha256: str) -> None:
    session.exec(delete(WebSession).where(WebSession.token_sha256 == token_sha256))


def remove_user(session: Session, user_name: str, keep: str | None = None) -> None:
    """End every session of the user (a new password), except ``keep``'s."""
    query = delete(WebSession).where(WebSession.user_name == user_name)
    if keep is not None:
        query = query.where(WebSession.token_sha256 != keep)
    session.exec(query)


def remove_expired(session: Session, now: datetime) -> None:
    session.exec(delete(WebSession).where(WebSession.expires_at <= as_utc(now)))
