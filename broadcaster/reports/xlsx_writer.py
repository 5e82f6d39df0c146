"""The workbook: summary, zones, weekly compliance, the raw log and bulletins.

XlsxWriter in ``constant_memory`` mode streams each row to disk as it is written, so a
year of a province's log (a million rows) never sits in memory. Excel stops at 1,048,576
rows: past that the log sheet ends with a line saying where the complete CSV is.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from broadcaster.reports import labels, reasons
from broadcaster.reports.figures import ReportFigures
from broadcaster.reports.rawlog import COLUMNS, TIME_COLUMNS, LocalTimes

EXCEL_MAX_ROWS = 1_048_576
AIRINGS_SHEET = 4  # xl/worksheets/sheet4.xml: sheets are numbered in the order added

RAW_HEADERS = {
    "seq": "Số thứ tự (seq)",
    "airing_id": "Mã lượt phát",
    "zone": "Cụm loa",
    "bulletin_id": "Bản tin",
    "audio_sha256": "SHA-256 âm thanh",
    "scheduled_at": "Giờ theo lịch",
    "started_at": "Bắt đầu phát",
    "ended_at": "Kết thúc phát",
    "outcome": "Kết quả",
    "reason": "Lý do",
    "reason_vi": "Lý do (tiếng Việt)",
    "approved_by": "Người duyệt",
    "triggered_by": "Người/tác nhân phát",
    "recorded_at": "Thời điểm ghi",
    "receivers": "Kết quả từng đầu thu",
    "campaigns": "Chiến dịch",
    "week": "Tuần",
    "priority": "Mức ưu tiên",
    "origin": "Nguồn gốc lượt phát",
    "duration_seconds": "Thời lượng yêu cầu (giây)",
    "clock": "Đồng hồ (trống = thực)",
    "source": "Nguồn tiếp sóng",
    "relayed_seconds": "Thời lượng tiếp sóng (giây)",
    "dropouts": "Gián đoạn tiếp sóng",
    "entry_hash": "Mã băm bản ghi",
    "prev_hash": "Mã băm bản ghi trước",
}
RAW_WIDTHS = {
    "seq": 10,
    "airing_id": 11,
    "zone": 16,
    "bulletin_id": 24,
    "audio_sha256": 20,
    "reason": 40,
    "reason_vi": 45,
    "approved_by": 20,
    "triggered_by": 20,
    "receivers": 30,
    "entry_hash": 20,
    "prev_hash": 20,
    "outcome": 12,
}


def write_xlsx(
    path: Path,
    figures: ReportFigures,
    raw_rows: Iterable[tuple[Any, ...]],
    row_count: int,
    tz,
    *,
    full_csv_name: str | None = None,
    max_rows: int = EXCEL_MAX_ROWS,
) -> int:
    """Returns how many log rows the Airings sheet holds."""
    wb = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    f = _Formats(wb)
    _summary(wb.add_worksheet("Tổng hợp"), figures, f)
    _zones(wb.add_worksheet("Cụm loa"), figures, f)
    _weekly(wb.add_worksheet("Tuân thủ hằng tuần"), figures, f)
    _airings_frame(wb.add_worksheet("Lượt phát"), f)
    _bulletins(wb.add_worksheet("Bản tin"), figures, f)
    wb.close()
    where = f"tệp CSV '{full_csv_name}'" if full_csv_name else "tệp CSV nhật ký đầy đủ"
    limit = f"{max_rows:,}".replace(",", ".")
    note = (
        f"Danh sách dừng ở đây vì Excel chỉ chứa được {limit} dòng; toàn bộ nhật ký "
        f"phát sóng của kỳ báo cáo có trong {where}."
    )
    return _stream_airings(path, AIRINGS_SHEET, raw_rows, row_count, tz, note, max_rows)


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.header = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
        self.title = wb.add_format({"bold": True, "font_size": 13})
        self.date = wb.add_format({"num_format": "dd/mm/yyyy"})
        self.datetime = wb.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
        self.percent = wb.add_format({"num_format": "0.0%"})
        self.minutes = wb.add_format({"num_format": "#,##0.0"})
        self.int = wb.add_format({"num_format": "#,##0"})
        self.note = wb.add_format({"italic": True, "font_color": "#C00000"})


def _table(ws, headers: list[str], rows: list[list[Any]], f: _Formats, formats=None) -> None:
    """A typed table: bold frozen header, filters, widths from the content."""
    widths = [len(h) + 2 for h in headers]
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, f.header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            fmt = formats[c] if formats else None
            _cell(ws, r, c, value, fmt, f)
            widths[c] = max(widths[c], _width(value))
    for c, w in enumerate(widths):
        ws.set_column(c, c, min(w, 70))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)


def _cell(ws, r: int, c: int, value: Any, fmt, f: _Formats) -> None:
    if value is None:
        ws.write_blank(r, c, None, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(r, c, value.replace(tzinfo=None), fmt or f.datetime)
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt or f.date)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 20
    if isinstance(value, date):
        return 12
    if isinstance(value, float):
        return 10
    return len(str(value)) + 2


def _summary(ws, fig: ReportFigures, f: _Formats) -> None:
    rows: list[list[Any]] = [[k, v] for k, v in labels.summary_items(fig)]
    formats = [None, None]
    widths = [len("Chỉ tiêu"), 16]
    ws.write_string(0, 0, "Chỉ tiêu", f.header)
    ws.write_string(0, 1, "Giá trị", f.header)
    for r, (key, value) in enumerate(rows, start=1):
        ws.write_string(r, 0, key)
        fmt = f.percent if key.startswith("Tỷ lệ") and isinstance(value, float) else None
        if isinstance(value, float) and fmt is None:
            fmt = f.minutes
        _cell(ws, r, 1, value, fmt or formats[1], f)
        widths[0] = max(widths[0], len(key) + 2)
        widths[1] = max(widths[1], _width(value))
    ws.set_column(0, 0, min(widths[0], 70))
    ws.set_column(1, 1, min(widths[1], 70))
    ws.freeze_panes(1, 0)


def _zones(ws, fig: ReportFigures, f: _Formats) -> None:
    headers = [
        "Mã cụm loa",
        "Tên",
        "Loại",
        "Lượt lên lịch",
        "Đã phát",
        "Thất bại",
        "Bỏ lỡ",
        "Bị ngắt",
        "Bị hủy",
        "Chưa có kết quả",
        "Phút yêu cầu",
        "Phút thực tế",
        "Tuần đạt",
        "Tuần được xét",
        "Tỷ lệ tuần đạt",
        "Tuần không có buổi phát",
        "Khung giờ tiếp sóng",
        "Phút tiếp sóng thực tế",
        "Lượt phát trực tiếp",
        "Phút phát trực tiếp",
    ]
    rows = []
    for z in fig.zones:
        c = z.counts
        rows.append(
            [
                z.zone_id,
                z.name,
                labels.KIND_VI.get(z.kind, z.kind),
                c.planned,
                c.aired,
                c.failed,
                c.missed,
                c.interrupted,
                c.cancelled,
                c.pending,
                round(c.requested_minutes, 1),
                round(c.actual_minutes, 1),
                z.weeks_met,
                z.weeks_judged,
                z.weeks_met / z.weeks_judged if z.weeks_judged else None,
                z.weeks_no_session,
                c.relay_windows,
                round(c.relay_minutes, 1),
                c.live_broadcasts,
                round(c.live_minutes, 1),
            ]
        )
    formats = [None] * 10 + [f.minutes, f.minutes, None, None, f.percent, None, None, f.minutes]
    formats += [None, f.minutes]
    _table(ws, headers, rows, f, formats)


def _weekly(ws, fig: ReportFigures, f: _Formats) -> None:
    headers = [
        "Yêu cầu",
        "Mã cụm loa",
        "Tên cụm loa",
        "Tuần",
        "Từ ngày",
        "Đến ngày",
        "Kết quả",
        "Số lượt yêu cầu",
        "Số lượt đã phát",
        "Lý do",
        "Lý do (nguyên văn nhật ký)",
    ]
    rows = []
    for req in fig.requirements:
        title = labels.requirement_title(req)
        for zw in req.zone_weeks:
            rows.append(
                [
                    title,
                    zw.zone_id,
                    zw.zone_name,
                    zw.week,
                    zw.first_day,
                    zw.last_day,
                    labels.STATE_VI[zw.state],
                    zw.required,
                    zw.aired,
                    "; ".join(reasons.vietnamese(r) for r in zw.reasons),
                    "; ".join(zw.reasons),
                ]
            )
    _table(ws, headers, rows, f)


def _airings_frame(ws, f: _Formats) -> None:
    """The log sheet as XlsxWriter sees it: header, widths, frozen row, filter, and one
    template row whose cells carry the styles the streamed rows will use."""
    for c, name in enumerate(SHEET_COLUMNS):
        datetime_col = name in TIME_COLUMNS
        ws.set_column(c, c, RAW_WIDTHS.get(name, 20), f.datetime if datetime_col else None)
        ws.write_string(0, c, RAW_HEADERS[name], f.header)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, 1, len(SHEET_COLUMNS) - 1)
    ws.write_number(1, TEMPLATE_DATETIME_COL, 0.0, f.datetime)
    ws.write_string(1, TEMPLATE_NOTE_COL, "note", f.note)


# The log's columns, and beside the stored reason (the evidence) the same in Vietnamese.
REASON_COL = COLUMNS.index("reason")
SHEET_COLUMNS = [*COLUMNS[: REASON_COL + 1], "reason_vi", *COLUMNS[REASON_COL + 1 :]]
TEMPLATE_DATETIME_COL = SHEET_COLUMNS.index("scheduled_at")
TEMPLATE_NOTE_COL = 0
_LETTERS = [xl_col_to_name(i) for i in range(len(SHEET_COLUMNS))]
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]|^\s|\s$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _inline(ref: str, text: str, style: str = "") -> str:
    space = ""
    if _NEEDS_ESCAPE.search(text):
        text = _CONTROL.sub("\ufffd", escape(text))
        if text != text.strip():
            space = ' xml:space="preserve"'
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _stream_airings(
    path: Path,
    sheet_number: int,
    rows: Iterable[tuple[Any, ...]],
    row_count: int,
    tz,
    note: str,
    max_rows: int,
) -> int:
    """Replace the log sheet's template row with the log's rows, streamed.

    XlsxWriter spends about 10 µs per cell (type checks, dimension tracking, escaping
    regexes): two minutes for a province's year. Here each row is one formatted string
    written straight into the package; the sheet's frame, the styles and every other
    sheet are XlsxWriter's own. ``row_count`` (counted in the same read transaction as
    ``rows``) sizes the dimension and the filter before the rows are written."""
    name = f"xl/worksheets/sheet{sheet_number}.xml"
    truncated = row_count > max_rows - 1
    data_rows = max_rows - 2 if truncated else row_count
    last_row = max(max_rows if truncated else data_rows + 1, 2)
    out_path = path.with_name(path.name + ".rows")
    with zipfile.ZipFile(path) as source:
        sheet = source.read(name).decode("utf-8")
        template = re.search(r'<row r="2"[^>]*>.*?</row>', sheet)
        assert template is not None, "the log sheet's template row is missing"
        styles = dict(re.findall(r'<c r="([A-Z]+)2" s="(\d+)"', template.group(0)))
        dt_style = f' s="{styles[_LETTERS[TEMPLATE_DATETIME_COL]]}"'
        note_style = f' s="{styles[_LETTERS[TEMPLATE_NOTE_COL]]}"'
        head = _resize(sheet[: template.start()], last_row)
        tail = _resize(sheet[template.end() :], last_row)
        with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for info in source.infolist():
                if info.filename == name:
                    continue
                data = source.read(info.filename)
                if info.filename == "xl/workbook.xml":
                    data = _resize(data.decode("utf-8"), last_row).encode("utf-8")
                out.writestr(info, data)
            with out.open(name, "w", force_zip64=True) as fh:  # deflated, like the rest
                fh.write(head.encode("utf-8"))
                written = _write_rows(fh, rows, data_rows, dt_style, tz)
                if truncated:
                    cell = _inline(f"A{max_rows}", note, note_style)
                    fh.write(f'<row r="{max_rows}">{cell}</row>'.encode())
                fh.write(tail.encode("utf-8"))
    os.replace(out_path, path)
    return written


def _write_rows(fh, rows: Iterable[tuple[Any, ...]], limit: int, dt_style: str, tz) -> int:
    excel = LocalTimes(tz).excel
    time_idx = {i for i, c in enumerate(COLUMNS) if c in TIME_COLUMNS}
    numbers = ("seq", "airing_id", "duration_seconds", "relayed_seconds")
    int_idx = {i for i, c in enumerate(COLUMNS) if c in numbers}
    # Ids are slugs, hashes hex digits, outcomes words: only free text can need escaping.
    free_text = {
        COLUMNS.index(c)
        for c in (
            *("reason", "approved_by", "triggered_by", "receivers", "campaigns", "clock"),
            "dropouts",
        )
    }
    kinds = [
        "t" if i in time_idx else "n" if i in int_idx else "s" if i in free_text else "k"
        for i in range(len(COLUMNS))
    ]
    kinds[REASON_COL] = "r"  # the stored reason, then its Vietnamese beside it
    # The sheet has one column more than the log from the reason on.
    letters = [_LETTERS[i if i <= REASON_COL else i + 1] for i in range(len(COLUMNS))]
    vi_letter = _LETTERS[REASON_COL + 1]
    vietnamese = reasons.vietnamese
    buf: list[str] = []
    n = 0
    for row in rows:
        if n >= limit:
            break
        n += 1
        rs = str(n + 1)
        cells = []
        for c, value in enumerate(row):
            if value is None:
                continue
            kind = kinds[c]
            ref = letters[c] + rs
            if kind == "r":
                if value:
                    cells.append(_inline(ref, value))
                    cells.append(_inline(vi_letter + rs, vietnamese(value)))
            elif kind == "t":
                cells.append(f'<c r="{ref}"{dt_style}><v>{excel(value)!r}</v></c>')
            elif kind == "n":
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif kind == "k":
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                cells.append(_inline(ref, value))
        buf.append(f'<row r="{rs}">{"".join(cells)}</row>')
        if len(buf) >= 2000:
            fh.write("".join(buf).encode("utf-8"))
            buf.clear()
    fh.write("".join(buf).encode("utf-8"))
    return n


def _resize(xml: str, last_row: int) -> str:
    """The sheet's dimension and filter ranges (also the workbook's hidden
    _FilterDatabase name) down to the last row."""
    xml = re.sub(r'(<dimension ref="A1:[A-Z]+)\d+"', lambda m: f'{m.group(1)}{last_row}"', xml)
    xml = re.sub(r'(<autoFilter ref="A1:[A-Z]+)\d+"', lambda m: f'{m.group(1)}{last_row}"', xml)
    return re.sub(
        r"(_xlnm\._FilterDatabase[^>]*>[^<]*\$A\$1:\$[A-Z]+\$)\d+",
        lambda m: f"{m.group(1)}{last_row}",
        xml,
    )


def _bulletins(ws, fig: ReportFigures, f: _Formats) -> None:
    headers = [
        "Mã bản tin",
        "Tiêu đề",
        "Chiến dịch",
        "Số lượt đã phát",
        "Số cụm loa đã nhận",
        "Lượt không thành công",
    ]
    rows = [
        [
            b.bulletin_id,
            b.title,
            b.campaign,
            b.aired,
            b.zones_reached,
            b.setbacks,
        ]
        for b in fig.bulletins
    ]
    _table(ws, headers, rows, f)
