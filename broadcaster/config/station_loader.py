"""``schedules/station.yaml`` -> :class:`broadcaster.core.model.Station`, with every problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from broadcaster.config.schema import (
    OutputModel,
    ProductionModel,
    QuietHoursModel,
    RelayModel,
    ReportModel,
    RequirementModel,
    SessionModel,
    SilenceModel,
    SourceModel,
    StationFile,
    StationInfo,
    ZoneModel,
)
from broadcaster.config.yamlmarks import Location, YamlSyntaxError, line_of, load_with_lines
from broadcaster.core.errors import ConfigErrors, Problem
from broadcaster.core.model import (
    FILL_ROTATE,
    WEEKDAYS,
    OutputSpec,
    QuietHours,
    RelayRule,
    ReportSettings,
    Requirement,
    SessionRule,
    SilenceSettings,
    Source,
    Station,
    Zone,
)
from broadcaster.core.validation_words import validation_message
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


def station_file(root: Path, relative: str) -> tuple[Path | None, str | None]:
    """The file a station setting names (a jingle, a recording), or why it is refused.

    Station files come from officers and from whoever can drop a file in the folder:
    an absolute path, a ``../`` or a symlink must never make the station read (and air,
    or hash into its evidence) a file from elsewhere on the machine."""
    if Path(relative).is_absolute():
        absolute = _("'{path}' is an absolute path: give a path inside the station folder")
        return None, absolute.format(path=relative)
    base = root.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        return None, _("'{path}' cannot be resolved").format(path=relative)
    if not target.is_relative_to(base):
        return None, _("'{path}' leads outside the station folder").format(path=relative)
    return target, None


def pydantic_problems(
    exc: ValidationError, display: str, lines: dict[Location, int], prefix: Location = ()
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        field = ".".join(str(p) for p in loc) or None
        msg = validation_message(err)
        if err["type"] == "string_pattern_mismatch" and loc and loc[-1] in ("start", "end"):
            msg = _("'{value}' is not a time like \"06:00\" (quote it)").format(value=err["input"])
        elif err["type"] == "string_pattern_mismatch" and loc and loc[-1] in ("url", "backup_url"):
            msg = _(
                "'{value}' is not a stream address: http://..., https://... or device:NAME"
            ).format(value=err["input"])
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


def load_station(
    root: Path, known_outputs: set[str], known_tts: Mapping[str, type[BaseModel]]
) -> Station:
    """Read and validate the station; raise ConfigErrors listing every problem.

    ``known_tts`` maps each installed engine to its settings model, so ``engines.<name>``
    is checked by the engine's own rules."""
    path = root / "schedules" / "station.yaml"
    display = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    text, problem = read_utf8(path, display)
    if problem:
        raise ConfigErrors([problem])
    assert text is not None
    return parse_station(root, text, display, known_outputs, known_tts)


def parse_station(
    root: Path,
    text: str,
    display: str,
    known_outputs: set[str],
    known_tts: Mapping[str, type[BaseModel]],
) -> Station:
    """The text of ``station.yaml`` (as read from ``display``, files it names relative
    to ``root``) -> the station; what :func:`load_station` does once it has read the
    file, so a new text (the web settings page's) is checked by the very same rules
    before it is written."""
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise ConfigErrors(
            [Problem(exc.message, path=display, line=exc.line, field=exc.field)]
        ) from None
    if not isinstance(data, dict):
        raise ConfigErrors([Problem(_("must be a YAML mapping"), path=display, line=1)])
    problems: list[Problem] = []
    model = _validate_parts(data, display, lines, problems, known_tts)

    def bad(msg: str, loc: Location) -> None:
        problems.append(
            Problem(msg, path=display, line=line_of(lines, loc), field=".".join(map(str, loc)))
        )

    info = model.station
    if info is not None:
        try:
            ZoneInfo(info.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            bad(_("unknown time zone '{tz}'").format(tz=info.timezone), ("station", "timezone"))
        for i, engine in enumerate(info.tts):
            if engine not in known_tts:
                bad(
                    _("unknown TTS engine '{name}' (known: {known})").format(
                        name=engine, known=", ".join(sorted(known_tts))
                    ),
                    ("station", "tts", i),
                )
    for name, out in model.outputs.items():
        if out is None:
            continue
        if out.type not in known_outputs:
            bad(
                _("unknown output type '{type}' (known: {known})").format(
                    type=out.type, known=", ".join(sorted(known_outputs))
                ),
                ("outputs", name, "type"),
            )

    zones: list[Zone] = []
    seen: set[str] = set()
    for i, z in model.zones:
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

    production = model.production
    jingles = (
        (data.get("production") or {}).get("jingles")
        if isinstance(data.get("production"), dict)
        else None
    )
    if isinstance(jingles, dict):  # checked even when another production field is wrong
        for which in ("intro", "outro"):
            jingle = jingles.get(which)
            if not isinstance(jingle, str):
                continue
            target, refused = station_file(root, jingle)
            if refused:
                bad(refused, ("production", "jingles", which))
            elif target is None or not target.is_file():
                bad(
                    _("jingle file {path} not found").format(path=jingle),
                    ("production", "jingles", which),
                )

    quiet = tuple(QuietHours(_hhmm(q.start), _hhmm(q.end)) for _i, q in model.quiet_hours)

    sessions: list[SessionRule] = []
    seen = set()
    for i, s in model.sessions:
        if s.id in seen:
            bad(_("duplicate session id '{id}'").format(id=s.id), ("sessions", i, "id"))
        seen.add(s.id)
        ids, unknown = resolve_zones(s.zones, zones)
        for name in unknown:
            bad(_("unknown zone '{zone}'").format(zone=name), ("sessions", i, "zones"))
        start = _hhmm(s.start)
        rule = SessionRule(
            s.id,
            ids,
            frozenset(WEEKDAYS.index(d) for d in s.days),
            start,
            s.max_minutes,
            s.fill or (info.fill if info is not None else FILL_ROTATE),
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

    sources, relays = _relays(model, zones, quiet, bad)

    requirements: list[Requirement] = []
    seen = set()
    for i, r in model.requirements:
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

    target = model.report.bulletins_per_month if model.report else None
    if target and target.max is not None and target.max < target.min:
        bad(_("'max' is below 'min'"), ("report", "bulletins_per_month", "max"))

    if problems or info is None or production is None:
        raise ConfigErrors(problems)
    return Station(
        id=info.id,
        name=info.name,
        timezone=info.timezone,
        tts=tuple(info.tts),
        grace_minutes=info.grace_minutes,
        dialect=info.dialect,
        quiet_hours=quiet,
        outputs={
            name: OutputSpec(name, o.type, dict(o.model_extra or {}))
            for name, o in model.outputs.items()
            if o is not None
        },
        zones=tuple(zones),
        sessions=tuple(sessions),
        requirements=tuple(requirements),
        production=production.model_dump(mode="json"),
        engine_settings={
            name: settings.model_dump(mode="json", exclude_unset=True)
            for name, settings in model.engines.items()
            if settings is not None
        },
        report=_report_settings(model.report),
        authors_may_approve=info.authors_may_approve,
        language=info.language,
        sources=sources,
        relays=relays,
        silence=_silence_settings(model.silence),
    )


def _relays(model, zones: list[Zone], quiet: tuple[QuietHours, ...], bad):
    """``sources:`` and ``relays:``: every source named once, every relay on a known
    source and zones, ending after it starts, outside quiet hours, and never over another
    relay on the same zone."""
    sources: dict[str, Source] = {}
    for i, src in model.sources:
        if src.id in sources:
            bad(_("duplicate source id '{id}'").format(id=src.id), ("sources", i, "id"))
            continue
        sources[src.id] = Source(src.id, src.name, src.url, src.backup_url)
    relays: list[RelayRule] = []
    ids: set[str] = set()
    for i, r in model.relays:
        rid = r.id or f"{r.source}-{r.start.replace(':', '')}"
        if rid in ids:
            message = (
                _("duplicate relay id '{id}'")
                if r.id
                else _("two relays would both be called '{id}': give this one an id")
            )
            bad(message.format(id=rid), ("relays", i, "id" if r.id else "start"))
        ids.add(rid)
        if r.source not in sources:
            bad(
                _("unknown source '{source}' (defined: {known})").format(
                    source=r.source, known=", ".join(sources) or "-"
                ),
                ("relays", i, "source"),
            )
        zone_ids, unknown = resolve_zones(r.zones, zones)
        for name in unknown:
            bad(_("unknown zone '{zone}'").format(zone=name), ("relays", i, "zones"))
        start, end = _hhmm(r.start), _hhmm(r.end)
        if end <= start:
            bad(
                _(
                    "ends at {end}, not after its start {start} (a relay ends the day it starts)"
                ).format(end=r.end, start=r.start),
                ("relays", i, "end"),
            )
            continue
        rule = RelayRule(
            rid,
            r.source,
            zone_ids,
            frozenset(WEEKDAYS.index(d) for d in r.days),
            start,
            end,
            r.min_share,
        )
        for q in quiet:
            if _span_touches_quiet(_minutes(start), rule.minutes, q):
                bad(
                    _("relay {start}–{end} falls in quiet hours {quiet}").format(
                        start=r.start, end=r.end, quiet=q
                    ),
                    ("relays", i, "start"),
                )
                break
        for other in relays:
            shared = set(other.zone_ids) & set(zone_ids)
            if shared and other.days & rule.days and other.start < end and start < other.end:
                bad(
                    _("overlaps relay '{other}' on zone {zone}").format(
                        other=other.id, zone=sorted(shared)[0]
                    ),
                    ("relays", i, "start"),
                )
                break
        relays.append(rule)
    return sources, tuple(relays)


def _silence_settings(m: SilenceModel | None) -> SilenceSettings:
    if m is None:
        return SilenceSettings()
    return SilenceSettings(
        threshold_dbfs=m.threshold_dbfs,
        min_seconds=m.min_seconds,
        hook=tuple(m.hook or ()),
        hook_timeout_seconds=m.hook_timeout_seconds,
    )


def _report_settings(m: ReportModel | None) -> ReportSettings:
    if m is None:
        return ReportSettings()
    target = m.bulletins_per_month
    return ReportSettings(
        issuing_body=m.issuing_body,
        parent_body=m.parent_body,
        number=m.number,
        place=m.place,
        signer_authority=m.signer_authority,
        signer_title=m.signer_title,
        signer_name=m.signer_name,
        recipients=tuple(m.recipients),
        bulletins_per_month_min=target.min if target else None,
        bulletins_per_month_max=target.max if target else None,
        unit=m.unit,
        station_term=m.station_term or f"đài truyền thanh {m.unit}",
        cluster_term=m.cluster_term,
    )


@dataclass
class _Parts:
    """What validated of station.yaml, section by section, with each item's index."""

    station: StationInfo | None = None
    quiet_hours: list[tuple[int, QuietHoursModel]] = field(default_factory=list)
    outputs: dict[str, OutputModel | None] = field(default_factory=dict)
    zones: list[tuple[int, ZoneModel]] = field(default_factory=list)
    sessions: list[tuple[int, SessionModel]] = field(default_factory=list)
    sources: list[tuple[int, SourceModel]] = field(default_factory=list)
    relays: list[tuple[int, RelayModel]] = field(default_factory=list)
    requirements: list[tuple[int, RequirementModel]] = field(default_factory=list)
    production: ProductionModel | None = None
    engines: dict[str, BaseModel | None] = field(default_factory=dict)
    report: ReportModel | None = None
    silence: SilenceModel | None = None


def _validate_parts(
    data: dict,
    display: str,
    lines: dict[Location, int],
    problems: list[Problem],
    known_tts: Mapping[str, type[BaseModel]],
) -> _Parts:
    """Validate each section and item on its own, so one bad item hides no other problem."""

    def one(model_cls, value, loc: Location):
        try:
            return model_cls.model_validate(value)
        except ValidationError as exc:
            problems.extend(pydantic_problems(exc, display, lines, loc))
            return None

    def items(model_cls, key: str, required: bool = False) -> list[tuple[int, object]]:
        value = data.get(key)
        if value is None:
            if required:
                problems.append(
                    Problem(
                        _("missing (at least one is needed)"),
                        path=display,
                        line=line_of(lines, ()),
                        field=key,
                    )
                )
            return []
        if not isinstance(value, list):
            problems.append(
                Problem(_("must be a list"), path=display, line=line_of(lines, (key,)), field=key)
            )
            return []
        found = [(i, one(model_cls, item, (key, i))) for i, item in enumerate(value)]
        return [(i, m) for i, m in found if m is not None]

    for key in data:
        if key not in StationFile.model_fields:
            problems.append(
                Problem(
                    _("unknown field"), path=display, line=line_of(lines, (key,)), field=str(key)
                )
            )
    parts = _Parts()
    if "station" not in data:
        problems.append(Problem(_("missing"), path=display, line=1, field="station"))
    else:
        parts.station = one(StationInfo, data["station"], ("station",))
    parts.quiet_hours = items(QuietHoursModel, "quiet_hours")  # type: ignore[assignment]

    def mapping(key: str, default: dict | None, message: str) -> dict:
        """A section that maps names to settings; ``default=None``: may be left empty."""
        value = data.get(key, default)
        if value is None and default is None:
            return {}
        if isinstance(value, dict):
            return value
        problems.append(Problem(message, path=display, line=line_of(lines, (key,)), field=key))
        return {}

    outputs = mapping(
        "outputs", {"files": {"type": "file", "dir": "out"}}, _("must be a mapping of output names")
    )
    parts.outputs = {str(k): one(OutputModel, v, ("outputs", k)) for k, v in outputs.items()}
    parts.zones = items(ZoneModel, "zones", required=True)  # type: ignore[assignment]
    parts.sessions = items(SessionModel, "sessions")  # type: ignore[assignment]
    parts.sources = items(SourceModel, "sources")  # type: ignore[assignment]
    parts.relays = items(RelayModel, "relays")  # type: ignore[assignment]
    parts.requirements = items(RequirementModel, "requirements")  # type: ignore[assignment]
    parts.production = one(ProductionModel, data.get("production") or {}, ("production",))
    engines = mapping("engines", None, _("must be a mapping of engine names to settings"))
    for name, settings in engines.items():
        if name not in known_tts:
            problems.append(
                Problem(
                    _("unknown TTS engine '{name}' (known: {known})").format(
                        name=name, known=", ".join(sorted(known_tts))
                    ),
                    path=display,
                    line=line_of(lines, ("engines", name)),
                    field=f"engines.{name}",
                )
            )
            continue
        parts.engines[str(name)] = one(known_tts[name], settings or {}, ("engines", name))
    if data.get("report") is not None:
        parts.report = one(ReportModel, data["report"], ("report",))
    if data.get("silence") is not None:
        parts.silence = one(SilenceModel, data["silence"], ("silence",))
    return parts


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


WEEK_MINUTES = 7 * 24 * 60


def _week_intervals(rule: SessionRule) -> list[tuple[int, int]]:
    """The rule's windows as [start, end) minutes from Monday 00:00 (may pass Sunday)."""
    start = _minutes(rule.start)
    return [(d * 1440 + start, d * 1440 + start + rule.max_minutes) for d in sorted(rule.days)]


def _overlap(a: SessionRule, b: SessionRule) -> bool:
    """Do two rules' windows intersect anywhere in the week, across midnight too?"""
    for a0, a1 in _week_intervals(a):
        for b0, b1 in _week_intervals(b):
            for shift in (-WEEK_MINUTES, 0, WEEK_MINUTES):
                if a0 < b1 + shift and b0 + shift < a1:
                    return True
    return False


def _window_touches_quiet(rule: SessionRule, q: QuietHours) -> bool:
    """Exact to the minute: does any minute of the window fall in quiet hours?"""
    return _span_touches_quiet(_minutes(rule.start), rule.max_minutes, q)


def _span_touches_quiet(start: int, minutes: int, q: QuietHours) -> bool:
    """Does any minute of [start, start + minutes) (minutes from midnight) fall in quiet
    hours?"""
    for minute in range(start, start + minutes):
        m = minute % (24 * 60)
        if q.contains(time(m // 60, m % 60)):
            return True
    return False
