"""The report as a Vietnamese administrative document (Nghị định 30/2020/NĐ-CP, Phụ lục I):
issuing body beside the national motto, number and symbol, place and date, title and
summary line, numbered sections, tables, recipients and signature block; Times New Roman
13–14 pt on A4 with the decree's margins; page numbers from page 2. Two appendices: how to
check the log the figures come from (its head hash and ``broadcaster log verify``), and
the weekly compliance heat map in a landscape section.

The body speaks of the station in its own words (``report.unit``, ``station_term``,
``cluster_term`` in station.yaml), of requirements by their titles, and gives the log's
reasons in Vietnamese (``reports.reasons``). Headings, the paragraph introducing a table
and table header rows keep with what follows; rows never split across pages.

Tables are written as WordprocessingML directly (one string per row, parsed once): a
province's report has a thousand zones and a heat map of 50,000 cells, which python-docx's
cell-by-cell API would take minutes to build. The bar chart is a native Word chart (a
DrawingML chart part with its data embedded as a small workbook), so it stays editable in
Word and LibreOffice and the test can read its numbers back.
"""

from __future__ import annotations

import io
import math
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor

from broadcaster.core.compliance import AT_RISK, MET, NO_SESSION, NOT_MET, ON_TRACK
from broadcaster.core.model import ReportSettings
from broadcaster.reports import labels, reasons
from broadcaster.reports.figures import NOT_APPLICABLE, ReportFigures

FONT = "Times New Roman"
MONO = "Courier New"  # hashes and commands: every character distinct, copied as written
BODY_PT = 13
TABLE_PT = 12
HEAT_PT = 10
TWIPS_PER_MM = 56.6929
PORTRAIT_TEXT_MM = 210 - 30 - 15
LANDSCAPE_TEXT_MM = 297 - 25 - 15
TABLE_STYLE, HEAT_STYLE = "BangSoLieu", "BangNhiet"  # paragraph styles of table cells
HEAT_FILL = {MET: "C6EFCE", NOT_MET: "FFC7CE", NO_SESSION: "D9D9D9", NOT_APPLICABLE: "FFFFFF"}
HEAT_MARK = {MET: "Đ", NOT_MET: "K", NO_SESSION: "–", NOT_APPLICABLE: ""}
# Weeks not over when the report is made (issue 11): never marked "K".
HEAT_FILL |= {ON_TRACK: "DDEBF7", AT_RISK: "FFEB9C"}
HEAT_MARK |= {ON_TRACK: "T", AT_RISK: "N"}
HEAT_NAME_MM = 70.0
HEAT_WEEKS_MAX = 14  # weeks per heat-map table: 10 pt marks in cells of about 13 mm

# The heading block (Phụ lục I, ô 1–4): two columns without cell margins. The national
# title is 12–13 pt bold on one line: at 12 pt it is 88 mm of Times New Roman (its
# metrics are Liberation Serif's), so the right column is 100 mm wide and never wraps it.
HEAD_LEFT_MM = 65.0
HEAD_RIGHT_MM = PORTRAIT_TEXT_MM - HEAD_LEFT_MM
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_TITLE_PT = 12
MOTTO = "Độc lập - Tự do - Hạnh phúc"
MOTTO_PT = 13
MOTTO_RULE_MM = 56  # the line under the motto is as long as the motto (56 mm at 13 pt)
ISSUER_PT = 12
KEEP_TABLE_ROWS = 12  # tables up to this many rows stay on one page with their heading


def write_docx(path: Path, fig: ReportFigures, settings: ReportSettings) -> None:
    doc = Document()
    _page_setup(doc)
    _styles(doc)
    _heading_block(doc, fig, settings)
    _body(doc, fig, settings)
    _signature(doc, settings)
    _log_appendix(doc, fig)
    _heat_appendix(doc, fig)
    doc.save(str(path))


# -- page and styles ---------------------------------------------------------------------------
def _page_setup(doc) -> None:
    s = doc.sections[0]
    s.page_width, s.page_height = Mm(210), Mm(297)
    s.top_margin, s.bottom_margin = Mm(20), Mm(20)
    s.left_margin, s.right_margin = Mm(30), Mm(15)
    s.header_distance, s.footer_distance = Mm(10), Mm(10)
    # Page numbers centred in the header from the second page on (Điều 9 / Phụ lục I).
    s.different_first_page_header_footer = True
    p = s.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p._p.append(
        parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:rPr><w:sz w:val="26"/></w:rPr>'
            "<w:t>2</w:t></w:r></w:fldSimple>"
        )
    )


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)
    pf = normal.paragraph_format
    pf.space_before, pf.space_after = Pt(0), Pt(6)
    pf.line_spacing = 1.1
    pf.widow_control = True
    for name, size in ((TABLE_STYLE, TABLE_PT), (HEAT_STYLE, HEAT_PT)):
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.font.size = Pt(size)
        style.paragraph_format.space_before = style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.line_spacing = 1.0
    # Tables inherit the document default, not "Normal": give them the same font.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        drpr = defaults.find(qn("w:rPrDefault"))
        if drpr is not None and drpr.find(qn("w:rPr")) is not None:
            fonts = drpr.find(qn("w:rPr")).find(qn("w:rFonts"))
            if fonts is not None:
                for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
                    fonts.set(qn(attr), FONT)
                for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    fonts.attrib.pop(qn(attr), None)


def _para(
    container,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    align=None,
    indent: bool = False,
    after: float = 6,
    before: float = 0,
    upper: bool = False,
    keep_next: bool = False,
    font: str | None = None,
):
    p = container.add_paragraph()
    if text:
        run = p.add_run(text.upper() if upper else text)
        run.bold = bold or None
        run.italic = italic or None
        if size:
            run.font.size = Pt(size)
        if font:
            _run_font(run, font)
    pf = p.paragraph_format
    pf.space_after, pf.space_before = Pt(after), Pt(before)
    if keep_next:
        pf.keep_with_next = True
    if align is not None:
        p.alignment = align
    elif indent:
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        pf.first_line_indent = Mm(10)
    return p


def _run_font(run, font: str) -> None:
    run.font.name = font
    rfonts = run._r.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), font)


def _rule(container, line_mm: float, width_mm: float) -> None:
    """A short centred solid line (under the motto, the issuing body and the title): an
    empty paragraph one point high with a bottom border, indented to the line's length."""
    side = round(max((width_mm - line_mm) / 2, 0) * TWIPS_PER_MM)
    p = parse_xml(
        f'<w:p {nsdecls("w")}><w:pPr><w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" '
        'w:color="000000"/></w:pBdr><w:spacing w:before="0" w:after="0" w:line="20" '
        f'w:lineRule="exact"/><w:ind w:left="{side}" w:right="{side}"/>'
        '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>'
    )
    if hasattr(container, "_tc"):
        container._tc.append(p)
    else:
        container.element.body.insert_element_before(p, "w:sectPr")


def _date_line(place: str | None, day: date) -> str:
    """'Tân Kỳ, ngày 05 tháng 02 năm 2026': day below 10 and months 1–2 take a leading 0."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place or '..........'}, ngày {day.day:02d} tháng {month} năm {day.year}"


def _layout_table(doc, widths_mm: tuple[float, float]):
    """Two borderless cells side by side (heading block, signature block), without cell
    margins, so each column's text has the column's whole width."""
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    for column, cell, width in zip(table.columns, table.rows[0].cells, widths_mm, strict=True):
        column.width = Mm(width)
        cell.width = Mm(width)
    margins = parse_xml(
        f'<w:tblCellMar {nsdecls("w")}><w:left w:w="0" w:type="dxa"/>'
        '<w:right w:w="0" w:type="dxa"/></w:tblCellMar>'
    )
    tbl_pr = table._tbl.tblPr  # autofit=False wrote tblLayout; tblCellMar follows it
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(margins)
    else:
        tbl_pr.append(margins)
    cells = table.rows[0].cells
    for cell in cells:  # a new cell holds one empty paragraph: write from the top
        cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
    return cells


# -- the document's head -----------------------------------------------------------------------
def _issuer_rule_mm(name: str) -> float:
    """The line under the issuing body: a third to a half of the name's length (bold
    capitals are about 2.6 mm a character at 12 pt), within its column."""
    longest = min(len(name) * 2.6, HEAD_LEFT_MM)
    return max(15.0, min(30.0, round(longest * 0.4)))


def _station_key_paragraph(doc, fig: ReportFigures) -> None:
    """The station key's public half and its signature of the head above (the signing
    helper's one paragraph; see docs/SECURITY.md)."""
    if not fig.station_public_key:
        return
    signature = (fig.log_head_signed or {}).get("signature", "")
    _para(
        doc,
        "5. Đầu chuỗi trên được ký bằng khóa của đài (Ed25519). Khóa công khai của đài: "
        f"{fig.station_public_key}"
        + (f"; chữ ký: {signature}" if signature else "")
        + ". Kiểm tra: broadcaster log verify --against <tệp báo cáo JSON hoặc hồ sơ>.",
        indent=True,
    )


def _heading_block(doc, fig: ReportFigures, settings: ReportSettings) -> None:
    body_name = (settings.issuing_body or fig.station_name).upper()
    left, right = _layout_table(doc, (HEAD_LEFT_MM, HEAD_RIGHT_MM))
    center = WD_ALIGN_PARAGRAPH.CENTER
    if settings.parent_body:
        _para(left, settings.parent_body.upper(), size=ISSUER_PT, align=center, after=0)
    _para(left, body_name, bold=True, size=ISSUER_PT, align=center, after=0)
    _rule(left, _issuer_rule_mm(body_name), HEAD_LEFT_MM)
    _para(left, f"Số: {settings.number or '      /BC'}", size=13, align=center, after=0, before=6)
    _para(right, NATIONAL_TITLE, bold=True, size=NATIONAL_TITLE_PT, align=center, after=0)
    _para(right, MOTTO, bold=True, size=MOTTO_PT, align=center, after=0)
    _rule(right, MOTTO_RULE_MM, HEAD_RIGHT_MM)
    _para(
        right,
        _date_line(settings.place, fig.generated_at.date()),
        italic=True,
        size=13,
        align=center,
        after=0,
        before=6,
    )
    _para(doc, "BÁO CÁO", bold=True, size=14, align=center, before=24, after=0, keep_next=True)
    _para(
        doc,
        "Kết quả phát sóng nội dung tuyên truyền trên hệ thống truyền thanh cơ sở "
        + fig.period_title,
        bold=True,
        size=14,
        align=center,
        after=0,
        keep_next=True,
    )
    _rule(doc, 40, PORTRAIT_TEXT_MM)
    _para(doc, "", after=6)


# -- body --------------------------------------------------------------------------------------
def _period_phrase(fig: ReportFigures) -> str:
    """'6 tháng đầu năm 2026 (từ ngày 01/01/2026 đến ngày 30/06/2026)'; a period given by
    its days already says them."""
    days = f"từ ngày {fig.first_day:%d/%m/%Y} đến ngày {fig.last_day:%d/%m/%Y}"
    return fig.period_title if fig.period_title == days else f"{fig.period_title} ({days})"


def _network_phrase(fig: ReportFigures, settings: ReportSettings) -> str:
    """'7 cụm loa (gồm đài truyền thanh phường và 6 cụm loa tổ dân phố)', in the station's
    own words for itself and its clusters; '6 cụm loa tổ dân phố' when they are all."""
    stations = sum(1 for z in fig.zones if z.kind == "station")
    clusters = len(fig.zones) - stations
    if not stations:
        return f"{labels.num(clusters)} cụm loa {settings.cluster_term}"
    parts = []
    if stations:
        parts.append(
            settings.station_term if stations == 1 else f"{stations} {settings.station_term}"
        )
    if clusters:
        parts.append(f"{labels.num(clusters)} cụm loa {settings.cluster_term}")
    return f"{labels.num(fig.zones_total)} cụm loa (gồm {' và '.join(parts)})"


def _body(doc, fig: ReportFigures, settings: ReportSettings) -> None:
    t = fig.totals
    _warnings(doc, fig)
    _section(doc, "I. THÔNG TIN CHUNG")
    _para(
        doc,
        f"Báo cáo tổng hợp kết quả phát sóng của {fig.station_name} {_period_phrase(fig)} "
        f"trên {_network_phrase(fig, settings)}.",
        indent=True,
    )
    _para(
        doc,
        "Mọi số liệu trong báo cáo được tổng hợp tự động từ nhật ký phát sóng của hệ thống "
        f"({labels.num(fig.log_entries_in_period)} bản ghi trong kỳ). Nhật ký chỉ được ghi "
        "thêm, mỗi bản ghi được liên kết bằng mã băm SHA-256 với bản ghi trước nên không thể "
        "sửa, xóa bản ghi mà không bị phát hiện; thông tin và cách kiểm tra tính toàn vẹn của "
        "nhật ký tại Phụ lục I kèm theo.",
        indent=True,
    )

    _section(doc, "II. KẾT QUẢ THỰC HIỆN")
    _subsection(doc, "1. Tổng hợp lượt phát sóng")
    _fast_table(
        doc,
        ["Chỉ tiêu", "Số lượng"],
        [
            ["Số cụm loa trong báo cáo", labels.num(fig.zones_total)],
            ["Số cụm loa đã phát sóng ít nhất 01 lượt", labels.num(fig.zones_covered)],
            ["Lượt phát đã lên lịch", labels.num(t.planned)],
            ["Lượt phát thành công", labels.num(t.aired)],
            ["Lượt phát thất bại", labels.num(t.failed)],
            ["Lượt phát bị bỏ lỡ", labels.num(t.missed)],
            ["Lượt phát bị ngắt (do tin khẩn cấp, sự cố)", labels.num(t.interrupted)],
            ["Lượt phát bị hủy", labels.num(t.cancelled)],
            ["Lượt phát chưa có kết quả", labels.num(t.pending)],
            ["Thời lượng yêu cầu (phút)", labels.num(round(t.requested_minutes, 1))],
            ["Thời lượng phát thực tế (phút)", labels.num(round(t.actual_minutes, 1))],
            ["Thời lượng tiếp sóng thực tế (phút)", labels.num(round(t.relay_minutes, 1))],
            ["Thời lượng phát trực tiếp (phút)", labels.num(round(t.live_minutes, 1))],
            ["Lượt phát tin khẩn cấp thành công", labels.num(fig.emergencies_aired)],
        ],
        [120, 45],
        align=["left", "right"],
    )

    _subsection(doc, "2. Chỉ tiêu phát sóng hằng tuần")
    _requirements(doc, fig)

    _subsection(doc, "3. Kết quả theo cụm loa")
    _fast_table(
        doc,
        [
            "TT",
            "Cụm loa",
            "Lên lịch",
            "Thành công",
            "Thất bại",
            "Bỏ lỡ",
            "Bị ngắt",
            "Phút yêu cầu",
            "Phút thực tế",
            "Tuần đạt",
        ],
        [
            [
                str(i),
                z.name,
                labels.num(z.counts.planned),
                labels.num(z.counts.aired),
                labels.num(z.counts.failed),
                labels.num(z.counts.missed),
                labels.num(z.counts.interrupted),
                labels.num(round(z.counts.requested_minutes, 1)),
                labels.num(round(z.counts.actual_minutes, 1)),
                f"{z.weeks_met}/{z.weeks_judged}",
            ]
            for i, z in enumerate(fig.zones, start=1)
        ],
        [9, 44, 15, 17, 15, 12, 13, 17, 17, 14],
        align=["center", "left"] + ["right"] * 8,
    )

    _subsection(doc, "4. Kết quả theo bản tin")
    _fast_table(
        doc,
        [
            "TT",
            "Bản tin",
            "Chiến dịch",
            "Lượt phát thành công",
            "Số cụm loa đã nhận",
            "Lượt không thành công",
        ],
        [
            [
                str(i),
                b.title,
                b.campaign,
                labels.num(b.aired),
                labels.num(b.zones_reached),
                labels.num(b.setbacks),
            ]
            for i, b in enumerate(fig.bulletins, start=1)
        ],
        [9, 70, 24, 22, 20, 20],
        align=["center", "left", "left", "right", "right", "right"],
    )

    _subsection(doc, "5. Sản xuất tin, bài theo tháng")
    target = _target_text(fig)
    _para(
        doc,
        "Một bản tin được tính vào tháng được lãnh đạo duyệt lần đầu. " + target,
        indent=True,
        keep_next=True,
    )
    _fast_table(
        doc,
        ["Tháng", "Số bản tin", "Chỉ tiêu", "Đánh giá"],
        [
            [
                f"{m.month[5:]}/{m.month[:4]}",
                labels.num(m.produced),
                _target_range(m.target_min, m.target_max),
                "–" if m.met is None else ("Đạt" if m.met else "Không đạt"),
            ]
            for m in fig.months
        ],
        [35, 35, 45, 50],
        align=["center", "right", "center", "center"],
    )

    _subsection(doc, "6. Thông tin khẩn cấp")
    if fig.emergencies:
        _fast_table(
            doc,
            ["TT", "Bản tin", "Thời điểm", "Số cụm loa", "Thành công", "Không thành công"],
            [
                [
                    str(i),
                    e.title,
                    f"{e.scheduled_at:%H:%M %d/%m/%Y}",
                    labels.num(e.zones),
                    labels.num(e.aired),
                    labels.num(e.setbacks),
                ]
                for i, e in enumerate(fig.emergencies, start=1)
            ],
            [9, 64, 30, 20, 20, 22],
            align=["center", "left", "center", "right", "right", "right"],
        )
    else:
        _para(doc, "Trong kỳ không phát thông tin khẩn cấp.", indent=True)

    _subsection(doc, "7. Số lượt phát sóng theo tuần")
    _chart(doc, fig)
    _para(
        doc,
        "Kết quả tuân thủ chỉ tiêu hằng tuần của từng cụm loa (bản đồ nhiệt) tại Phụ lục II "
        "kèm theo.",
        italic=True,
        indent=True,
    )

    _section(doc, "III. ĐÁNH GIÁ CHUNG")
    for sentence in _assessment(fig):
        _para(doc, sentence, indent=True)


def _requirements(doc, fig: ReportFigures) -> None:
    """The requirements that applied in the period, by title, and every zone-week that
    fell short with the log's reasons in Vietnamese."""
    _para(
        doc,
        "Một tuần của một cụm loa (tuần-cụm loa) được tính là đạt khi trong tuần đó cụm loa "
        "đã phát thành công đủ số lượt yêu cầu; tuần cụm loa không có buổi phát nào theo lịch "
        "được ghi là “không có buổi phát” và không tính vào tỷ lệ. Tuần đầu và tuần cuối của kỳ "
        "chỉ tính các ngày thuộc kỳ báo cáo.",
        indent=True,
    )
    _para(
        doc,
        f"Tính chung các yêu cầu: {labels.num(fig.zone_weeks_met)}/"
        f"{labels.num(fig.zone_weeks_judged)} tuần-cụm loa đạt, tỷ lệ {labels.pct(fig.share_met)}.",
        indent=True,
        bold=True,
        keep_next=True,
    )
    applied = [r for r in fig.requirements if r.zone_weeks]
    idle = [r for r in fig.requirements if not r.zone_weeks]
    rows = [
        [
            str(i),
            labels.requirement_title(req),
            f"{req.min:02d} lượt/{labels.PER_VI.get(req.per, req.per)}",
            labels.num(req.judged),
            labels.num(req.met),
            labels.num(len(req.not_met)),
            labels.num(req.no_session),
            labels.pct(req.share_met),
        ]
        for i, req in enumerate(applied, start=1)
    ]
    _fast_table(
        doc,
        [
            "TT",
            "Yêu cầu",
            "Mức",
            "Tuần-cụm được xét",
            "Đạt",
            "Không đạt",
            "Không có buổi phát",
            "Tỷ lệ đạt",
        ],
        rows,
        [9, 56, 18, 18, 14, 16, 18, 16],
        align=["center", "left", "center", "right", "right", "right", "right", "right"],
    )
    if idle:
        _para(
            doc,
            "Các yêu cầu sau không áp dụng trong kỳ báo cáo (ngoài thời gian áp dụng hoặc "
            "phạm vi cụm loa): " + "; ".join(labels.requirement_title(r) for r in idle) + ".",
            indent=True,
        )
    not_met = [(req, zw) for req in applied for zw in req.not_met]
    if not not_met:
        _para(doc, "Không có tuần-cụm loa nào không đạt yêu cầu.", indent=True)
        return
    # Each row names its requirement by its number in the table above: a title repeated
    # on every row of a long list would crowd out the reasons.
    number = {req.id: i for i, req in enumerate(applied, start=1)}
    failing = list(dict.fromkeys(req.id for req, _zw in not_met))
    intro = (
        "Các tuần-cụm loa không đạt yêu cầu "
        f"“{labels.requirement_title(not_met[0][0])}” và nguyên nhân "
        if len(failing) == 1
        else "Các tuần-cụm loa không đạt và nguyên nhân "
    )
    _para(
        doc,
        intro + "(cột “Yêu cầu” ghi số thứ tự của yêu cầu tại bảng trên):",
        indent=True,
        before=6,
        keep_next=True,
    )
    _fast_table(
        doc,
        ["TT", "Yêu cầu", "Cụm loa", "Tuần", "Đã phát/ yêu cầu", "Nguyên nhân (theo nhật ký)"],
        [
            [
                str(i),
                str(number[req.id]),
                zw.zone_name,
                f"{zw.week} ({zw.first_day:%d/%m}–{zw.last_day:%d/%m})",
                f"{zw.aired}/{zw.required}",
                "\n".join(f"- {reasons.vietnamese(r)}" for r in zw.reasons),
            ]
            for i, (req, zw) in enumerate(not_met, start=1)
        ],
        [9, 15, 30, 27, 15, 76],
        align=["center", "center", "left", "left", "center", "left"],
    )


def _section(doc, text: str) -> None:
    _para(doc, text, bold=True, before=6, keep_next=True)


def _subsection(doc, text: str) -> None:
    _para(doc, text, bold=True, indent=True, before=4, keep_next=True)


def _target_range(lo: int | None, hi: int | None) -> str:
    if lo is None:
        return "–"
    return f"{lo}–{hi} bản tin" if hi is not None and hi != lo else f"từ {lo} bản tin"


def _target_text(fig: ReportFigures) -> str:
    if not fig.months or fig.months[0].target_min is None:
        return "Kế hoạch chưa đặt chỉ tiêu sản xuất tin, bài hằng tháng."
    m = fig.months[0]
    met = sum(1 for x in fig.months if x.met)
    return (
        f"Chỉ tiêu theo kế hoạch: {_target_range(m.target_min, m.target_max)}/tháng; "
        f"đạt {met}/{len(fig.months)} tháng."
    )


def _assessment(fig: ReportFigures) -> list[str]:
    """Plain statements drawn from the figures; the officer adds the rest in Word."""
    if fig.empty:
        return [labels.NOTHING_TO_REPORT]
    t = fig.totals
    out = [
        f"Trong kỳ, {labels.num(fig.zones_covered)}/{labels.num(fig.zones_total)} cụm loa đã phát "
        f"sóng; {labels.num(t.aired)}/{labels.num(t.planned)} lượt phát theo lịch đã phát "
        "thành công; "
        f"thời lượng phát thực tế {labels.num(round(t.actual_minutes, 1))} phút so với "
        f"{labels.num(round(t.requested_minutes, 1))} phút yêu cầu.",
        f"Tỷ lệ tuần-cụm loa đạt chỉ tiêu phát sóng là {labels.pct(fig.share_met)} "
        f"({labels.num(fig.zone_weeks_met)}/{labels.num(fig.zone_weeks_judged)}).",
    ]
    short: dict[str, int] = {}
    for req in fig.requirements:
        for zw in req.not_met:
            short[zw.zone_name] = short.get(zw.zone_name, 0) + 1
    if short:
        worst = sorted(short.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        out.append(
            "Các cụm loa có tuần không đạt cần được kiểm tra, khắc phục: "
            + ", ".join(f"{name} ({n} tuần)" for name, n in worst)
            + ("…" if len(short) > 10 else "")
            + "."
        )
    elif fig.zone_weeks_judged:
        out.append("Tất cả cụm loa đều đạt chỉ tiêu phát sóng trong các tuần có buổi phát.")
    if fig.zone_weeks_not_over:
        out.append(
            f"{labels.num(fig.zone_weeks_not_over)} tuần-cụm loa chưa kết thúc, trong đó "
            f"{labels.num(sum(len(r.at_risk) for r in fig.requirements))} tuần có nguy cơ "
            "không đạt nếu các lượt phát còn lại không được thực hiện."
        )
    return out


# -- signature ---------------------------------------------------------------------------------
def _recipient_lines(recipients: tuple[str, ...]) -> list[str]:
    """'- UBND tỉnh Nghệ An;' ... '- Lưu: VT, VHXH.': a semicolon after each, a full stop
    after the last, as the decree writes the list."""
    items = [r.strip().rstrip(";.") for r in recipients if r.strip()] or ["Như trên", "Lưu: VT"]
    return [f"- {item}{'.' if i == len(items) - 1 else ';'}" for i, item in enumerate(items)]


def _signature(doc, settings: ReportSettings) -> None:
    left, right = _layout_table(doc, (80, PORTRAIT_TEXT_MM - 80))
    _para(left, "Nơi nhận:", bold=True, italic=True, size=12, after=0, before=12)
    for line in _recipient_lines(settings.recipients):
        _para(left, line, size=11, after=0)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(
        right,
        settings.signer_authority or "",
        bold=True,
        size=13,
        align=center,
        after=0,
        before=12,
        upper=True,
    )
    # "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH": one line each, as the decree lays them out.
    for line in (settings.signer_title or "NGƯỜI LẬP BÁO CÁO").splitlines():
        _para(right, line, bold=True, size=13, align=center, after=0, upper=True)
    _para(
        right,
        "(Ký, ghi rõ họ tên)" if not settings.signer_name else "",
        italic=True,
        size=12,
        align=center,
        after=72,
    )
    _para(right, settings.signer_name or "", bold=True, size=13, align=center, after=0)


# -- appendices --------------------------------------------------------------------------------
def _appendix_section(doc, landscape: bool) -> None:
    """A new section on a new page, its pages numbered on their own from 1 (the first
    unnumbered), as the decree numbers an appendix."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    _shrink_section_break(doc)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        section.left_margin, section.right_margin = Mm(25), Mm(15)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.different_first_page_header_footer = True
    sect_pr = section._sectPr
    for old in sect_pr.findall(qn("w:pgNumType")):
        sect_pr.remove(old)
    pg = parse_xml(f'<w:pgNumType {nsdecls("w")} w:start="1"/>')
    # pgNumType comes before cols/titlePg in CT_SectPr's sequence.
    anchor = sect_pr.find(qn("w:cols"))
    if anchor is not None:
        anchor.addprevious(pg)
    else:
        sect_pr.append(pg)


def _shrink_section_break(doc) -> None:
    """The empty paragraph that carries the previous section's end, one point high: after
    a signature block that fills its page, a full line would push it onto a blank page."""
    breaks = doc.element.body.findall(f"{qn('w:p')}/{qn('w:pPr')}/{qn('w:sectPr')}")
    ppr = breaks[-1].getparent()
    ppr.insert(
        0,
        parse_xml(
            f'<w:spacing {nsdecls("w")} w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
        ),
    )
    breaks[-1].addprevious(parse_xml(f'<w:rPr {nsdecls("w")}><w:sz w:val="2"/></w:rPr>'))


def _appendix_title(doc, number: str, title: str, fig: ReportFigures) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, f"PHỤ LỤC {number}", bold=True, size=14, align=center, after=0, keep_next=True)
    _para(doc, title, bold=True, align=center, after=0, keep_next=True)
    _para(
        doc,
        f"(Kèm theo Báo cáo kết quả phát sóng {fig.period_title})",
        italic=True,
        align=center,
        after=12,
        keep_next=True,
    )


def _log_appendix(doc, fig: ReportFigures) -> None:
    """The log's head hash and how anyone holding the station's computer checks it."""
    _appendix_section(doc, landscape=False)
    _appendix_title(doc, "I", "THÔNG TIN KIỂM TRA NHẬT KÝ PHÁT SÓNG", fig)
    at = fig.generated_at
    _para(
        doc,
        "1. Số liệu của báo cáo được tổng hợp từ nhật ký phát sóng của hệ thống. Nhật ký chỉ "
        "được ghi thêm; mỗi bản ghi mang một mã băm SHA-256 tính từ nội dung của bản ghi và "
        "mã băm của bản ghi liền trước. Sửa, xóa, chèn hoặc đổi thứ tự bất kỳ bản ghi nào đều "
        "làm chuỗi mã băm không còn khớp.",
        indent=True,
    )
    _para(
        doc,
        f"2. Tại thời điểm lập báo cáo ({at:%H:%M} ngày {at:%d/%m/%Y}), chuỗi nhật ký có "
        f"{labels.num(fig.log_head_count)} bản ghi (trong đó "
        f"{labels.num(fig.log_entries_in_period)} bản ghi thuộc kỳ báo cáo); mã băm của bản "
        "ghi cuối cùng (mã băm đầu chuỗi) là:",
        indent=True,
        keep_next=True,
    )
    _para(doc, fig.log_head_hash, size=10, font=MONO, align=WD_ALIGN_PARAGRAPH.CENTER, after=12)
    _para(
        doc,
        "3. Cách kiểm tra: trên máy tính của đài, trong thư mục dữ liệu của đài, chạy lệnh:",
        indent=True,
        keep_next=True,
    )
    _para(doc, "broadcaster log verify", size=11, font=MONO, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(
        doc,
        "Nhật ký còn nguyên vẹn khi lệnh in ra dòng “log intact: N entries, head …”, trong "
        "đó N là số bản ghi hiện có và “head” là 16 ký tự đầu của mã băm đầu chuỗi hiện tại. "
        f"Nếu N bằng {labels.num(fig.log_head_count)}, 16 ký tự đó phải trùng với 16 ký tự "
        "đầu của mã băm nêu trên (lệnh “broadcaster log verify --json” in đủ 64 ký tự). Nếu "
        "sau ngày lập báo cáo đài tiếp tục phát sóng thì N lớn hơn; khi đó bản ghi số "
        f"{labels.num(fig.log_head_count)} (cột “seq”) trong tệp xuất bằng lệnh "
        "“broadcaster log --csv” phải có mã băm (cột “entry_hash”) đúng như trên.",
        indent=True,
    )
    _para(
        doc,
        "Nếu lệnh báo lỗi (bản ghi bị sửa, bị xóa, sai thứ tự hoặc bị cắt bớt), nhật ký đã bị "
        "thay đổi sau khi ghi và các số liệu tổng hợp từ nhật ký không còn bảo đảm.",
        indent=True,
    )
    _para(
        doc,
        "4. Hồ sơ minh chứng của kỳ báo cáo (lệnh “broadcaster evidence”) gồm báo cáo, nhật ký "
        "gốc dạng CSV, kết quả kiểm tra nhật ký và tệp MANIFEST.sha256 ghi mã băm của từng tệp; "
        "kiểm tra hồ sơ bằng lệnh “sha256sum -c MANIFEST.sha256”.",
        indent=True,
    )
    _station_key_paragraph(doc, fig)


def _heat_appendix(doc, fig: ReportFigures) -> None:
    _appendix_section(doc, landscape=True)
    _appendix_title(doc, "II", "KẾT QUẢ TUÂN THỦ CHỈ TIÊU PHÁT SÓNG HẰNG TUẦN THEO CỤM LOA", fig)
    legend = _para(doc, "Chú giải: ", size=11, keep_next=True)
    for state in (MET, NOT_MET, ON_TRACK, AT_RISK, NO_SESSION, NOT_APPLICABLE):
        run = legend.add_run(f" {HEAT_MARK[state] or ' '} ")
        run.font.size = Pt(11)
        run._r.get_or_add_rPr().append(
            parse_xml(
                f'<w:shd {nsdecls("w")} w:val="clear" w:color="auto" w:fill="{HEAT_FILL[state]}"/>'
            )
        )
        legend.add_run(f" {labels.STATE_VI[state]}    ").font.size = Pt(11)
    weeks = list(fig.weeks)
    for chunk in _week_chunks(weeks):
        _heat_table(doc, fig, chunk)


def _week_chunks(weeks: list) -> list[list]:
    """At most HEAT_WEEKS_MAX weeks per table, in tables of nearly equal size (a year of
    53 weeks: 14, 14, 14, 11), so every mark is printed at a readable size."""
    if not weeks:
        return []
    tables = math.ceil(len(weeks) / HEAT_WEEKS_MAX)
    size = math.ceil(len(weeks) / tables)
    return [weeks[i : i + size] for i in range(0, len(weeks), size)]


def _heat_table(doc, fig: ReportFigures, weeks: list) -> None:
    first, last = weeks[0], weeks[-1]
    span = (
        f"Tuần {int(first.week[-2:])}"
        if first is last
        else f"Từ tuần {int(first.week[-2:])} đến tuần {int(last.week[-2:])}"
    )
    years = sorted({w.week[:4] for w in weeks})
    _para(
        doc,
        f"{span} năm {', '.join(years)} (từ ngày {first.first_day:%d/%m/%Y} đến ngày "
        f"{last.last_day:%d/%m/%Y}; tuần tính từ thứ Hai đến Chủ nhật)",
        italic=True,
        size=11,
        before=6,
        after=3,
        keep_next=True,
    )
    cell_mm = min(14.0, (LANDSCAPE_TEXT_MM - HEAT_NAME_MM) / len(weeks))
    widths = [HEAT_NAME_MM] + [cell_mm] * len(weeks)
    names = {z.zone_id: z.name for z in fig.zones}
    head = [_tc("Cụm loa \\ tuần", HEAT_STYLE, bold=True, fill="D9E1F2", keep=True)] + [
        _tc(w.week[-2:], HEAT_STYLE, bold=True, fill="D9E1F2", align="center", keep=True)
        for w in weeks
    ]
    rows = ["<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" + "".join(head) + "</w:tr>"]
    for zone_id, cells in fig.heatmap.items():
        tcs = [_tc(names.get(zone_id, zone_id), HEAT_STYLE)]
        for w in weeks:
            state = cells.get(w.week, NOT_APPLICABLE)
            tcs.append(
                _tc(
                    HEAT_MARK.get(state, ""),
                    HEAT_STYLE,
                    fill=HEAT_FILL.get(state, "FFFFFF"),
                    align="center",
                )
            )
        rows.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + "".join(tcs) + "</w:tr>")
    _append_table(doc, widths, rows, cell_margin=40)


# -- fast tables -------------------------------------------------------------------------------
def _tc(
    text: str,
    style: str,
    *,
    bold: bool = False,
    fill: str | None = None,
    align: str | None = None,
    keep: bool = False,
) -> str:
    """One cell, as few elements as Word needs: the font size and spacing come from a
    paragraph style, the width from the table grid (fixed layout). A province's heat map
    has 50,000 cells; each element saved is 50,000 nodes less in memory. ``keep`` keeps
    the row with the next one (header rows, short tables)."""
    shd = f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{fill}"/></w:tcPr>' if fill else ""
    keep_xml = "<w:keepNext/>" if keep else ""
    jc = f'<w:jc w:val="{align}"/>' if align and align != "left" else ""
    bold_xml = "<w:rPr><w:b/></w:rPr>" if bold else ""
    lines = "<w:br/>".join(
        f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in text.split("\n")
    )
    run = f"<w:r>{bold_xml}{lines}</w:r>" if text else ""
    return (
        f'<w:tc>{shd}<w:p><w:pPr><w:pStyle w:val="{style}"/>{keep_xml}{jc}</w:pPr>{run}</w:p>'
        "</w:tc>"
    )


def _fast_table(
    doc, headers: list[str], rows: list[list[str]], widths_mm: list[float], align: list[str]
) -> None:
    """A table with a repeated header row that never ends a page; a short table (up to
    KEEP_TABLE_ROWS rows) is kept on one page, long ones at least keep their first row
    with the header. Rows never split."""
    total = sum(widths_mm)
    widths = [w * PORTRAIT_TEXT_MM / total for w in widths_mm]
    head = "".join(
        _tc(h, TABLE_STYLE, bold=True, fill="D9E1F2", align="center", keep=True) for h in headers
    )
    xml_rows = ["<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" + head + "</w:tr>"]
    together = len(rows) <= KEEP_TABLE_ROWS
    for i, row in enumerate(rows):
        keep = i < len(rows) - 1 and (together or i == 0)
        cells = "".join(
            _tc(v, TABLE_STYLE, align=a, keep=keep) for v, a in zip(row, align, strict=True)
        )
        xml_rows.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + cells + "</w:tr>")
    _append_table(doc, widths, xml_rows)
    _para(doc, "", after=2)


def _append_table(doc, widths_mm: list[float], rows: list[str], cell_margin: int = 60) -> None:
    grid = "".join(f'<w:gridCol w:w="{round(w * TWIPS_PER_MM)}"/>' for w in widths_mm)
    xml = (
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/>'
        f'<w:tblW w:w="{round(sum(widths_mm) * TWIPS_PER_MM)}" w:type="dxa"/>'
        '<w:tblLayout w:type="fixed"/>'
        f'<w:tblCellMar><w:left w:w="{cell_margin}" w:type="dxa"/>'
        f'<w:right w:w="{cell_margin}" w:type="dxa"/></w:tblCellMar>'
        '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
        'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    )
    doc.element.body.insert_element_before(parse_xml(xml), "w:sectPr")


# -- the native bar chart ----------------------------------------------------------------------
_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SERIES = (("Phát thành công", "2E75B6", "aired"), ("Không thành công", "C00000", "setbacks"))


def _chart(doc, fig: ReportFigures) -> None:
    """A clustered column chart of airings per week, with its data as an embedded sheet."""
    cats = [f"Tuần {int(w.week[-2:])}" for w in fig.weeks]  # "Tuần 48", as the text says
    values = [[getattr(w, key) for w in fig.weeks] for _n, _c, key in SERIES]
    package = doc.part.package
    chart_part = Part(PackURI("/word/charts/chart1.xml"), CT.DML_CHART, b"", package)
    workbook = Part(
        PackURI("/word/embeddings/Microsoft_Excel_Worksheet1.xlsx"),
        CT.SML_SHEET,
        _chart_workbook(cats, values),
        package,
    )
    wb_rid = chart_part.relate_to(workbook, RT.PACKAGE)
    chart_part._blob = _chart_xml(cats, values, wb_rid).encode("utf-8")
    rid = doc.part.relate_to(chart_part, RT.CHART)
    width, height = Mm(PORTRAIT_TEXT_MM), Mm(80)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p._p.append(
        parse_xml(
            f'<w:r {nsdecls("w", "wp", "a", "c", "r")}><w:drawing><wp:inline distT="0" distB="0" '
            f'distL="0" distR="0"><wp:extent cx="{width}" cy="{height}"/>'
            '<wp:effectExtent l="0" t="0" r="0" b="0"/>'
            '<wp:docPr id="4001" name="Biểu đồ lượt phát theo tuần"/><wp:cNvGraphicFramePr/>'
            f'<a:graphic><a:graphicData uri="{_C}"><c:chart r:id="{rid}"/></a:graphicData>'
            "</a:graphic></wp:inline></w:drawing></w:r>"
        )
    )


def _chart_workbook(cats: list[str], values: list[list[int]]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("Sheet1")
    ws.write_string(0, 0, "Tuần")
    for s, (name, _color, _key) in enumerate(SERIES):
        ws.write_string(0, s + 1, name)
        for i, v in enumerate(values[s]):
            ws.write_number(i + 1, s + 1, v)
    for i, c in enumerate(cats):
        ws.write_string(i + 1, 0, c)
    wb.close()
    return buf.getvalue()


def _col(i: int) -> str:
    return "ABCDEFGHIJ"[i]


def _chart_xml(cats: list[str], values: list[list[int]], wb_rid: str) -> str:
    n = len(cats)
    font = f'<a:latin typeface="{FONT}"/><a:cs typeface="{FONT}"/>'

    def txpr(size: int, bold: bool = False) -> str:
        return (
            f'<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="{size}" '
            f'b="{1 if bold else 0}">{font}</a:defRPr></a:pPr><a:endParaRPr lang="vi-VN"/>'
            "</a:p></c:txPr>"
        )

    cat_pts = "".join(f'<c:pt idx="{i}"><c:v>{escape(c)}</c:v></c:pt>' for i, c in enumerate(cats))
    series = []
    for s, (name, color, _key) in enumerate(SERIES):
        col = _col(s + 1)
        pts = "".join(f'<c:pt idx="{i}"><c:v>{v}</c:v></c:pt>' for i, v in enumerate(values[s]))
        series.append(
            f'<c:ser><c:idx val="{s}"/><c:order val="{s}"/>'
            f'<c:tx><c:strRef><c:f>Sheet1!${col}$1</c:f><c:strCache><c:ptCount val="1"/>'
            f'<c:pt idx="0"><c:v>{escape(name)}</c:v></c:pt></c:strCache></c:strRef></c:tx>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{color}"/></a:solidFill></c:spPr>'
            '<c:invertIfNegative val="0"/>'
            f"<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${n + 1}</c:f><c:strCache>"
            f'<c:ptCount val="{n}"/>{cat_pts}</c:strCache></c:strRef></c:cat>'
            f"<c:val><c:numRef><c:f>Sheet1!${col}$2:${col}${n + 1}</c:f><c:numCache>"
            f'<c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>{pts}</c:numCache>'
            "</c:numRef></c:val></c:ser>"
        )
    title = "Số lượt phát sóng theo tuần"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<c:chartSpace xmlns:c="{_C}" xmlns:a="{_A}" xmlns:r="{_R}">'
        '<c:lang val="vi-VN"/><c:roundedCorners val="0"/>'
        "<c:chart>"
        "<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr>"
        f'<a:defRPr sz="1200" b="1">{font}'
        f'</a:defRPr></a:pPr><a:r><a:rPr lang="vi-VN" sz="1200" b="1">{font}</a:rPr>'
        f"<a:t>{title}</a:t></a:r></a:p></c:rich></c:tx>"
        '<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        "<c:plotArea><c:layout/>"
        '<c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>'
        + "".join(series)
        + '<c:gapWidth val="60"/><c:axId val="50010001"/><c:axId val="50010002"/></c:barChart>'
        '<c:catAx><c:axId val="50010001"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="0"/>'
        '<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        + txpr(800)
        + '<c:crossAx val="50010002"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        '<c:valAx><c:axId val="50010002"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
        '<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
        '<c:numFmt formatCode="#,##0" sourceLinked="0"/><c:majorTickMark val="out"/>'
        '<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        + txpr(900)
        + '<c:crossAx val="50010001"/><c:crosses val="autoZero"/>'
        '<c:crossBetween val="between"/></c:valAx></c:plotArea>'
        '<c:legend><c:legendPos val="b"/><c:overlay val="0"/>'
        + txpr(1000)
        + '</c:legend><c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        f'<c:externalData r:id="{wb_rid}"><c:autoUpdate val="0"/></c:externalData>'
        "</c:chartSpace>"
    )


def _warnings(doc, fig: ReportFigures) -> None:
    """What the reader must know before the figures (non-real clocks, no data, weeks not
    over), bold and in red on the first page; the same words as every other format."""
    for text in labels.warnings(fig):
        paragraph = _para(doc, text, bold=True, indent=True)
        for run in paragraph.runs:
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
