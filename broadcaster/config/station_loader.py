"""``schedules/station.yaml`` -> :class:`broadcaster.core.model.Station`, with every problem."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from broadcaster.config.schema import StationFile
from broadcaster.config.yamlmarks import Location, YamlSyntaxError, line_of, load_with_lines
from broadcaster.core.errors import ConfigErrors, Problem
from broadcaster.core.model import (
    WEEKDAYS,
    OutputSpec,
    QuietHours,
    Requirement,
    SessionRule,
    Station,
    Zone,
)
from broadcaster.i18n import _


def read_utf8(path: Path, display: str) -> tuple[str | None, Problem | None]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, Problem(_("file not found"), path=display)
    except OSError as exc:
        return None, Problem(_("cannot read: {err}").format(err=exc.strerror), path=display)
    try:
        return raw.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(_("not UTF-8 text (save the file as UTF-8)"), path=display, line=line)


def pydantic_problems(
    exc: ValidationError, display: str, lines: dict[Location, int]
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or None
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = _("unknown field")
        elif err["type"] == "literal_error" and "expected" in err.get("ctx", {}):
            msg = _("must be one of {expected}").format(expected=err["ctx"]["expected"])
        elif err["type"] == "string_pattern_mismatch" and loc and loc[-1] in ("start", "end"):
            msg = _("'{value}' is not a time like \"06:00\" (quote it)").format(value=err["input"])
        elif err["type"] == "string_pattern_mismatch":
            msg = _("'{value}' must be lowercase letters, digits, '-' or '_'").format(
                value=err["input"]
            )
        problems.append(Problem(msg, path=display, line=line_of(lines, loc), field=field))
    return problems


def resolve_zones(
    selector: str | list[str], station_zones: list[Zone]
) -> tuple[tuple[str, ...], list[str]]:
    """A selector -> zone ids, plus the names that matched nothing."""
    if selector == "all":
        return tuple(z.id for z in station_zones), []
    if selector == "stations":
        return tuple(z.id for z in station_zones if z.kind == "station"), []
    if selector == "clusters":
        return tuple(z.id for z in station_zones if z.kind == "cluster"), []
    known = {z.id for z in station_zones}
    return tuple(dict.fromkeys(s for s in selector if s in known)), [
        s for s in selector if s not in known
    ]


def _hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def load_station(root: Path, known_outputs: set[str], known_tts: set[str]) -> Station:
    """Read and validate the station; raise ConfigErrors listing every problem."""
    path = root / "schedules" / "station.yaml"
    display = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    text, problem = read_utf8(path, display)
    if problem:
        raise ConfigErrors([problem])
    assert text is not None
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise ConfigErrors([Problem(exc.message, path=display, line=exc.line)]) from None
    if not isinstance(data, dict):
        raise ConfigErrors([Problem(_("must be a YAML mapping"), path=display, line=1)])
    try:
        model = StationFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigErrors(pydantic_problems(exc, display, lines)) from None

    problems: list[Problem] = []

    def bad(msg: str, loc: Location) -> None:
        problems.append(
            Problem(msg, path=display, line=line_of(lines, loc), field=".".join(map(str, loc)))
        )

    try:
        ZoneInfo(model.station.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad(
            _("unknown time zone '{tz}'").format(tz=model.station.timezone), ("station", "timezone")
        )
    for i, engine in enumerate(model.station.tts):
        if engine not in known_tts:
            bad(
                _("unknown TTS engine '{name}' (known: {known})").format(
                    name=engine, known=", ".join(sorted(known_tts))
                ),
                ("station", "tts", i),
            )
    for name, out in model.outputs.items():
        if out.type not in known_outputs:
            bad(
                _("unknown output type '{type}' (known: {known})").format(
                    type=out.type, known=", ".join(sorted(known_outputs))
                ),
                ("outputs", name, "type"),
            )

    zones: list[Zone] = []
    seen: set[str] = set()
    for i, z in enumerate(model.zones):
        if z.id in seen:
            bad(_("duplicate zone id '{id}'").format(id=z.id), ("zones", i, "id"))
        seen.add(z.id)
        if z.output not in model.outputs:
            bad(
                _("unknown output '{name}' (defined: {known})").format(
                    name=z.output, known=", ".join(model.outputs) or "-"
                ),
                ("zones", i, "output"),
            )
        zones.append(Zone(z.id, z.name, z.kind, z.output))

    quiet = tuple(QuietHours(_hhmm(q.start), _hhmm(q.end)) for q in model.quiet_hours)

    sessions: list[SessionRule] = []
    seen = set()
    for i, s in enumerate(model.sessions):
        if s.id in seen:
            bad(_("duplicate session id '{id}'").format(id=s.id), ("sessions", i, "id"))
        seen.add(s.id)
        ids, unknown = resolve_zones(s.zones, zones)
        for name in unknown:
            bad(_("unknown zone '{zone}'").format(zone=name), ("sessions", i, "zones"))
        start = _hhmm(s.start)
        rule = SessionRule(
            s.id, ids, frozenset(WEEKDAYS.index(d) for d in s.days), start, s.max_minutes
        )
        for q in quiet:
            if _window_touches_quiet(rule, q):
                bad(
                    _("session {start} + {minutes} min falls in quiet hours {quiet}").format(
                        start=s.start, minutes=s.max_minutes, quiet=q
                    ),
                    ("sessions", i, "start"),
                )
        for other in sessions:
            shared = set(other.zone_ids) & set(ids)
            if shared and _overlap(rule, other):
                bad(
                    _("overlaps session '{other}' on zone {zone}").format(
                        other=other.id, zone=sorted(shared)[0]
                    ),
                    ("sessions", i, "start"),
                )
                break
        sessions.append(rule)

    requirements: list[Requirement] = []
    seen = set()
    for i, r in enumerate(model.requirements):
        if r.id in seen:
            bad(_("duplicate requirement id '{id}'").format(id=r.id), ("requirements", i, "id"))
        seen.add(r.id)
        ids, unknown = resolve_zones(r.zones, zones)
        for name in unknown:
            bad(_("unknown zone '{zone}'").format(zone=name), ("requirements", i, "zones"))
        if r.from_ and r.to and r.from_ > r.to:
            bad(_("'from' is after 'to'"), ("requirements", i, "to"))
        requirements.append(
            Requirement(r.id, r.title, r.campaign, r.min, r.per, ids, r.from_, r.to)
        )

    if problems:
        raise ConfigErrors(problems)
    return Station(
        id=model.station.id,
        name=model.station.name,
        timezone=model.station.timezone,
        tts=tuple(model.station.tts),
        grace_minutes=model.station.grace_minutes,
        quiet_hours=quiet,
        outputs={
            name: OutputSpec(name, o.type, dict(o.model_extra or {}))
            for name, o in model.outputs.items()
        },
        zones=tuple(zones),
        sessions=tuple(sessions),
        requirements=tuple(requirements),
    )


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _overlap(a: SessionRule, b: SessionRule) -> bool:
    """Same weekday and intersecting windows (windows do not cross midnight here)."""
    if not (a.days & b.days):
        return False
    a0, b0 = _minutes(a.start), _minutes(b.start)
    return a0 < b0 + b.max_minutes and b0 < a0 + a.max_minutes


def _window_touches_quiet(rule: SessionRule, q: QuietHours) -> bool:
    start = _minutes(rule.start)
    for minute in range(start, start + rule.max_minutes, 5):
        m = minute % (24 * 60)
        if q.contains(time(m // 60, m % 60)):
            return True
    return False
