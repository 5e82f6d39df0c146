"""Every figure as JSON, for other systems (a province's dashboard) to take over."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from broadcaster.reports.figures import ReportFigures, RequirementFigures
from broadcaster.reports.labels import warnings


def _default(value: Any) -> Any:
    """What the C encoder cannot write itself. Dataclasses become dicts one level at a
    time (the encoder recurses), which on the 50,000 zone-weeks of a province's year is
    ten times faster than ``dataclasses.asdict`` deep-copying every leaf."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, RequirementFigures):
        return {**_fields(value), "not_met": value.not_met}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields, read straight from its ``__dict__`` when it has one (all
    ours do): the encoder only reads it, and this is the hot path of a large report."""
    try:
        return value.__dict__
    except AttributeError:  # slots=True (the many zone-weeks): field names cached per type
        names = _NAMES.get(type(value))
        if names is None:
            names = _NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return {name: getattr(value, name) for name in names}


_NAMES: dict[type, tuple[str, ...]] = {}


def dumps(figures: ReportFigures) -> str:
    # One shot, no indent: json only uses its C encoder then (json.dump to a file and
    # indent= both fall back to the pure-Python one, six times slower here).
    # The warnings (non-real clocks, no data, weeks not over) lead, for any reader.
    document = {"warnings": warnings(figures), **figures.__dict__}
    return json.dumps(document, ensure_ascii=False, default=_default, separators=(",", ":"))


def write_json(path: Path, figures: ReportFigures) -> None:
    path.write_text(dumps(figures) + "\n", encoding="utf-8")
