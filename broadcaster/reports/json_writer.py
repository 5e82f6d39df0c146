"""Every figure as JSON, for other systems (a province's dashboard) to take over."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from broadcaster.reports.figures import ReportFigures


def figures_dict(figures: ReportFigures) -> dict[str, Any]:
    data = dataclasses.asdict(figures)
    for req, fig in zip(data["requirements"], figures.requirements, strict=True):
        req["not_met"] = [dataclasses.asdict(z) for z in fig.not_met]
    return data


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: Path, figures: ReportFigures) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(figures_dict(figures), fh, ensure_ascii=False, indent=1, default=_default)
        fh.write("\n")
