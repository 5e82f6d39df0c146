"""The station's settings (``schedules/station.yaml``) read and changed section by section.

The web station's settings page (Cài đặt) lets an admin set up a commune without
editing a file: the station's heading (name, time zone, the reports' heading), its
zones, sessions, quiet hours and requirements. Each change:

1. is authorized (``Action.SETTINGS_EDIT``, the admin's) and audited;
2. builds the new document from the file as it is now, with only that section
   replaced (sources, relays, production, engines... are kept as they are);
3. is checked exactly as ``check`` checks the file: the same loader on the new text,
   under the file's own path, plus the outputs' own settings and the scripts, which
   must not break (a zone a bulletin names cannot be removed);
4. only then is written, atomically (a temporary file in the same folder, then
   ``os.replace``), in block style, sections in the usual order, Vietnamese as it is
   typed; the previous text is kept in ``station.yaml.bak`` (a web edit loses the
   file's comments: the backup has them).

A refused change writes nothing and raises :class:`ConfigErrors` whose problems name
their field as the form does (``zones.2.id``: the form's third row).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.checks import output_problems
from broadcaster.app.context import load_config_text
from broadcaster.app.permissions import Action
from broadcaster.config.schema import StationFile
from broadcaster.config.scripts_loader import load_scripts
from broadcaster.config.yamlmarks import YamlSyntaxError, load_with_lines
from broadcaster.core.errors import ConfigErrors, FieldProblem, Problem
from broadcaster.core.model import WEEKDAYS, Station
from broadcaster.i18n import _
from broadcaster.playout.base import output_types

STATION_FILE = "schedules/station.yaml"
BACKUP_SUFFIX = ".bak"
#: One change at a time in this process: read, check and write are one step (the
#: ``version`` check then also catches two admins saving at the same moment).
_WRITING = threading.Lock()

#: The sections of station.yaml in their usual order (the schema's).
ORDER: tuple[str, ...] = tuple(StationFile.model_fields)

#: The sections the settings page edits.
SECTIONS = ("heading", "outputs", "zones", "sessions", "quiet_hours", "requirements")

#: The report's heading fields the page edits (the rest of ``report:`` is kept).
REPORT_FIELDS = (
    "issuing_body",
    "parent_body",
    "number",
    "place",
    "signer_authority",
    "signer_title",
    "signer_name",
    "unit",
)
UNITS = ("xã", "phường", "thị trấn", "đặc khu")
KINDS = ("station", "cluster")
PERIODS = ("week", "day")
FILLS = ("", "rotate", "minimum")
SELECTORS = ("all", "stations", "clusters")

#: The columns of each table section, as the form names them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "outputs": ("name", "type", "settings"),
    "zones": ("id", "name", "kind", "output"),
    "sessions": ("id", "zones", "days", "start", "max_minutes", "fill"),
    "quiet_hours": ("start", "end"),
    "requirements": ("id", "title", "campaign", "min", "per", "zones"),
}

#: The columns that make a row typed in (a new row's selects have values of their own).
TYPED: dict[str, tuple[str, ...]] = {
    "outputs": ("name", "settings"),
    "zones": ("id", "name"),
    "sessions": ("id", "zones", "start", "max_minutes"),
    "quiet_hours": ("start", "end"),
    "requirements": ("id", "title", "campaign", "min", "zones"),
}


@dataclass(frozen=True)
class Settings:
    """The editable settings as text, the way the page's forms show them."""

    heading: dict[str, str]
    recipients: str
    zones: list[dict[str, str]]
    sessions: list[dict[str, Any]]
    quiet_hours: list[dict[str, str]]
    requirements: list[dict[str, str]]
    outputs: list[str]
    #: Each output: its name, type and its plugin's settings as one line of YAML.
    output_rows: list[dict[str, str]]
    output_types: list[str]
    has_comments: bool
    problems: list[Problem]
    #: The file's text's fingerprint: a change made from these settings names it, and
    #: is refused if the file changed meanwhile (another admin, an edit by hand).
    version: str


def _path(root: Path) -> Path:
    return root / STATION_FILE


def _document(root: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its data (an empty mapping when it cannot be read)."""
    try:
        text = _path(root).read_text(encoding="utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError):
        return "", {}
    try:
        data, _lines = load_with_lines(text)
    except YamlSyntaxError:
        return text, {}
    return text, data if isinstance(data, dict) else {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _rows(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key)
    if not isinstance(items, list):
        return []
    rows = []
    for item in items:
        item = item if isinstance(item, dict) else {}
        row: dict[str, Any] = {c: _text(item.get(c)) for c in COLUMNS[key]}
        if key == "sessions":
            days = item.get("days")
            row["days"] = [d for d in days if isinstance(d, str)] if isinstance(days, list) else []
        rows.append(row)
    return rows


def read(ctx) -> Settings:
    """The station's settings as the file has them now (not as the open station was
    loaded: the file may have been edited by hand since)."""
    text, data = _document(ctx.root)
    station = data.get("station") if isinstance(data.get("station"), dict) else {}
    report = data.get("report") if isinstance(data.get("report"), dict) else {}
    heading = {
        "name": _text(station.get("name")),
        "timezone": _text(station.get("timezone")) or "Asia/Ho_Chi_Minh",
    }
    heading.update({f: _text(report.get(f)) for f in REPORT_FIELDS})
    heading["unit"] = heading["unit"] or "xã"
    recipients = report.get("recipients")
    outputs = data.get("outputs") if "outputs" in data else dict(DEFAULT_OUTPUTS)
    problems: list[Problem] = []
    try:
        load_config_text(ctx.root, text)
    except ConfigErrors as exc:
        problems = exc.problems
    return Settings(
        heading=heading,
        recipients="\n".join(str(r) for r in recipients) if isinstance(recipients, list) else "",
        zones=_rows(data, "zones"),
        sessions=_rows(data, "sessions"),
        quiet_hours=_rows(data, "quiet_hours"),
        requirements=_rows(data, "requirements"),
        outputs=[str(k) for k in outputs] if isinstance(outputs, dict) else [],
        output_rows=_output_rows(outputs),
        output_types=sorted(output_types()),
        has_comments=any(
            line.lstrip().startswith("#") or " #" in line for line in text.splitlines()
        ),
        problems=problems,
        version=version_of(text),
    )


DEFAULT_OUTPUTS = {"files": {"type": "file", "dir": "out"}}  # the loader's, when none


def _output_rows(outputs: Any) -> list[dict[str, str]]:
    if not isinstance(outputs, dict):
        return []
    rows = []
    for name, spec in outputs.items():
        spec = spec if isinstance(spec, dict) else {}
        rest = {k: v for k, v in spec.items() if k != "type"}
        rows.append(
            {
                "name": str(name),
                "type": _text(spec.get("type")),
                "settings": _flow(rest) if rest else "",
            }
        )
    return rows


def _flow(value: dict[str, Any]) -> str:
    """A mapping as one line of YAML (``{dir: out}``) for the form's settings column."""
    return yaml.dump(
        value,
        Dumper=yaml.SafeDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=True,
        width=10**6,
    ).strip()


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- from the form's text to the file's values ----------------------------------------------
def _number(text: str) -> int | str:
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d{1,6}", text) else text


def _selector(text: str) -> str | list[str]:
    words = [w for w in re.split(r"[\s,;]+", text.strip()) if w]
    if not words:
        return "all"
    if len(words) == 1 and words[0] in SELECTORS:
        return words[0]
    return words


def _days(value: str | Sequence[str]) -> list[str]:
    words = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    chosen = {w.strip().lower() for w in words if w.strip()}
    known = [d for d in WEEKDAYS if d in chosen]
    return known + sorted(chosen - set(WEEKDAYS))  # an unknown day is the loader's to name


def _blank(row: Mapping[str, Any]) -> bool:
    return all(not (v.strip() if isinstance(v, str) else v) for v in row.values())


def _item(section: str, row: Mapping[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str:
        value = row.get(key, "")
        return value.strip() if isinstance(value, str) else ""

    if section == "zones":
        return {
            "id": text("id"),
            "name": text("name"),
            "kind": text("kind") or "cluster",
            "output": text("output") or "files",
        }
    if section == "sessions":
        item: dict[str, Any] = {
            "id": text("id"),
            "zones": _selector(text("zones")),
            "days": _days(row.get("days") or []),
            "start": text("start"),
            "max_minutes": _number(text("max_minutes")),
        }
        if text("fill"):
            item["fill"] = text("fill")
        return item
    if section == "quiet_hours":
        return {"start": text("start"), "end": text("end")}
    if section == "requirements":
        item = {"id": text("id")}
        if text("title"):
            item["title"] = text("title")
        item.update(
            campaign=text("campaign"),
            min=_number(text("min")),
            per=text("per") or "week",
            zones=_selector(text("zones")),
        )
        return item
    raise ValueError(section)


# -- writing --------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """Block style for a person: lists indented under their key, short lists of plain
    values on one line (``days: [mon, tue]``), clock times always quoted."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = '"' if re.fullmatch(r"\d{1,2}:\d{2}", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list):
    flat = all(isinstance(v, str | int | float | bool) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def dump(data: Mapping[str, Any], header: str = "") -> str:
    """station.yaml's text: the sections in the usual order, a blank line between them."""
    ordered = {k: data[k] for k in ORDER if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    body = yaml.dump(
        ordered,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    lines = body.splitlines()
    spaced = [
        ("\n" + line) if i and line and not line[0].isspace() else line
        for i, line in enumerate(lines)
    ]
    return header + "\n".join(spaced) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileNotFoundError):  # a new file: the default mode
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# -- the change -----------------------------------------------------------------------------
def change(ctx, actor: Actor, section: str, values: Any, version: str | None = None) -> Station:
    """Replace one section of station.yaml and return the station as it now is.

    ``values`` is the form as text: for ``heading`` a mapping (``name``, ``timezone``,
    the report fields, ``recipients`` one per line); for a table section the rows in the
    form's order, each a mapping of its columns (``days`` a list or a comma-separated
    text), a row with ``remove`` true or with nothing typed is left out. Raises
    :class:`ConfigErrors` (nothing written) with each problem at the form's field."""
    if section not in SECTIONS:
        raise FieldProblem(_("no settings section '{name}'").format(name=section), field="section")
    with (
        audited(ctx, actor, Action.SETTINGS_EDIT, STATION_FILE, detail=section) as note,
        _WRITING,
    ):
        old_text, data = _document(ctx.root)
        if version is not None and version != version_of(old_text):
            raise FieldProblem(
                _(
                    "station.yaml has changed since this page was opened: open the page "
                    "again and redo the change"
                ),
                field="version",
            )
        data = dict(data)
        rows_of: list[int] = []
        if section == "heading":
            _set_heading(data, values)
            note.detail = "heading"
        elif section == "outputs":
            before = list(data.get("outputs") or {}) if "outputs" in data else ["files"]
            data["outputs"], rows_of = _outputs(values)
            note.detail = _difference(section, [str(b) for b in before], list(data["outputs"]))
        else:
            old = [
                i
                for i in (data.get(section) if isinstance(data.get(section), list) else [])
                if isinstance(i, dict)
            ]
            before = [str(i.get("id") or f"{i.get('start')}-{i.get('end')}") for i in old]
            kept = {str(i["id"]): i for i in old if i.get("id")}
            items = []
            for index, row in enumerate(values):
                if row.get("remove") or _blank({c: row.get(c, "") for c in TYPED[section]}):
                    continue
                item = _item(section, row)
                extra = kept.get(str(item.get("id")), {})  # what the form does not show
                item.update({k: v for k, v in extra.items() if k not in COLUMNS[section]})
                items.append(item)
                rows_of.append(index)
            if section == "zones" and not items:
                raise ConfigErrors([Problem(_("a station needs at least one zone"), field="zones")])
            data[section] = items
            after = [str(i.get("id") or f"{i.get('start')}-{i.get('end')}") for i in items]
            note.detail = _difference(section, before, after)
        stamp = ctx.clock.now().astimezone(ctx.station.tz).strftime("%Y-%m-%d %H:%M")
        header = _(
            "# Written by the web station's settings page ({when}, {who}).\n"
            "# Comments are not kept by the page: the previous text is in station.yaml.bak.\n"
        ).format(when=stamp, who=actor.who)
        text = dump(data, header)
        station = _checked(ctx, text, section, rows_of)
        path = _path(ctx.root)
        if old_text:
            _write_atomically(path.with_name(path.name + BACKUP_SUFFIX), old_text)
        _write_atomically(path, text)
        ctx.station = station
    return station


def _outputs(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[int]]:
    """The outputs' rows -> ``outputs:``; the kept rows' form indices."""
    outputs: dict[str, Any] = {}
    rows_of: list[int] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        if row.get("remove") or _blank({c: row.get(c, "") for c in TYPED["outputs"]}):
            continue
        name = str(row.get("name", "")).strip()
        kind = str(row.get("type", "")).strip()
        where = f"outputs.{index}"
        if not name:
            problems.append(Problem(_("an output needs a name"), field=f"{where}.name"))
            continue
        if name in outputs:
            problems.append(
                Problem(
                    _("two outputs are named '{name}'").format(name=name), field=f"{where}.name"
                )
            )
            continue
        text = str(row.get("settings", "")).strip()
        settings: Any = {}
        if text:
            try:
                settings, _lines = load_with_lines(text)
            except YamlSyntaxError as exc:
                problems.append(Problem(exc.message, field=f"{where}.settings"))
                continue
        if not isinstance(settings, dict) or "type" in settings:
            problems.append(
                Problem(
                    _("the settings must be a mapping such as {example}, without 'type'").format(
                        example="{dir: out}"
                    ),
                    field=f"{where}.settings",
                )
            )
            continue
        outputs[name] = {"type": kind, **settings}
        rows_of.append(index)
    if not outputs and not problems:
        problems.append(Problem(_("a station needs at least one output"), field="outputs"))
    if problems:
        raise ConfigErrors(problems)
    return outputs, rows_of


def _set_heading(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    def text(key: str) -> str:
        value = values.get(key, "")
        return value.strip() if isinstance(value, str) else ""

    station = dict(data.get("station") or {}) if isinstance(data.get("station"), dict) else {}
    station["name"] = text("name")
    station["timezone"] = text("timezone")
    data["station"] = station
    report = dict(data.get("report") or {}) if isinstance(data.get("report"), dict) else {}
    for f in REPORT_FIELDS:
        if text(f):
            report[f] = text(f)
        else:
            report.pop(f, None)
    raw = values.get("recipients", "")
    recipients = [r.strip() for r in raw.splitlines() if r.strip()] if isinstance(raw, str) else []
    if recipients:
        report["recipients"] = recipients
    else:
        report.pop("recipients", None)
    if report:
        data["report"] = report
    else:
        data.pop("report", None)


def _difference(section: str, before: list[str], after: list[str]) -> str:
    added = [i for i in after if i not in before]
    removed = [i for i in before if i not in after]
    parts = [f"{section}: {len(after)}"]
    if added:
        parts.append("+" + ",".join(added))
    if removed:
        parts.append("-" + ",".join(removed))
    return " ".join(parts)


def _checked(ctx, text: str, section: str, rows_of: list[int]) -> Station:
    """The new text as ``check`` would judge it; ConfigErrors at the form's fields."""
    names = list(data_outputs(text)) if section == "outputs" else []
    try:
        station = load_config_text(ctx.root, text)
    except ConfigErrors as exc:
        raise ConfigErrors([_at_form(p, section, rows_of, names) for p in exc.problems]) from None
    lines = load_with_lines(text)[1]
    found = [p for p in output_problems(ctx.root, station, lines) if p.severity == "error"]
    old_scripts = {str(p) for p in load_scripts(ctx.root, ctx.station)[1]}
    found += [
        p
        for p in load_scripts(ctx.root, station)[1]
        if p.severity == "error" and str(p) not in old_scripts
    ]
    if found:
        raise ConfigErrors([_at_form(p, section, rows_of, names) for p in found])
    return station


def data_outputs(text: str) -> dict[str, Any]:
    try:
        data = load_with_lines(text)[0]
    except YamlSyntaxError:
        return {}
    outputs = data.get("outputs") if isinstance(data, dict) else None
    return outputs if isinstance(outputs, dict) else {}


def _at_form(
    problem: Problem, section: str, rows_of: list[int], outputs_named: Sequence[str] = ()
) -> Problem:
    """A problem of the new file, its field renamed as the form names it: the file's
    ``zones.1`` is the form's row the second kept row came from; the heading's fields
    are the form's ``name``, ``timezone``, ``issuing_body``..."""
    field = problem.field or ""
    message = problem.message
    parts = field.split(".")
    if section == "heading":
        heading_field = field in ("station.name", "station.timezone")
        if heading_field or (parts[0] == "report" and len(parts) > 1):
            field = parts[1]
    elif section == "outputs" and parts[0] == "outputs" and len(parts) > 1:
        names = list(outputs_named)
        if parts[1] in names:
            row = rows_of[names.index(parts[1])]
            column = parts[2] if len(parts) > 2 and parts[2] == "type" else "settings"
            field = f"outputs.{row}.{column}"
            if column == "settings" and len(parts) > 2:  # the plugin's key, in the message
                message = f"{'.'.join(parts[2:])}: {message}"
    elif parts[0] == section and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        if index < len(rows_of):
            parts[1] = str(rows_of[index])
        field = ".".join(parts)
        if parts[-1] in ("start", "end"):
            message = _form_time(message)
    return Problem(
        message,
        path=problem.path,
        line=problem.line,
        field=field or None,
        severity=problem.severity,
    )


def _form_time(message: str) -> str:
    """The loader's message for a bad time tells a file's editor to quote it; a form's
    user has nothing to quote."""
    prefix, _sep, suffix = _("'{value}' is not a time like \"06:00\" (quote it)").partition(
        "{value}"
    )
    if not (_sep and message.startswith(prefix) and message.endswith(suffix)):
        return message
    value = message[len(prefix) : len(message) - len(suffix)]
    return _("'{value}' is not a time of day like 06:00 (from 00:00 to 23:59)").format(value=value)
