"""``broadcaster init DIR``: a new station folder, valid from its first minute.

A new commune starts from a folder that ``check`` already accepts: the station itself as
its one zone, the file output, quiet hours at night, no sessions and no requirements yet
(those are the commune's own plan, added in ``station.yaml`` or on the web station's
settings page). The file is written for a person to read and edit: comments say what
each part is for, as in the sample station.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadcaster.app.context import load_config
from broadcaster.core.errors import ConfigErrors, FieldProblem, UsageProblem
from broadcaster.i18n import _

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

_TEMPLATE = """\
# {name}: made by `broadcaster init`.
# Add the loudspeaker clusters under zones:, the weekly sessions under sessions: and the
# plan's requirements under requirements:, write bulletins as scripts/*.md, then run
# `broadcaster check` (the sample station in the broadcaster repository shows every part).
station:
  id: {id}  # slug [a-z0-9-]
  name: {name_yaml}
  timezone: {timezone}
  tts: [gtts, espeak]             # TTS preference chain: first that works wins
  grace_minutes: 20               # how late an airing may still start
  language: vi                    # of the messages: vi | en

quiet_hours:                      # no non-emergency airing may start inside these
  - {{start: "21:30", end: "05:00"}}

outputs:                          # named outputs; zones refer to them by name
  files: {{type: file, dir: out}}

zones:
  # The commune station itself; clusters are added as kind: cluster
  - {{id: {station_zone}, name: {name_yaml}, kind: station, output: files}}

sessions: []                      # weekly windows, e.g.
  # - {{id: sang, zones: all, days: [mon, tue, wed, thu, fri], start: "06:00", max_minutes: 15}}

requirements: []                  # the plan's minimums, e.g.
  # - {{id: nq57-hang-tuan, title: "...", campaign: nq57, min: 1, per: week, zones: all}}

sources: []                       # programmes the zones relay (tiếp sóng): url http(s)://
                                  # or device:NAME (a sound card), optional backup_url, e.g.
  # - {{id: vov1, name: "Đài Tiếng nói Việt Nam (VOV1)", url: "https://..."}}

relays: []                        # weekly relay windows (count against a session's cap), e.g.
  # - {{source: vov1, zones: all, days: [mon, tue, wed, thu, fri], start: "05:00", end: "05:30"}}
"""


@dataclass(frozen=True)
class NewStation:
    root: Path
    station_id: str
    name: str
    files: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "id": self.station_id,
            "name": self.name,
            "files": list(self.files),
        }


def slug_of(name: str) -> str:
    """An id from a Vietnamese name, without what every station's name starts with:
    'Đài truyền thanh xã Tân Kỳ' -> 'xa-tan-ky'."""
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    letters = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in letters).split()
    if words[:3] == ["dai", "truyen", "thanh"] and len(words) > 3:
        words = words[3:]
    return "-".join(words)[:60].strip("-")


def init_station(
    root: Path, name: str, station_id: str | None = None, timezone: str = DEFAULT_TIMEZONE
) -> NewStation:
    """Make ``root`` a new station folder, all or nothing: the files are written in a
    temporary folder beside it, checked as ``check`` would, then moved into place."""
    name = name.strip()
    if not name:
        raise FieldProblem(_("the station needs a name"), field="name")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise FieldProblem(_("the name must be one line of text"), field="name")
    sid = station_id if station_id is not None else slug_of(name)
    if not sid or slug_of(sid) != sid:
        raise FieldProblem(
            _("'{id}' must be lowercase letters, digits and '-'").format(id=sid), field="id"
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldProblem(
            _("'{tz}' is not a time zone (e.g. Asia/Ho_Chi_Minh)").format(tz=timezone),
            field="timezone",
        ) from None
    root = root.resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageProblem(
            _("{dir} already exists and is not empty: a new station needs an empty folder").format(
                dir=root
            )
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.init-", dir=root.parent))
    try:
        files = _write(staging, sid, name, timezone)
        try:
            load_config(staging)  # exactly what check reads first
        except ConfigErrors as exc:  # a bug of this module, not the user's mistake
            raise RuntimeError(f"init wrote an invalid station.yaml: {exc}") from exc
        if root.exists():
            root.rmdir()
        os.rename(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return NewStation(root, sid, name, files)


def _write(folder: Path, sid: str, name: str, timezone: str) -> tuple[str, ...]:
    name_yaml = json.dumps(name, ensure_ascii=False)  # a JSON string is a YAML scalar
    station_zone = "xa" if sid != "xa" else "dai-xa"
    text = _TEMPLATE.format(
        id=sid, name=name, name_yaml=name_yaml, timezone=timezone, station_zone=station_zone
    )
    written = []
    for relative, content in (
        ("schedules/station.yaml", text),
        ("scripts/.keep", ""),  # one Markdown file per bulletin goes here
        ("audio/recordings/.keep", ""),
    ):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(relative)
    return tuple(written)
