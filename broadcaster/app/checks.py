"""What ``check`` looks at beyond the schemas: files the configuration points to.

The loaders refuse what cannot be a station (every command needs them to be fast).
``check`` goes further and opens what the station will use at air time, so that a
mistake or a planted file shows before a slot fails:

- each output's own settings, by the output plugin's rules (an mqtt output without its
  ``keys_file``), and an output folder that is a file;
- key and password files that other users of the machine can read;
- requirements whose campaign no script belongs to (they can never be met);
- recordings and jingles that are not what they claim (ffprobe and one decoding pass):
  unreadable, cut off, silent, or longer than any session they could air in.

Nothing here writes anything.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from broadcaster.config.schema import json_schemas  # noqa: F401  (the `schema` command)
from broadcaster.config.station_loader import station_file
from broadcaster.config.yamlmarks import Location, YamlSyntaxError, line_of, load_with_lines
from broadcaster.core.errors import ConfigErrors, Problem
from broadcaster.core.model import Bulletin, Priority, Station
from broadcaster.i18n import _

STATION = "schedules/station.yaml"


def audit(root: Path, station: Station, bulletins: list[Bulletin]) -> list[Problem]:
    """Every problem and warning found in the files the configuration points to."""
    lines = _station_lines(root)
    found: list[Problem] = []
    found += output_problems(root, station, lines)
    found += secret_file_warnings(root, station, lines)
    found += campaign_warnings(station, bulletins, lines)
    found += relay_warnings(station, lines)
    found += recording_problems(root, station, bulletins, lines)
    return found


# -- outputs --------------------------------------------------------------------------
def _settings_model(type_name: str) -> type[BaseModel] | None:
    """The plugin's own settings model (the plugin contract: ``Settings``); the plugin
    is imported only for a type the station uses."""
    from broadcaster.playout.base import output_types

    return getattr(output_types()[type_name], "Settings", None)


def output_problems(root: Path, station: Station, lines: dict[Location, int]) -> list[Problem]:
    """Each output's settings as its plugin will read them at ``run``, and each used
    type's plugin importable (the registry imports a plugin only when it is used)."""
    from broadcaster.playout.base import OutputError, output_types

    types = output_types()
    found: list[Problem] = []
    for name, spec in station.outputs.items():
        try:
            types[spec.type]
        except OutputError as exc:
            found.append(
                Problem(
                    str(exc),
                    path=STATION,
                    line=line_of(lines, ("outputs", name, "type")),
                    field=f"outputs.{name}.type",
                )
            )
            continue
        model = _settings_model(spec.type)
        if model is not None:
            from broadcaster.playout.mqtt.settings import validate

            try:
                validate(model, spec.settings, STATION, f"outputs.{name}")
            except ConfigErrors as exc:
                for p in exc.problems:
                    loc = tuple(p.field.split(".")) if p.field else ("outputs", name)
                    found.append(
                        Problem(p.message, path=STATION, line=line_of(lines, loc), field=p.field)
                    )
        if spec.type == "file":
            found += _folder_problems(root, name, spec.settings.get("dir", "out"), lines)
        if spec.type == "icecast" and shutil.which("ffmpeg") is None:
            found.append(
                Problem(
                    _("ffmpeg is not installed: the icecast output cannot stream"),
                    path=STATION,
                    line=line_of(lines, ("outputs", name, "type")),
                    field=f"outputs.{name}.type",
                )
            )
    return found


def relay_warnings(station: Station, lines: dict[Location, int]) -> list[Problem]:
    """A relay on a zone whose output type cannot carry one (no ``open_relay``: today the
    mqtt output) would be logged failed at every window: say so now, at the relay."""
    from broadcaster.playout.base import OutputError, output_types

    types = output_types()
    found: list[Problem] = []
    for i, rule in enumerate(station.relays):
        for zone_id in rule.zone_ids:
            output = station.outputs.get(station.zone(zone_id).output)
            if output is None:
                continue
            try:
                factory = types[output.type]
            except (OutputError, KeyError):
                continue  # reported at the output's type
            if not callable(getattr(factory, "open_relay", None)):
                found.append(
                    Problem(
                        _(
                            "zone '{zone}' takes this relay, but its output '{output}' "
                            "({type}) cannot carry a relay: each window will be logged failed"
                        ).format(zone=zone_id, output=output.name, type=output.type),
                        path=STATION,
                        line=line_of(lines, ("relays", i, "zones")),
                        field=f"relays.{i}.zones",
                        severity="warning",
                    )
                )
    return found


def _folder_problems(
    root: Path, name: str, folder: Any, lines: dict[Location, int]
) -> list[Problem]:
    loc: Location = ("outputs", name, "dir")
    field = f"outputs.{name}.dir"
    path = root / str(folder)
    if path.exists() and not path.is_dir():
        return [
            Problem(
                _("'{dir}' is a file, not a folder").format(dir=folder),
                path=STATION,
                line=line_of(lines, loc),
                field=field,
            )
        ]
    return []


# -- secrets ----------------------------------------------------------------------------
def secret_files(station: Station) -> list[tuple[str, str]]:
    """(field, path as written) of every key or password file the outputs name."""
    found = []
    for name, spec in station.outputs.items():
        s = spec.settings
        if isinstance(s.get("keys_file"), str):
            found.append((f"outputs.{name}.keys_file", s["keys_file"]))
        if isinstance(s.get("password_file"), str):
            found.append((f"outputs.{name}.password_file", s["password_file"]))
        broker = s.get("broker")
        if isinstance(broker, dict) and isinstance(broker.get("password_file"), str):
            found.append((f"outputs.{name}.broker.password_file", broker["password_file"]))
    return found


def readable_by_others(path: Path) -> int | None:
    """The file's mode when group or others may read or write it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def secret_file_warning(path: Path, shown: str, field: str, line: int | None) -> Problem | None:
    """A warning for one key or password file that others can read."""
    mode = readable_by_others(path)
    if mode is None:
        return None
    return Problem(
        _("{file} can be read by other users (mode {mode:04o}): run chmod 600 {file}").format(
            file=shown, mode=mode
        ),
        path=STATION,
        line=line,
        field=field,
        severity="warning",
    )


def secret_file_warnings(root: Path, station: Station, lines: dict[Location, int]) -> list[Problem]:
    found = []
    for field, written in secret_files(station):
        path = Path(written) if Path(written).is_absolute() else root / written
        problem = secret_file_warning(path, written, field, line_of(lines, tuple(field.split("."))))
        if problem:
            found.append(problem)
    from broadcaster.store.signing import key_path  # the station key (docs/SECURITY.md)

    station_key = key_path(root)
    mode = readable_by_others(station_key) if station_key.is_file() else None
    if mode is not None:
        shown = station_key.relative_to(root) if station_key.is_relative_to(root) else station_key
        found.append(
            Problem(
                _(
                    "the station key can be read by other users (mode {mode:04o}): approvals "
                    "and log heads are refused until you run chmod 600 {file}"
                ).format(mode=mode, file=shown),
                path=str(shown),
                severity="warning",
            )
        )
    return found


# -- requirements -----------------------------------------------------------------------
def campaign_warnings(
    station: Station, bulletins: list[Bulletin], lines: dict[Location, int]
) -> list[Problem]:
    """A requirement no script can meet: its campaign (or tag) is nowhere."""
    found = []
    for i, req in enumerate(station.requirements):
        if any(b.matches_campaign(req.campaign) for b in bulletins):
            continue
        found.append(
            Problem(
                _("no script belongs to campaign '{campaign}': '{req}' cannot be met").format(
                    campaign=req.campaign, req=req.id
                ),
                path=STATION,
                line=line_of(lines, ("requirements", i, "campaign")),
                field=f"requirements.{i}.campaign",
                severity="warning",
            )
        )
    return found


# -- recordings and jingles ---------------------------------------------------------------
def longest_session_seconds(station: Station, zone_ids: tuple[str, ...]) -> float | None:
    """The longest session cap among the sessions of these zones (None: no session)."""
    caps = [s.max_minutes for s in station.sessions if set(s.zone_ids) & set(zone_ids)]
    return max(caps) * 60.0 if caps else None


def recording_problems(
    root: Path, station: Station, bulletins: list[Bulletin], lines: dict[Location, int]
) -> list[Problem]:
    """Recorded bulletins and jingles, probed with ffmpeg."""
    from broadcaster.speech.production import probe_recording

    found: list[Problem] = []
    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        missing = _("ffmpeg is not installed: recordings cannot be checked")
        return [Problem(missing, severity="warning")]
    for b in bulletins:
        if not b.is_recorded:
            continue
        path, refused = station_file(root, str(b.audio_file))
        if refused or path is None:
            continue  # the loader said it
        cap = longest_session_seconds(station, b.zone_ids)
        probe = probe_recording(path, decode_up_to=cap)
        where = {"path": b.source_path, "field": "audio"}
        if probe.problem:
            found.append(
                Problem(
                    _("{file}: {problem}").format(file=b.audio_file, problem=probe.problem), **where
                )
            )
            continue
        if probe.silent:
            found.append(
                Problem(_("{file}: the recording is silent").format(file=b.audio_file), **where)
            )
        length = probe.duration_seconds
        if cap is not None and length is not None and length > cap:
            emergency = b.priority == Priority.EMERGENCY
            found.append(
                Problem(
                    _(
                        "{file} lasts {length}: longer than any session it could air in "
                        "(longest: {cap} min), so it can never be planned"
                    ).format(file=b.audio_file, length=_clock(length), cap=int(cap // 60)),
                    severity="warning" if emergency else "error",
                    **where,
                )
            )
    for which in ("intro", "outro"):
        jingle = (station.production.get("jingles") or {}).get(which)
        if not isinstance(jingle, str):
            continue
        path, refused = station_file(root, jingle)
        if refused or path is None:
            continue
        probe = probe_recording(path)
        if probe.problem:
            found.append(
                Problem(
                    _("{file}: {problem}").format(file=jingle, problem=probe.problem),
                    path=STATION,
                    line=line_of(lines, ("production", "jingles", which)),
                    field=f"production.jingles.{which}",
                )
            )
    return found


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _station_lines(root: Path) -> dict[Location, int]:
    """Line numbers of station.yaml (it loaded already: this cannot fail but to be safe)."""
    try:
        text = (root / STATION).read_text(encoding="utf-8")
        return load_with_lines(text)[1]
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return {}
