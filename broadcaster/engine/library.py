"""The bulletin library as the engine sees it at air time, and the approval gate.

The gate is the last thing between a file and a loudspeaker: it re-reads the script,
finds audio approved for exactly that content and checks the audio's bytes. Whatever the
planner or an operator booked, unapproved content stops here.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from broadcaster.config.scripts_loader import load_scripts
from broadcaster.core.model import Bulletin, Station
from broadcaster.i18n import _
from broadcaster.speech.render import sha256_file
from broadcaster.store.tables import Approval, Rendition


@dataclass(frozen=True)
class Cleared:
    """Audio the gate let through, and who approved it."""

    bulletin: Bulletin
    audio_path: Path
    audio_sha256: str
    duration_seconds: float
    approved_by: str


class Refused(Exception):
    """The gate said no; the message is the reason logged with the failed airing."""


def approved_rendition(session: Session, bulletin: Bulletin) -> tuple[Rendition, Approval] | None:
    """Newest rendition of the current script content that has an approval."""
    rows = session.exec(
        select(Rendition, Approval)
        .join(
            Approval,
            (Approval.bulletin_id == Rendition.bulletin_id)
            & (Approval.script_sha256 == Rendition.script_sha256)
            & (Approval.audio_sha256 == Rendition.audio_sha256),
        )
        .where(
            Rendition.bulletin_id == bulletin.id,
            Rendition.script_sha256 == bulletin.script_sha256,
        )
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ).first()
    return (rows[0], rows[1]) if rows else None


def latest_rendition(session: Session, bulletin: Bulletin) -> Rendition | None:
    return session.exec(
        select(Rendition)
        .where(
            Rendition.bulletin_id == bulletin.id,
            Rendition.script_sha256 == bulletin.script_sha256,
        )
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ).first()


def check_approval_signature(session: Session, root: Path, approval: Approval) -> None:
    """Refuse an approval the station key did not sign (a row inserted or edited in the
    database by someone without the key), or any approval when the key is unusable."""
    from broadcaster.store import signing  # the cryptography library, only at the gate

    try:
        key = signing.load_key(root)
    except signing.KeyProblem as exc:
        raise Refused(_("approval cannot be checked: {why}").format(why=exc)) from None
    assert key is not None
    problem = signing.approval_problem(session, approval, key.public_hex)
    if problem is not None:
        raise Refused(problem)


class Library:
    """Scripts re-read from disk when they change; audio hashes cached by file identity."""

    def __init__(self, root: Path, station: Station) -> None:
        self.root = root
        self.station = station
        self._lock = threading.Lock()
        self._stamp: tuple = ()
        self._bulletins: dict[str, Bulletin] = {}
        self._hashes: dict[tuple, str] = {}

    def _folder_stamp(self) -> tuple:
        folder = self.root / "scripts"
        try:
            return tuple(
                sorted(
                    (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.md")
                )
            )
        except OSError:
            return ()

    def bulletins(self) -> dict[str, Bulletin]:
        with self._lock:
            stamp = self._folder_stamp()
            if stamp != self._stamp:
                found, _problems = load_scripts(self.root, self.station)
                self._bulletins = {b.id: b for b in found}
                self._stamp = stamp
            return self._bulletins

    def file_sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._hashes.get(key)
        if cached is None:
            cached = sha256_file(path)
            with self._lock:
                self._hashes[key] = cached
        return cached

    def clear(self, session: Session, bulletin_id: str) -> Cleared:
        """The gate. Raises Refused with the reason the airing will be logged with."""
        bulletin = self.bulletins().get(bulletin_id)
        if bulletin is None:
            raise Refused(_("script '{id}' is missing or invalid").format(id=bulletin_id))
        script_path = self.root / bulletin.source_path
        try:
            current = hashlib.sha256(script_path.read_bytes()).hexdigest()
        except OSError:
            raise Refused(
                _("script file {path} is unreadable").format(path=bulletin.source_path)
            ) from None
        if current != bulletin.script_sha256:
            bulletin = self._reload(bulletin_id)
        found = approved_rendition(session, bulletin)
        if found is None:
            if session.exec(select(Approval).where(Approval.bulletin_id == bulletin_id)).first():
                raise Refused(_("not approved: the script or its audio changed after approval"))
            raise Refused(_("not approved"))
        rendition, approval = found
        check_approval_signature(session, self.root, approval)
        audio = self.root / rendition.audio_path
        if not audio.is_file():
            raise Refused(_("approved audio {path} is missing").format(path=rendition.audio_path))
        if self.file_sha256(audio) != rendition.audio_sha256:
            raise Refused(
                _("audio {path} differs from the approved audio (hash mismatch)").format(
                    path=rendition.audio_path
                )
            )
        return Cleared(
            bulletin,
            audio,
            rendition.audio_sha256,
            rendition.duration_seconds,
            approval.approved_by,
        )

    def _reload(self, bulletin_id: str) -> Bulletin:
        with self._lock:
            self._stamp = ()
        bulletin = self.bulletins().get(bulletin_id)
        if bulletin is None:
            raise Refused(_("script '{id}' is missing or invalid").format(id=bulletin_id))
        return bulletin
