"""``scripts/*.md`` -> :class:`broadcaster.core.model.Bulletin`, reporting every problem."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from pydantic import ValidationError

from broadcaster.config.schema import ScriptFrontMatter
from broadcaster.config.station_loader import (
    pydantic_problems,
    read_utf8,
    resolve_zones,
    station_file,
)
from broadcaster.config.yamlmarks import YamlSyntaxError, line_of, load_with_lines
from broadcaster.core.errors import Problem
from broadcaster.core.model import Bulletin, Priority, Station
from broadcaster.i18n import _

AUDIO_SUFFIXES = {".mp3", ".wav", ".m4a", ".ogg", ".flac"}
TTS_LANGUAGES = {"vi"}


# C0/C1 controls (a NUL, an escape, a form feed) but tab, line feed and carriage return;
# and the bidirectional overrides that make text read differently on screen than in TTS.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def first_control_character(text: str) -> tuple[int, int, str] | None:
    """(line, column, character) of the first character no script should contain."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    before = text[: found.start()]
    line = before.count("\n") + 1
    return line, found.start() - (before.rfind("\n") + 1) + 1, found.group()


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Return (front matter, body, line where the body starts) or None if there is none."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return None


def load_script(path: Path, root: Path, station: Station) -> tuple[Bulletin | None, list[Problem]]:
    display = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    text, problem = read_utf8(path, display)
    if problem:
        return None, [problem]
    assert text is not None
    parts = split_front_matter(text)
    if parts is None:
        return None, [
            Problem(
                _("no front matter: the file must start with a '---' line"), path=display, line=1
            )
        ]
    front, body, body_line = parts
    hidden = first_control_character(text)
    if hidden is not None:
        line, column, char = hidden
        return None, [
            Problem(
                _("control character U+{code:04X} at column {column}: remove it").format(
                    code=ord(char), column=column
                ),
                path=display,
                line=line,
            )
        ]
    try:
        data, lines = load_with_lines(front, line_offset=1)
    except YamlSyntaxError as exc:
        return None, [Problem(exc.message, path=display, line=exc.line, field=exc.field)]
    if not isinstance(data, dict):
        return None, [Problem(_("front matter must be a YAML mapping"), path=display, line=2)]
    try:
        fm = ScriptFrontMatter.model_validate(data)
    except ValidationError as exc:
        return None, pydantic_problems(exc, display, lines)

    problems: list[Problem] = []

    def bad(msg: str, field: str, line: int | None = None) -> None:
        problems.append(
            Problem(msg, path=display, line=line or line_of(lines, (field,)), field=field)
        )

    zone_ids, unknown = resolve_zones(fm.zones, list(station.zones))
    for name in unknown:
        bad(_("unknown zone '{zone}'").format(zone=name), "zones")
    if fm.valid_from and fm.valid_until and fm.valid_from > fm.valid_until:
        bad(_("valid_until is before valid_from"), "valid_until")
    body = body.strip("\n")
    if fm.audio is not None:
        audio_path, refused = station_file(root, fm.audio)
        if refused or audio_path is None:
            bad(refused or "?", "audio")
        elif Path(fm.audio).suffix.lower() not in AUDIO_SUFFIXES:
            bad(
                _("'{file}' is not an audio file ({kinds})").format(
                    file=fm.audio, kinds=", ".join(sorted(AUDIO_SUFFIXES))
                ),
                "audio",
            )
        elif not audio_path.is_file():
            bad(_("audio file '{file}' not found").format(file=fm.audio), "audio")
        elif audio_path.stat().st_size == 0:
            bad(_("audio file '{file}' is empty").format(file=fm.audio), "audio")
    else:
        if not body.strip():
            bad(_("the script has no text to read and no audio file"), "body", body_line)
        if fm.language not in TTS_LANGUAGES:
            bad(
                _("no TTS voice for language '{lang}': give a recorded 'audio:' file").format(
                    lang=fm.language
                ),
                "language",
            )
    if problems:
        return None, problems
    return (
        Bulletin(
            id=fm.id,
            title=fm.title,
            campaign=fm.campaign,
            tags=tuple(fm.tags),
            priority=Priority(fm.priority),
            valid_from=fm.valid_from,
            valid_until=fm.valid_until,
            zone_ids=zone_ids,
            language=fm.language,
            body=body,
            source_path=display,
            script_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            audio_file=fm.audio,
            body_line=body_line,
            repeat=fm.repeat,
            author=fm.author.strip() if fm.author else None,
        ),
        [],
    )


def key_line(path: Path, key: str) -> int | None:
    """The line of a front-matter key (for problems found after parsing)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class ScriptMemo:
    """Scripts read before, kept while their file (and a recorded bulletin's audio file)
    is unchanged: every page of the web station reads the scripts, and parsing a folder
    of them costs milliseconds a page, where looking at the files' identities costs
    microseconds. Only scripts without problems are kept (problems are worded in the
    reader's language and may come from other files), for one station configuration."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._station: Station | None = None
        self._kept: dict[Path, tuple[tuple[int, int, int], tuple | None, Bulletin]] = {}

    def get(self, path: Path, root: Path, station: Station) -> Bulletin | None:
        with self._lock:
            if self._station is not station:
                self._station, self._kept = station, {}
                return None
            found = self._kept.get(path)
        if found is None or found[0] != _identity(path):
            return None
        kept_audio, bulletin = found[1], found[2]
        if bulletin.audio_file and kept_audio != _identity(root / bulletin.audio_file):
            return None
        return bulletin

    def keep(
        self,
        path: Path,
        identity: tuple[int, int, int],
        root: Path,
        station: Station,
        bulletin: Bulletin,
    ) -> None:
        """``identity`` is the file's, taken before it was read: a file changed while it
        was read is read again next time."""
        audio = _identity(root / bulletin.audio_file) if bulletin.audio_file else None
        with self._lock:
            if self._station is station:
                self._kept[path] = (identity, audio, bulletin)


def load_scripts(
    root: Path, station: Station, memo: ScriptMemo | None = None
) -> tuple[list[Bulletin], list[Problem]]:
    """Every script, in file-name order; duplicates and broken files become problems.
    With a ``memo``, unchanged scripts read before are not parsed again."""
    bulletins: list[Bulletin] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    folder = root / "scripts"
    if not folder.is_dir():
        return [], [Problem(_("no scripts/ folder"), path="scripts")]
    for path in sorted(folder.glob("*.md")):
        bulletin = memo.get(path, root, station) if memo is not None else None
        if bulletin is None:
            before = _identity(path) if memo is not None else None
            bulletin, found = load_script(path, root, station)
            problems.extend(found)
            if bulletin is None:
                continue
            if memo is not None and before is not None:
                memo.keep(path, before, root, station, bulletin)
        if bulletin.id in seen:
            problems.append(
                Problem(
                    _("duplicate bulletin id '{id}' (also in {other})").format(
                        id=bulletin.id, other=seen[bulletin.id]
                    ),
                    path=bulletin.source_path,
                    field="id",
                    line=key_line(path, "id"),
                )
            )
            continue
        seen[bulletin.id] = bulletin.source_path
        bulletins.append(bulletin)
    return bulletins, problems
