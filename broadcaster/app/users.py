"""User accounts: adding people, their passwords and roles, and signing them in.

Passwords are hashed with argon2id (argon2-cffi); no password exists until an admin types
one, and none is ever stored or logged in clear. Every change, every refusal and every
sign-in (good or bad) is in the audit trail, written in the change's own transaction.
Repeated failed sign-ins lock the name out for a while, whether or not it exists, so the
lockout does not tell which names are real.
"""

from __future__ import annotations

import contextlib
import secrets
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail, Clock, Result
from broadcaster.app.permissions import Action, PermissionDenied, authorize, roles_used
from broadcaster.app.roles import Role
from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _
from broadcaster.store import users as store
from broadcaster.store.db import Database

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_NAME = 64


@dataclass(frozen=True)
class User:
    """A user as every face sees one (no password hash)."""

    name: str
    full_name: str
    roles: frozenset[Role]
    zones: frozenset[str] | None  # None: every zone
    disabled: bool
    created_at: datetime
    changed_at: datetime

    def actor(self, face: str, address: str = "") -> Actor:
        """The actor this user is once signed in on ``face``."""
        return Actor(self.name, self.roles, face=face, address=address, zones=self.zones)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "full_name": self.full_name,
            "roles": sorted(r.value for r in self.roles),
            "zones": sorted(self.zones) if self.zones is not None else None,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
            "changed_at": self.changed_at.isoformat(),
        }


class AuthenticationFailed(BroadcasterError):
    """Wrong name or password, a disabled account, or a locked-out name."""


def _user(row: store.StoredUser) -> User:
    known = {r.value for r in Role}
    return User(
        name=row.name,
        full_name=row.full_name,
        roles=frozenset(Role(r) for r in row.roles if r in known),
        zones=frozenset(row.zones) if row.zones is not None else None,
        disabled=row.disabled,
        created_at=row.created_at,
        changed_at=row.changed_at,
    )


def check_name(name: str) -> str:
    """A user name as stored: NFC, no control or invisible characters, no ':'.

    ':' is kept for the shell's own ``cli:<os user>``, so no account can pass for it.
    """
    name = unicodedata.normalize("NFC", name)
    if not name.strip():
        raise BroadcasterError(_("a user name cannot be empty"), field="name")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BroadcasterError(_("a user name cannot contain control characters"), field="name")
    if name != name.strip() or ":" in name:
        raise BroadcasterError(
            _("a user name cannot contain ':' or start or end with a space"), field="name"
        )
    if len(name) > MAX_NAME:
        raise BroadcasterError(
            _("a user name is at most {n} characters").format(n=MAX_NAME), field="name"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BroadcasterError(
            _("the password is too short: at least {n} characters").format(n=MIN_PASSWORD),
            field="password",
        )
    if len(password) > MAX_PASSWORD:
        raise BroadcasterError(
            _("the password is too long: at most {n} characters").format(n=MAX_PASSWORD),
            field="password",
        )
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise BroadcasterError(
            _("the password cannot contain control characters"), field="password"
        )
    return password


class UserService:
    """The users of one station's database; every method that changes takes an actor."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        known_zones: Collection[str] | None = None,
        lockout_attempts: int = 5,
        lockout_minutes: int = 15,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.trail = AuditTrail(db, clock)
        self.known_zones = frozenset(known_zones) if known_zones is not None else None
        self.lockout_attempts = lockout_attempts
        self.lockout = timedelta(minutes=lockout_minutes)
        self.hasher = hasher or PasswordHasher()  # argon2id, the library's tuned defaults
        self._dummy_hash: str | None = None

    # -- reading -------------------------------------------------------------------

    def list(self) -> list[User]:
        with self.db.read() as session:
            return [_user(r) for r in store.all_users(session)]

    def last_sign_ins(self) -> dict[str, datetime]:
        """Each user's latest successful sign-in (from the audit trail)."""
        return self.trail.last_sign_ins()

    def get(self, name: str) -> User:
        with self.db.read() as session:
            row = store.get(session, name)
        if row is None:
            raise self._no_such(name)
        return _user(row)

    # -- changing ------------------------------------------------------------------

    def add(
        self,
        actor: Actor,
        name: str,
        password: str,
        roles: Iterable[Role],
        *,
        full_name: str = "",
        zones: Collection[str] | None = None,
    ) -> User:
        self._authorize(actor, name)
        name = check_name(name)
        check_password(password)
        roles = frozenset(roles)
        zones = self._check_zones(zones)
        password_hash = self.hasher.hash(password)
        with self.db.write() as session:
            if store.get(session, name) is not None:
                raise BroadcasterError(
                    _("a user named '{name}' already exists").format(name=name), field="name"
                )
            row = store.insert(
                session,
                name=name,
                full_name=full_name.strip()[:128],
                password_hash=password_hash,
                roles=[r.value for r in roles],
                zones=zones,
                now=self.clock.now(),
            )
            self.trail.record(
                actor,
                "users.add",
                name,
                Result.OK,
                _describe(roles, zones),
                session=session,
                roles=roles_used(actor, Action.USERS_MANAGE),
            )
        return _user(row)

    def passwd(self, actor: Actor, name: str, password: str) -> User:
        """A new password; a user may change their own without being an admin."""
        if actor.who != name:
            self._authorize(actor, name)
        check_password(password)
        password_hash = self.hasher.hash(password)
        with self.db.write() as session:
            row = store.update(session, name, self.clock.now(), password_hash=password_hash)
            if row is None:
                raise self._no_such(name)
            store.clear_failures(session, name)
            self.trail.record(
                actor,
                "users.passwd",
                name,
                Result.OK,
                "",
                session=session,
                roles=roles_used(actor, Action.USERS_MANAGE),
            )
        return _user(row)

    def set_roles(
        self,
        actor: Actor,
        name: str,
        *,
        set_to: Iterable[Role] | None = None,
        add: Iterable[Role] = (),
        remove: Iterable[Role] = (),
        zones: Collection[str] | bool | None = False,
    ) -> User:
        """Replace, extend or cut a user's roles; ``zones`` (False: unchanged) limits them."""
        self._authorize(actor, name)
        if zones is not False:
            zones = self._check_zones(zones)  # type: ignore[arg-type]
        with self.db.write() as session:
            current = store.get(session, name)
            if current is None:
                raise self._no_such(name)
            roles = set(set_to) if set_to is not None else set(_user(current).roles)
            roles = (roles | set(add)) - set(remove)
            row = store.update(
                session, name, self.clock.now(), roles=[r.value for r in roles], zones=zones
            )
            assert row is not None
            user = _user(row)
            self.trail.record(
                actor,
                "users.roles",
                name,
                Result.OK,
                _describe(user.roles, user.zones),
                session=session,
                roles=roles_used(actor, Action.USERS_MANAGE),
            )
        return user

    def demo_account(
        self, actor: Actor, name: str = "demo", roles: Iterable[Role] | None = None
    ) -> tuple[User, str]:
        """An account to try the station with, and its password: generated here (never a
        default one), shown once to whoever made it. The account is made if missing, else
        given a new password; by default every role but admin."""
        password = secrets.token_urlsafe(12)
        wanted = frozenset(roles) if roles is not None else frozenset(Role) - {Role.ADMIN}
        try:
            self.get(name)
        except BroadcasterError:
            return self.add(actor, name, password, wanted, full_name=name), password
        self.set_roles(actor, name, set_to=wanted)
        self.enable(actor, name)
        return self.passwd(actor, name, password), password

    def disable(self, actor: Actor, name: str) -> User:
        return self._set_disabled(actor, name, True)

    def enable(self, actor: Actor, name: str) -> User:
        return self._set_disabled(actor, name, False)

    # -- signing in ----------------------------------------------------------------

    def authenticate(self, name: str, password: str, *, face: str, address: str = "") -> User:
        """The user if the password is right and the name neither disabled nor locked out.

        Every answer takes an argon2 verification (a dummy one for unknown names) and
        every failure gets the same message, so neither timing nor wording tells which
        names exist. A success clears the name's failures.
        """
        who = unicodedata.normalize("NFC", name)[:MAX_NAME]
        visitor = Actor(who, frozenset(), face=face, address=address)
        now = self.clock.now()
        with self.db.write() as session:
            since = now - self.lockout
            if store.failures_since(session, who, since) >= self.lockout_attempts:
                first = store.oldest_failure_since(session, who, since) or now
                minutes = max(1, int(((first + self.lockout) - now).total_seconds() // 60) + 1)
                self.trail.record(
                    visitor, Action.LOGIN, who, Result.REFUSED, "locked out", session=session
                )
                refusal = AuthenticationFailed(
                    _("too many failed sign-ins for '{name}': try again in {m} minutes").format(
                        name=who, m=minutes
                    )
                )
            else:
                row = store.get(session, who)
                reason = self._verify(row, password)
                if reason is None and row is not None:
                    self._rehash_if_needed(session, row, password, now)
                    store.clear_failures(session, who)
                    user = _user(row)
                    self.trail.record(
                        user.actor(face, address),
                        Action.LOGIN,
                        who,
                        Result.OK,
                        "",
                        session=session,
                    )
                    return user
                store.record_failure(session, who, now)
                self.trail.record(
                    visitor, Action.LOGIN, who, Result.REFUSED, reason or "", session=session
                )
                refusal = AuthenticationFailed(_("wrong user name or password"))
        raise refusal

    # -- helpers -------------------------------------------------------------------

    def _verify(self, row: store.StoredUser | None, password: str) -> str | None:
        """None when the password is right; else why not (for the audit trail only)."""
        if row is None:
            self._verify_dummy(password)
            return "unknown user"
        try:
            self.hasher.verify(row.password_hash, password)
        except VerifyMismatchError:
            return "wrong password"
        except (VerificationError, InvalidHashError):
            return "unreadable password hash"
        if row.disabled:
            return "account disabled"
        return None

    def _verify_dummy(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not a password: only spends the time")
        with contextlib.suppress(VerificationError):
            self.hasher.verify(self._dummy_hash, password)

    def _rehash_if_needed(self, session, row: store.StoredUser, password: str, now) -> None:
        if self.hasher.check_needs_rehash(row.password_hash):
            store.update(session, row.name, now, password_hash=self.hasher.hash(password))

    def _set_disabled(self, actor: Actor, name: str, disabled: bool) -> User:
        self._authorize(actor, name)
        with self.db.write() as session:
            row = store.update(session, name, self.clock.now(), disabled=disabled)
            if row is None:
                raise self._no_such(name)
            action = "users.disable" if disabled else "users.enable"
            self.trail.record(
                actor,
                action,
                name,
                Result.OK,
                "",
                session=session,
                roles=roles_used(actor, Action.USERS_MANAGE),
            )
        return _user(row)

    def _authorize(self, actor: Actor, target: str) -> None:
        try:
            authorize(actor, Action.USERS_MANAGE)
        except PermissionDenied as exc:
            self.trail.refuse(actor, exc, target)
            raise

    def _check_zones(self, zones: Collection[str] | None) -> frozenset[str] | None:
        if zones is None:
            return None
        zones = frozenset(z.strip() for z in zones if z.strip())
        if not zones:
            return None
        if self.known_zones is not None:
            unknown = sorted(zones - self.known_zones)
            if unknown:
                raise BroadcasterError(
                    _("no zone {zones} in the station (zones: {known})").format(
                        zones=", ".join(unknown), known=", ".join(sorted(self.known_zones))
                    ),
                    field="zones",
                )
        return zones

    @staticmethod
    def _no_such(name: str) -> BroadcasterError:
        return BroadcasterError(_("no user named '{name}'").format(name=name), field="name")


def generate_password() -> str:
    """A new random password to hand over once (100 bits, easy to read out: no
    0/O or 1/l), grouped by dashes; it passes :func:`check_password`."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    groups = ["".join(secrets.choice(alphabet) for _i in range(5)) for _j in range(4)]
    return "-".join(groups)


def _describe(roles: Iterable[Role], zones: Collection[str] | None) -> str:
    text = "roles=" + ",".join(sorted(r.value for r in roles))
    return text + (f" zones={','.join(sorted(zones))}" if zones else "")
