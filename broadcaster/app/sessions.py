"""Signed-in browsers: the web station's sessions, kept by the server.

Signing in is :meth:`UserService.authenticate` (argon2id, the lockout, the audit entry);
this module only remembers who signed in where. The browser holds a random token (in an
HttpOnly cookie); the database holds its SHA-256, the user's name, the session's CSRF
token and when it expires. A session of a user since disabled or removed is no session,
and a new password ends the user's other sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail, Clock, Result
from broadcaster.app.users import User, UserService
from broadcaster.core.errors import BroadcasterError
from broadcaster.store import sessions as store
from broadcaster.store.db import Database

LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class SignedIn:
    """One live session: its user (as they are now), its CSRF token and its expiry."""

    user: User
    csrf: str
    expires_at: datetime
    token_sha256: str

    def actor(self, address: str = "") -> Actor:
        return self.user.actor("web", address)

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf, given or "")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class SessionService:
    """The sessions of one station's database."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        users: UserService,
        *,
        lifetime: timedelta = LIFETIME,
    ) -> None:
        self.db = db
        self.clock = clock
        self.users = users
        self.lifetime = lifetime

    def sign_in(self, name: str, password: str, address: str = "") -> tuple[str, SignedIn]:
        """A new session's token (for the cookie) if the password is right; raises
        :class:`AuthenticationFailed` otherwise (the lockout and the audit included)."""
        user = self.users.authenticate(name, password, face="web", address=address)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.write() as session:
            store.remove_expired(session, now)
            row = store.insert(
                session,
                token_sha256=_digest(token),
                user_name=user.name,
                csrf=secrets.token_urlsafe(32),
                now=now,
                expires_at=now + self.lifetime,
                address=address,
            )
        return token, SignedIn(user, row.csrf, row.expires_at, row.token_sha256)

    def find(self, token: str | None) -> SignedIn | None:
        """The live session of a cookie's token, or None (unknown, expired, or its user
        disabled or gone)."""
        if not token or len(token) > 256:
            return None
        with self.db.read() as session:
            row = store.live(session, _digest(token), self.clock.now())
        if row is None:
            return None
        try:
            user = self.users.get(row.user_name)
        except BroadcasterError:
            return None
        if user.disabled:
            return None
        return SignedIn(user, row.csrf, row.expires_at, row.token_sha256)

    def sign_out(self, signed: SignedIn, address: str = "") -> None:
        with self.db.write() as session:
            store.remove(session, signed.token_sha256)
            AuditTrail(self.db, self.clock).record(
                signed.actor(address),
                "auth.logout",
                signed.user.name,
                Result.OK,
                "",
                roles="",
                session=session,
            )

    def change_password(self, signed: SignedIn, current: str, new: str, address: str = "") -> User:
        """The user's own new password, after the current one is typed again (a failure
        counts towards the lockout); every other session of the user ends."""
        self.users.authenticate(signed.user.name, current, face="web", address=address)
        user = self.users.passwd(signed.actor(address), signed.user.name, new)
        with self.db.write() as session:
            store.remove_user(session, user.name, keep=signed.token_sha256)
        return user

    def reset_password(self, actor: Actor, name: str, new: str) -> User:
        """An admin's reset of someone's password (``users.passwd``: authorized, audited);
        every session of that user ends, so whoever held the old password is out."""
        user = self.users.passwd(actor, name, new)
        with self.db.write() as session:
            store.remove_user(session, user.name)
        return user

    def disable(self, actor: Actor, name: str) -> User:
        """An admin disables an account (``users.disable``: authorized, audited); its
        sessions end, so enabling it again does not bring an old cookie back."""
        user = self.users.disable(actor, name)
        with self.db.write() as session:
            store.remove_user(session, user.name)
        return user
