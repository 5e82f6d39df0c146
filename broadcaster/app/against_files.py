"""``log verify --against FILE``: a log head taken out of the station earlier.

Three kinds of file carry one: an exported signed head (``broadcaster log head
--export``), a JSON report (``log_head_count``/``log_head_hash``, and the signed head
when the station had a key), and an evidence pack (its signed head, else its
verification record). Whatever the file, the check is the same (store/signing.py):
the log must still hold that many entries, with that hash at that count.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _
from broadcaster.store import signing

MAX_FILE = 512 * 1024 * 1024
PACK_HEAD = "dau-chuoi-nhat-ky-da-ky.json"
PACK_VERIFY = "kiem-tra-nhat-ky.json"


@dataclass
class Reference:
    path: Path
    kind: str  # "exported head" | "JSON report" | "evidence pack"
    count: int
    head_hash: str
    signed_at: datetime | None
    signed: signing.SignedLogHead | None

    @property
    def label(self) -> str:
        return f"{self.path.name} ({self.kind}, {self.count} entries)"

    def describe(self) -> str:
        who = (
            _("signed by key {fp}").format(fp=signing.fingerprint(self.signed.public_key))
            if self.signed is not None and _hex(self.signed.public_key)
            else _("unsigned")
        )
        return f"{self.label}, {self.head_hash[:16]}, {who}"

    def problems(self, station_public_key: str | None) -> list[str]:
        """The file's own signature (if it has one) must verify. A file signed by a key
        that is not the station's current one is named, not refused: after a rotation,
        heads exported earlier are still good checkpoints."""
        if self.signed is None:
            return []
        if not signing.head_signature_ok(self.signed):
            return [
                _("{label}: its signature does not verify (the file was edited)").format(
                    label=self.label
                )
            ]
        if (self.signed.count, self.signed.head_hash) != (self.count, self.head_hash):
            return [
                _("{label}: the signed head differs from the file's figures").format(
                    label=self.label
                )
            ]
        return []


def read_reference(path: Path) -> Reference:
    """The head recorded in ``path``, or one clear error naming the file."""
    try:
        if path.stat().st_size > MAX_FILE:
            raise BroadcasterError(_("too large to be a head, report or pack"), path=str(path))
        if zipfile.is_zipfile(path):
            return _from_pack(path)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BroadcasterError(_("file not found"), path=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BroadcasterError(
            _("not a log head, JSON report or evidence pack: {why}").format(why=_short(exc)),
            path=str(path),
        ) from None
    return _from_json(path, data)


def _from_json(path: Path, data: Any) -> Reference:
    if not isinstance(data, dict):
        raise BroadcasterError(_("not a log head, JSON report or evidence pack"), path=str(path))
    head = signing.head_from_json(data)
    if head is not None:
        return Reference(path, _("exported head"), head.count, head.head_hash, head.signed_at, head)
    if "log_head_count" in data and "log_head_hash" in data:
        signed = data.get("log_head_signed")
        head = signing.head_from_json(signed) if isinstance(signed, dict) else None
        count, head_hash = _count(data["log_head_count"], path), str(data["log_head_hash"])
        when = head.signed_at if head is not None else _when(data.get("generated_at"))
        return Reference(path, _("JSON report"), count, head_hash, when, head)
    raise BroadcasterError(
        _("not a log head, JSON report or evidence pack (no log head in it)"), path=str(path)
    )


def _from_pack(path: Path) -> Reference:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if PACK_HEAD in names:
                data = json.loads(z.read(PACK_HEAD).decode("utf-8"))
                head = signing.head_from_json(data) if isinstance(data, dict) else None
                if head is None:
                    raise BroadcasterError(
                        _("the pack's signed head is unreadable"), path=str(path)
                    )
                return Reference(
                    path, _("evidence pack"), head.count, head.head_hash, head.signed_at, head
                )
            if PACK_VERIFY in names:
                data = json.loads(z.read(PACK_VERIFY).decode("utf-8"))
                if isinstance(data, dict) and "entries" in data and "head_hash" in data:
                    return Reference(
                        path,
                        _("evidence pack"),
                        _count(data["entries"], path),
                        str(data["head_hash"]),
                        _when(data.get("checked_at")),
                        None,
                    )
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BroadcasterError(
            _("unreadable evidence pack: {why}").format(why=_short(exc)), path=str(path)
        ) from None
    raise BroadcasterError(_("an archive, but not an evidence pack"), path=str(path))


def _count(value: Any, path: Path) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BroadcasterError(_("the log head's count is not a number"), path=str(path))
    return value


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.removesuffix("Z"))
    except ValueError:
        return None


def _hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
