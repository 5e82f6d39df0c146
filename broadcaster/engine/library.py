"""The bulletin library as the engine sees it at air time, and the approval gate.

The gate is the last thing between a file and a loudspeaker: it re-reads the script,
finds audio approved for exactly that content and checks the audio's bytes. Whatever the
planner or an operator booked, unapproved content stops here.

Outputs never play the rendition itself: the gate hashes the rendition *while copying it*
into a private, read-only file of its own (``.broadcaster/air/`` under the station, a
folder only the station's user may enter) and hands the outputs that copy. What airs is
then exactly the bytes that were hashed, whatever happens to the rendition afterwards
(overwritten in place, swapped during the slot), and no output file shares an inode with
the rendition or with the copy.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from broadcaster.config.scripts_loader import load_scripts
from broadcaster.core.model import Bulletin, Station
from broadcaster.i18n import N_
from broadcaster.store.approvals import approved_rendition, ever_approved
from broadcaster.store.db import Session
from broadcaster.store.tables import Approval


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


def check_approval_signature(session: Session, root: Path, approval: Approval) -> None:
    """Refuse an approval the station key did not sign (a row inserted or edited in the
    database by someone without the key), or any approval when the key is unusable."""
    from broadcaster.store import signing  # the cryptography library, only at the gate

    try:
        key = signing.load_key(root)
    except signing.KeyProblem as exc:
        raise Refused(N_("approval cannot be checked: {why}").format(why=exc)) from None
    assert key is not None
    problem = signing.approval_problem(session, approval, key.public_hex)
    if problem is not None:
        raise Refused(problem)


PRIVATE_DIR = Path(".broadcaster") / "air"
CHUNK = 1 << 20


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What changes when a file's bytes may have changed. The ctime is in it because an
    in-place overwrite cannot restore it (mtime and size can be restored by anyone)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def private_folder(root: Path) -> Path:
    """The station's own folder for the copies it airs: created 0700, refused when it is a
    link, not a folder, or owned by another user (someone could swap files in it)."""
    folder = root / PRIVATE_DIR
    for part in (folder.parent, folder):
        try:
            part.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise Refused(
                N_("cannot create {path}: {err}").format(path=part, err=exc.strerror)
            ) from None
        st = os.lstat(part)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise Refused(
                N_("{path} is not a folder owned by the station's user").format(path=part)
            )
        if st.st_mode & 0o077:
            os.chmod(part, 0o700)
    return folder


def copy_hashing(source: Path, folder: Path, expected_sha256: str, shown: str = "") -> Path:
    """Copy ``source`` into a new read-only file in ``folder``, hashing the bytes as they
    are written; keep it only if they are the approved bytes.

    The copy is made under a fresh random name (O_EXCL, never following a link) and then
    renamed to ``<sha256><suffix>``, so a player still reading an earlier copy keeps its
    own inode and the name always holds approved bytes."""
    digest = hashlib.sha256()
    tmp = folder / f".{secrets.token_hex(8)}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        src = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Refused(
            N_("approved audio {path} is unreadable: {err}").format(
                path=shown or source, err=exc.strerror
            )
        ) from None
    try:
        dst = os.open(tmp, flags, 0o600)
        try:
            while chunk := os.read(src, CHUNK):
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view) :]
            os.fchmod(dst, 0o400)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    if digest.hexdigest() != expected_sha256:
        tmp.unlink(missing_ok=True)
        raise Refused(
            N_("audio {path} differs from the approved audio (hash mismatch)").format(
                path=shown or source
            )
        )
    target = folder / f"{expected_sha256}{source.suffix}"
    os.replace(tmp, target)
    return target


class Library:
    """Scripts re-read from disk when they change; approved audio copied (and hashed on
    the way) into private files, re-copied whenever the rendition's identity changes."""

    def __init__(self, root: Path, station: Station) -> None:
        self.root = root
        self.station = station
        self._lock = threading.Lock()
        self._stamp: tuple = ()
        self._bulletins: dict[str, Bulletin] = {}
        # approved hash -> (rendition identity, private copy, the copy's identity)
        self._copies: dict[str, tuple[tuple, Path, tuple]] = {}

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

    def aired_copy(self, audio: Path, approved_sha256: str, shown: str = "") -> Path:
        """The private copy of ``audio`` holding exactly the approved bytes.

        Reused while neither the rendition nor the copy changed identity since this
        process made it; otherwise copied (and hashed) again. A rendition altered in place
        changes its ctime, so it is read again and refused; the copy made before it was
        altered is never touched by that."""
        try:
            source_id = _identity(os.stat(audio))
        except OSError:
            raise Refused(
                N_("approved audio {path} is missing").format(path=shown or audio)
            ) from None
        with self._lock:
            known = self._copies.get(approved_sha256)
        if known is not None and known[0] == source_id:
            try:
                if _identity(os.lstat(known[1])) == known[2]:
                    return known[1]
            except OSError:
                pass
        copy = copy_hashing(audio, private_folder(self.root), approved_sha256, shown)
        with self._lock:
            self._copies[approved_sha256] = (source_id, copy, _identity(os.lstat(copy)))
        return copy

    def clear(self, session: Session, bulletin_id: str) -> Cleared:
        """The gate. Raises Refused with the reason the airing will be logged with."""
        bulletin = self.bulletins().get(bulletin_id)
        if bulletin is None:
            raise Refused(N_("script '{id}' is missing or invalid").format(id=bulletin_id))
        script_path = self.root / bulletin.source_path
        try:
            current = hashlib.sha256(script_path.read_bytes()).hexdigest()
        except OSError:
            raise Refused(
                N_("script file {path} is unreadable").format(path=bulletin.source_path)
            ) from None
        if current != bulletin.script_sha256:
            bulletin = self._reload(bulletin_id)
        found = approved_rendition(session, bulletin)
        if found is None:
            if ever_approved(session, bulletin_id):
                raise Refused(N_("not approved: the script or its audio changed after approval"))
            raise Refused(N_("not approved"))
        rendition, approval = found
        check_approval_signature(session, self.root, approval)
        audio = self.root / rendition.audio_path
        if not audio.is_file():
            raise Refused(N_("approved audio {path} is missing").format(path=rendition.audio_path))
        copy = self.aired_copy(audio, rendition.audio_sha256, rendition.audio_path)
        return Cleared(
            bulletin,
            copy,
            rendition.audio_sha256,
            rendition.duration_seconds,
            approval.approved_by,
        )

    def _reload(self, bulletin_id: str) -> Bulletin:
        with self._lock:
            self._stamp = ()
        bulletin = self.bulletins().get(bulletin_id)
        if bulletin is None:
            raise Refused(N_("script '{id}' is missing or invalid").format(id=bulletin_id))
        return bulletin
