"""The station key: Ed25519 signatures on what a writer of the database must not forge.

The database proves nothing against someone who can write it: they can insert an
approval row, or edit the log and recompute every later hash and the head. What they do
not have is the station's private key, kept in a file outside the database (0600, and
refused if others can read it). Signed with it:

- **approvals** (``approval_signature``): the approval gate refuses an approval whose
  signature does not verify, so a row inserted into ``station.db`` never airs;
- **log heads** (``signed_log_head``, a transparency log's "signed tree head": count,
  newest hash, time, signature), made periodically by the daemon and on demand, stored
  here and exportable to a file kept elsewhere. ``log verify --against FILE`` checks the
  database against such a file: a rewritten history no longer contains the exported
  head.

Every signed message starts with its own domain label, so a signature over one kind of
thing can never be presented as another.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from broadcaster.core.errors import BroadcasterError
from broadcaster.core.timeutil import as_utc
from broadcaster.i18n import _
from broadcaster.store.signed_tables import ApprovalSignature, SignedLogHead
from broadcaster.store.tables import Approval, LogEntry

# The cryptography library is imported where a key is made, loaded or checked: a command
# that never touches the station key does not pay for it at start-up (issue 15).
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

KEY_FILE = "secrets/station.key"
KEY_ENV = "BROADCASTER_STATION_KEY"
APPROVAL_DOMAIN = b"broadcaster approval v1\n"
HEAD_DOMAIN = b"broadcaster log head v1\n"
HEAD_FILE_TYPE = "broadcaster-signed-log-head"


# -- the key file --------------------------------------------------------------------------
class KeyProblem(BroadcasterError):
    """The station key is missing, unreadable, or readable by others."""


def key_path(root: Path) -> Path:
    """``$BROADCASTER_STATION_KEY`` if set, else ``<station>/secrets/station.key``."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else root / path
    return root / KEY_FILE


@dataclass(frozen=True)
class StationKey:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public_hex(self) -> str:
        return public_hex(self.private.public_key())

    def sign(self, domain: bytes, message: dict[str, Any]) -> str:
        return self.private.sign(domain + canonical(message)).hex()


def public_hex(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def fingerprint(public_key_hex: str) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


def create_key(root: Path) -> StationKey:
    """Make a new station key file, 0600 from its first byte (never overwrites)."""
    path = key_path(root)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise KeyProblem(
            _("a station key already exists; refusing to replace it"), path=str(path)
        ) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return StationKey(private, path)


def load_key(root: Path, *, required: bool = True) -> StationKey | None:
    """The station key, or None when there is none and it is not ``required``.

    Refused (never silently used) when group or others may read it, or when it is not a
    regular file: a key anyone on the machine can read signs nothing worth trusting.
    """
    path = key_path(root)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not required:
            return None
        raise KeyProblem(
            _("no station key: run 'broadcaster keys init' (see docs/SECURITY.md)"),
            path=str(path),
        ) from None
    except OSError as exc:
        raise KeyProblem(
            _("cannot open the station key: {why}").format(why=exc.strerror or exc),
            path=str(path),
        ) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyProblem(_("the station key is not a regular file"), path=str(path))
        if info.st_mode & 0o077:
            raise KeyProblem(
                _(
                    "the station key is readable by others (mode {mode}): "
                    "chmod 600 it, and rotate it if anyone may have copied it"
                ).format(mode=oct(info.st_mode & 0o777)),
                path=str(path),
            )
        data = fh.read(64 * 1024)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyProblem(_("not an Ed25519 private key (PEM)"), path=str(path)) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyProblem(_("not an Ed25519 private key (PEM)"), path=str(path))
    return StationKey(private, path)


def canonical(message: dict[str, Any]) -> bytes:
    return json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def signature_ok(public_key_hex: str, domain: bytes, message: dict[str, Any], sig: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        public.verify(bytes.fromhex(sig), domain + canonical(message))
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _iso(value: datetime) -> str:
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# -- approvals -----------------------------------------------------------------------------
def approval_message(approval: Approval) -> dict[str, Any]:
    """What an approval's signature covers: every field of the row but its id (ids are
    what a forger renumbers; the content is what airs)."""
    return {
        "bulletin_id": approval.bulletin_id,
        "script_sha256": approval.script_sha256,
        "audio_sha256": approval.audio_sha256,
        "approved_by": approval.approved_by,
        "approved_at": _iso(approval.approved_at),
    }


def sign_approval(session: Session, approval: Approval, key: StationKey, now: datetime) -> None:
    """Store the key's signature of an approval (in the caller's transaction)."""
    assert approval.id is not None
    session.merge(
        ApprovalSignature(
            approval_id=approval.id,
            public_key=key.public_hex,
            signature=key.sign(APPROVAL_DOMAIN, approval_message(approval)),
            signed_at=as_utc(now),
        )
    )


def approval_problem(session: Session, approval: Approval, public_key_hex: str) -> str | None:
    """Why this approval is not the station's, or None if its signature verifies."""
    row = session.get(ApprovalSignature, approval.id)
    if row is None:
        return _("approval {id} carries no station signature").format(id=approval.id)
    if row.public_key != public_key_hex:
        return _("approval {id} was signed by another key ({fp})").format(
            id=approval.id, fp=fingerprint(row.public_key) if _hex64(row.public_key) else "?"
        )
    if not signature_ok(public_key_hex, APPROVAL_DOMAIN, approval_message(approval), row.signature):
        return _("approval {id}: its signature does not verify (forged or edited)").format(
            id=approval.id
        )
    return None


def _hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


# -- signed log heads ------------------------------------------------------------------------
def head_message(station_id: str, count: int, head_hash: str, signed_at: datetime) -> dict:
    return {
        "station": station_id,
        "count": count,
        "head_hash": head_hash,
        "signed_at": _iso(signed_at),
    }


def make_head(
    key: StationKey, station_id: str, count: int, head_hash: str, now: datetime
) -> SignedLogHead:
    return SignedLogHead(
        station_id=station_id,
        count=count,
        head_hash=head_hash,
        signed_at=as_utc(now),
        public_key=key.public_hex,
        signature=key.sign(HEAD_DOMAIN, head_message(station_id, count, head_hash, now)),
    )


def store_head(session: Session, head: SignedLogHead) -> SignedLogHead:
    session.add(head)
    session.flush()
    return head


def head_signature_ok(head: SignedLogHead) -> bool:
    return signature_ok(
        head.public_key,
        HEAD_DOMAIN,
        head_message(head.station_id, head.count, head.head_hash, head.signed_at),
        head.signature,
    )


def stored_heads(session: Session) -> list[SignedLogHead]:
    return list(session.exec(select(SignedLogHead).order_by(SignedLogHead.id)).all())


def head_to_json(head: SignedLogHead) -> dict[str, Any]:
    """The exported form: everything needed to check it without the station."""
    return {
        "type": HEAD_FILE_TYPE,
        "version": 1,
        "station": head.station_id,
        "count": head.count,
        "head_hash": head.head_hash,
        "signed_at": _iso(head.signed_at),
        "public_key": head.public_key,
        "signature": head.signature,
        "signed_message": (
            HEAD_DOMAIN
            + canonical(head_message(head.station_id, head.count, head.head_hash, head.signed_at))
        ).decode("utf-8"),
    }


def head_from_json(data: dict[str, Any]) -> SignedLogHead | None:
    """An exported head read back (None if it is not one)."""
    if data.get("type") != HEAD_FILE_TYPE:
        return None
    try:
        signed_at = datetime.fromisoformat(str(data["signed_at"]).removesuffix("Z"))
        return SignedLogHead(
            station_id=str(data["station"]),
            count=int(data["count"]),
            head_hash=str(data["head_hash"]),
            signed_at=signed_at,
            public_key=str(data["public_key"]),
            signature=str(data["signature"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


# -- checking the log against a head made earlier --------------------------------------------
def check_against(
    session: Session, count: int, head_hash: str, signed_at: datetime | None, label: str
) -> list[str]:
    """Problems if the log no longer contains the head (count, hash) seen at ``signed_at``.

    A log rewritten after that head was taken (an entry edited and every later hash
    recomputed, entries deleted and renumbered) has another hash at that count; one cut
    back has fewer entries; an entry appended later but dated before the head (a forged
    airing "recorded" back then) was not in it although it claims it should have been.
    """
    problems = []
    total = session.exec(select(LogEntry.seq).order_by(LogEntry.seq.desc()).limit(1)).first() or 0
    if count == 0:
        return problems
    if total < count:
        problems.append(
            _("{label}: it records {count} entries, the log now has {total}").format(
                label=label, count=count, total=total
            )
        )
        return problems
    entry = session.get(LogEntry, count)
    if entry is None or entry.entry_hash != head_hash:
        problems.append(
            _(
                "{label}: entry {count} had hash {want}, the log now has {got}: "
                "history before it was rewritten"
            ).format(
                label=label,
                count=count,
                want=head_hash[:16],
                got=(entry.entry_hash[:16] if entry else "nothing"),
            )
        )
    if signed_at is not None:
        late = session.exec(
            select(LogEntry)
            .where(LogEntry.seq > count, LogEntry.recorded_at < as_utc(signed_at))
            .order_by(LogEntry.seq)
            .limit(5)
        ).all()
        for e in late:
            problems.append(
                _(
                    "{label}: entry {seq} is dated {at}, before that head was signed, "
                    "but comes after it: appended later with a false date"
                ).format(label=label, seq=e.seq, at=_iso(e.recorded_at))
            )
    return problems
