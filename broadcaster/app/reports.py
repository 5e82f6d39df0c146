"""``report`` and ``evidence`` as operations: choose the format, check the target, count,
write atomically. The CLI only parses options and prints the outcome."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from broadcaster.app import signed_head
from broadcaster.app.context import StationContext
from broadcaster.app.emergencies import parse_zones
from broadcaster.core.errors import FieldProblem
from broadcaster.i18n import _
from broadcaster.reports import (
    csv_writer,
    json_writer,
    labels,  # noqa: F401  (the words a face shows figures with)
    pdf,
    rawlog,
)
from broadcaster.reports.figures import ReportFigures, compute
from broadcaster.reports.output import atomic_file, check_target
from broadcaster.reports.period import PERIOD_HELP, Period, parse_period  # noqa: F401
from broadcaster.store import aslog

FORMATS = ("docx", "xlsx", "csv", "json", "pdf")
EXCEL_ROWS_FOR_LOG = 1_048_576 - 2  # a header row, and the last row for the note


@dataclass
class Written:
    path: Path
    format: str
    figures: ReportFigures | None  # None for the CSV (the raw log only)
    log_rows: int | None = None  # rows of raw log written (CSV, XLSX)
    extra: list[Path] | None = None  # the full CSV written beside an XLSX past Excel's limit


def resolve_format(fmt: str | None, out: Path) -> str:
    chosen = (fmt or out.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        given = (
            f"'{fmt}'" if fmt else _("'{name}' (from --out)").format(name=out.suffix or out.name)
        )
        raise FieldProblem(
            _("unknown format {given} (known: {known})").format(
                given=given, known=", ".join(FORMATS)
            ),
            field="format",
        )
    return chosen


def resolve_scope(
    ctx: StationContext,
    period: str | None,
    date_from: str | None,
    date_to: str | None,
    zones: str | None,
) -> tuple[Period, list[str]]:
    found = parse_period(period, date_from, date_to, ctx.station.tz)
    zone_ids = parse_zones(ctx, zones) if zones else list(ctx.station.zone_ids)
    return found, zone_ids


def figures(
    ctx: StationContext, period: Period, zone_ids: list[str], *, include_unreal: bool = False
) -> ReportFigures:
    bulletins, _problems = ctx.scripts()  # titles only: a broken script must not block a report
    fig = compute(
        ctx.db,
        ctx.station,
        period,
        zone_ids,
        bulletins,
        ctx.clock.now(),
        include_unreal=include_unreal,
    )
    signed_head.attach(ctx, fig)
    return fig


def unreal_in_database(ctx: StationContext) -> dict[str, int]:
    """Entries made under a clock that is not the real one (for the CSV, which has no
    figures to carry the warning: the command prints it)."""
    with ctx.db.read() as s:
        return aslog.unreal_counts(s)


def write_report(
    ctx: StationContext,
    period: Period,
    zone_ids: list[str],
    fmt: str,
    out: Path,
    *,
    include_unreal: bool = False,
) -> Written:
    out = check_target(out)
    if fmt == "pdf":
        pdf.require_soffice()
    tz = ctx.station.tz
    if fmt == "csv":
        with atomic_file(out) as tmp, ctx.db.read() as s:
            n = csv_writer.write_csv(tmp, rawlog.stream(s, period, zone_ids), tz)
        return Written(out, fmt, None, n)
    fig = figures(ctx, period, zone_ids, include_unreal=include_unreal)
    if fmt == "json":
        with atomic_file(out) as tmp:
            json_writer.write_json(tmp, fig)
        return Written(out, fmt, fig)
    if fmt == "xlsx":
        return xlsx_report(ctx, period, zone_ids, fig, out)
    if fmt == "docx":
        with atomic_file(out) as tmp:
            write_docx(tmp, fig, ctx)
        return Written(out, fmt, fig)
    with atomic_file(out) as tmp, tempfile.TemporaryDirectory(dir=out.parent) as work:
        source = Path(work) / (out.stem + ".docx")
        write_docx(source, fig, ctx)
        pdf.docx_to_pdf(source, tmp)
    return Written(out, fmt, fig)


def write_docx(path: Path, fig: ReportFigures, ctx: StationContext) -> None:
    # python-docx and lxml load only when a document is written, not with every command.
    from broadcaster.reports import docx_writer

    docx_writer.write_docx(path, fig, ctx.station.report)


def xlsx_report(
    ctx: StationContext,
    period: Period,
    zone_ids: list[str],
    fig: ReportFigures,
    out: Path,
    csv_name: str | None = None,
) -> Written:
    """Past Excel's row limit the full log also goes to a CSV beside the workbook (unless
    the caller, the evidence pack, already ships one), and the sheet says where it is."""
    tz = ctx.station.tz
    extra: list[Path] = []
    too_many = fig.log_entries_in_period > EXCEL_ROWS_FOR_LOG
    if too_many and csv_name is None:
        full_csv = out.with_name(out.stem + "-nhat-ky.csv")
        with atomic_file(full_csv) as tmp, ctx.db.read() as s:
            csv_writer.write_csv(tmp, rawlog.stream(s, period, zone_ids), tz)
        extra.append(full_csv)
        csv_name = full_csv.name
    from broadcaster.reports import xlsx_writer

    with atomic_file(out) as tmp, ctx.db.read() as s:
        rows = rawlog.count(s, period, zone_ids)  # same read transaction as the stream
        n = xlsx_writer.write_xlsx(
            tmp, fig, rawlog.stream(s, period, zone_ids), rows, tz, full_csv_name=csv_name
        )
    return Written(out, "xlsx", fig, n, extra or None)


# -- the report as a page asks for it ------------------------------------------------------

#: The periods a page offers: the half-year and the year the communes file, or two days.
PRESETS = ("h1", "h2", "year", "range")


def period_of(
    ctx: StationContext, preset: str, year: str = "", date_from: str = "", date_to: str = ""
) -> Period:
    """The period a form chose: ``h1`` (6 tháng đầu năm), ``h2``, ``year`` (cả năm) of
    ``year`` (default: this year, station time), or ``range`` from–to (local days)."""
    preset = (preset or "").strip()
    if preset not in PRESETS:
        raise FieldProblem(
            _("choose a period: the first half-year, the second, the whole year, or two days"),
            field="period",
        )
    if preset == "range":
        return parse_period(None, date_from or None, date_to or None, ctx.station.tz)
    year = (year or "").strip() or str(this_year(ctx))
    if not (year.isdigit() and len(year) == 4):
        raise FieldProblem(_("'{text}' is not a year like 2026").format(text=year), field="year")
    key = {"h1": f"{year}-H1", "h2": f"{year}-H2", "year": year}[preset]
    try:
        return parse_period(key, None, None, ctx.station.tz)
    except FieldProblem as exc:
        raise FieldProblem(exc.problem.message, field="year") from None


def this_year(ctx: StationContext) -> int:
    """The year it is at the station (the period form's default)."""
    from broadcaster.core.timeutil import to_local

    return to_local(ctx.clock.now(), ctx.station.tz).year


def zones_of(ctx: StationContext, chosen: list[str]) -> list[str]:
    """The zones a form ticked; none ticked (or "all") is every zone."""
    chosen = [z for z in (c.strip() for c in chosen) if z and z != "all"]
    return parse_zones(ctx, ",".join(chosen)) if chosen else list(ctx.station.zone_ids)


def require_pdf_tool(fmt: str) -> None:
    """A PDF needs LibreOffice: refused at the format field, before any work, when the
    station has none."""
    if fmt == "pdf" and pdf.soffice() is None:
        raise FieldProblem(
            _(
                "a PDF needs LibreOffice, which is not installed on this station: choose "
                "DOCX, or have it installed (libreoffice-writer-nogui)"
            ),
            field="format",
        )


def download_name(kind: str, period: Period, fmt: str) -> str:
    """The downloaded file's name: ``bao-cao-2026-H1.xlsx``, ``ho-so-...zip``."""
    stem = "bao-cao" if kind == "report" else "ho-so-minh-chung"
    return f"{stem}-{period.key.replace('..', '_')}.{fmt}"


def make_report(
    ctx: StationContext,
    actor,
    period: Period,
    zone_ids: list[str],
    fmt: str,
    into: Path,
    *,
    include_unreal: bool = False,
) -> Written:
    """``report`` for a signed-in person: authorized (report.make) and audited; written
    into the folder ``into`` (the face streams it and removes the folder). With
    ``include_unreal``, entries of a simulated or shifted clock count as if real, and the
    report says so on its first page (the audit trail records the choice)."""
    from broadcaster.app.audit import audited
    from broadcaster.app.permissions import Action

    fmt = resolve_format(fmt, Path("x"))
    require_pdf_tool(fmt)
    target = into / download_name("report", period, fmt)
    detail = f"format={fmt} zones={len(zone_ids)}" + (" unreal counted" if include_unreal else "")
    with audited(ctx, actor, Action.REPORT_MAKE, period.key, detail=detail):
        return write_report(ctx, period, zone_ids, fmt, target, include_unreal=include_unreal)


def make_evidence(
    ctx: StationContext,
    actor,
    period: Period,
    zone_ids: list[str],
    fmt: str,
    into: Path,
    *,
    with_audio: bool = False,
    include_unreal: bool = False,
):
    """The evidence pack (.zip) for a signed-in person: authorized (evidence.make), audited;
    with every aired audio file inside when ``with_audio``; ``include_unreal`` as for
    :func:`make_report`."""
    from broadcaster.app import evidence
    from broadcaster.app.audit import audited
    from broadcaster.app.permissions import Action

    fmt = (fmt or "docx").lower()
    if fmt not in evidence.PACK_FORMATS:
        raise FieldProblem(
            _("unknown report format '{fmt}' for the pack (known: {known})").format(
                fmt=fmt, known=", ".join(evidence.PACK_FORMATS)
            ),
            field="format",
        )
    require_pdf_tool(fmt)
    target = into / download_name("evidence", period, "zip")
    with audited(
        ctx,
        actor,
        Action.EVIDENCE_MAKE,
        period.key,
        detail=f"format={fmt} zones={len(zone_ids)}"
        + (" with audio" if with_audio else "")
        + (" unreal counted" if include_unreal else ""),
    ):
        return evidence.write_pack(
            ctx,
            period,
            zone_ids,
            fmt,
            target,
            with_audio=with_audio,
            include_unreal=include_unreal,
        )
