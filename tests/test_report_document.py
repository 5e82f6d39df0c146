"""The DOCX/PDF report as a document an official signs, on a phường of tổ dân phố:
Vietnamese reasons, the station's own words, requirement titles, the log's hash in an
appendix with how to check it, the national title on one line, headings kept with what
follows, a legible heat map. Built through the real ``broadcaster`` executable from a
week the real engine simulated."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import load_workbook
from simkit import sim_root, sim_url
from stationkit import Cli

from broadcaster.reports import docx_writer

PHUONG_YAML = """\
station:
  id: nam-dinh
  name: Đài truyền thanh phường Nam Định
  timezone: Asia/Ho_Chi_Minh
  tts: [espeak]
  grace_minutes: 20
quiet_hours:
  - {start: "21:30", end: "05:00"}
outputs:
  files: {type: file, dir: out}
zones:
  - {id: tdp-cua-bac, name: Tổ dân phố Cửa Bắc, kind: cluster, output: files}
  - {id: tdp-hang-sat, name: Tổ dân phố Hàng Sắt, kind: cluster, output: files}
  - {id: tdp-ben-thoc, name: Tổ dân phố Bến Thóc, kind: cluster, output: files}
  - {id: tdp-vi-xuyen, name: Tổ dân phố Vị Xuyên, kind: cluster, output: files}
  - {id: tdp-nang-tinh, name: Tổ dân phố Năng Tĩnh, kind: cluster, output: files}
  - {id: tdp-truong-thi, name: Tổ dân phố Trường Thi, kind: cluster, output: files}
sessions:
  - {id: sang, zones: all, days: [mon, tue, wed, thu, fri], start: "06:00", max_minutes: 15}
  - {id: chieu, zones: all, days: [mon, tue, wed, thu, fri], start: "17:00", max_minutes: 15}
requirements:
  - id: nq57-hang-tuan
    title: Phát sóng nội dung tuyên truyền Nghị quyết 57-NQ/TW tối thiểu 01 lần/tuần
    campaign: nq57
    min: 1
    per: week
    zones: all
report:
  issuing_body: UBND PHƯỜNG NAM ĐỊNH
  parent_body: UBND TỈNH NINH BÌNH
  number: "    /BC-UBND"
  place: Nam Định
  signer_authority: TM. ỦY BAN NHÂN DÂN
  signer_title: CHỦ TỊCH
  signer_name: Trần Thị B
  recipients: [UBND tỉnh Ninh Bình (để báo cáo), "Lưu: VT, VHXH"]
  unit: phường
  cluster_term: tổ dân phố
"""
PERIOD = ("--from", "2026-11-23", "--to", "2026-11-29")
REPORT_NOW = "2026-12-02T08:30:00+07:00"
DOWN_ZONE = "Tổ dân phố Bến Thóc"
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture(scope="module")
def phuong(rendered_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Week 48 on the phường: tdp-ben-thoc unreachable from Monday to Wednesday, then the
    station down from Thursday to Sunday: the make-ups booked for Thursday and Friday are
    missed when it comes back on Monday 30/11."""
    root = tmp_path_factory.mktemp("phuong") / "station"
    shutil.copytree(rendered_template, root, ignore=shutil.ignore_patterns("*.lock", "out"))
    (root / "schedules" / "station.yaml").write_text(PHUONG_YAML, encoding="utf-8")
    cli = Cli(root)
    cli("plan", "--week", "2026-W48", check=True)
    outage = ("--fail", "tdp-ben-thoc@2026-11-23/2026-11-25")
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-25", *outage, check=True)
    cli("simulate", "--from", "2026-11-30", "--to", "2026-11-30", "--continue", check=True)
    return root


class ReportCli(Cli):
    """Reports on the simulation's own database, counting its simulated entries
    (``--include-unreal``, which the report then announces)."""

    def __call__(self, *args: str, check: bool = False):
        return self.subprocess(*args, check=check)

    def subprocess(self, *args: str, check: bool = False, timeout: float = 120):
        if args and args[0] == "report":
            args = (args[0], "--include-unreal", *args[1:])
        return super().subprocess("--db", sim_url(self.root), *args, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def pcli(phuong: Path) -> Cli:
    return ReportCli(phuong, env={"BROADCASTER_NOW": REPORT_NOW})


@pytest.fixture(scope="module")
def report(pcli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("phuong-out") / "bao-cao.docx"
    r = pcli("report", *PERIOD, "--out", str(target))
    assert r.code == 0, r.err
    return target


def _sql(root: Path, sql: str) -> list[tuple]:
    """On the simulation's own database, where the simulated week is."""
    conn = sqlite3.connect(sim_root(root) / "station.db")
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def _blocks(doc) -> list[tuple[str, object]]:
    """Every paragraph and table of the body in document order, as (text, element)."""
    out = []
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            out.append(("".join(t.text or "" for t in child.iter(qn("w:t"))), child))
        elif child.tag == qn("w:tbl"):
            out.append(("\t".join(t.text or "" for t in child.iter(qn("w:t"))), child))
    return out


def _split_at_appendix(doc) -> tuple[str, str]:
    """The body (up to the signature) and the appendices."""
    blocks = _blocks(doc)
    at = next(i for i, (text, _e) in enumerate(blocks) if text.startswith("PHỤ LỤC I"))
    body = "\n".join(text for text, _e in blocks[:at])
    return body, "\n".join(text for text, _e in blocks[at:])


def test_the_week_has_a_missed_and_a_failed_airing(phuong: Path):
    outcomes = dict(_sql(phuong, "select outcome, count(*) from as_run_log group by 1"))
    assert outcomes.get("missed", 0) >= 1 and outcomes.get("failed", 0) >= 1
    reasons = [r for (r,) in _sql(phuong, "select reason from as_run_log where outcome='missed'")]
    assert all(r.startswith("not started by ") for r in reasons)  # stored in English


def test_log_reasons_are_in_vietnamese_in_the_docx(report: Path, phuong: Path):
    doc = Document(str(report))
    body, _appendix = _split_at_appendix(doc)
    gaps = next(
        t
        for t in doc.tables
        if [c.text for c in t.rows[0].cells[:3]] == ["TT", "Yêu cầu", "Cụm loa"]
    )
    [row] = [r for r in gaps.rows[1:] if r.cells[2].text == DOWN_ZONE]
    why = row.cells[5].text
    assert "lượt bị bỏ lỡ: không phát được trước " in why, why
    # Its sessions (15 min) end before the grace (20 min) would: the session's end is the
    # reason, not the grace (issue 11).
    assert "buổi phát kết thúc lúc 06:15" in why, why
    assert "): buổi phát không còn chỗ, hoặc đài ngừng hoạt động" in why, why
    assert "mất kết nối tới cụm loa" in why
    for english in ("not started by", "grace", "failed", "unreachable", "the station was"):
        assert english not in body, english


def test_the_station_speaks_in_its_own_words(report: Path):
    doc = Document(str(report))
    body, _appendix = _split_at_appendix(doc)
    assert "trên 6 cụm loa tổ dân phố." in body
    assert "thôn, xóm" not in body and "truyền thanh xã" not in body
    left = doc.tables[0].rows[0].cells[0].text
    assert "UBND TỈNH NINH BÌNH" in left and "UBND PHƯỜNG NAM ĐỊNH" in left


def test_requirements_appear_by_title_never_by_id(report: Path, pcli: Cli, tmp_path: Path):
    doc = Document(str(report))
    everything = "\n".join(text for text, _e in _blocks(doc))
    assert "nq57-hang-tuan" not in everything
    title = "Phát sóng nội dung tuyên truyền Nghị quyết 57-NQ/TW tối thiểu 01 lần/tuần"
    requirements = next(
        t for t in doc.tables if [c.text for c in t.rows[0].cells[:3]] == ["TT", "Yêu cầu", "Mức"]
    )
    assert requirements.rows[1].cells[1].text == title
    # The list of gaps names the one requirement that failed, and numbers it on each row.
    assert f"Các tuần-cụm loa không đạt yêu cầu “{title}” và nguyên nhân" in everything
    gaps = next(
        t
        for t in doc.tables
        if [c.text for c in t.rows[0].cells[:3]] == ["TT", "Yêu cầu", "Cụm loa"]
    )
    assert {r.cells[1].text for r in gaps.rows[1:]} == {"1"}
    target = tmp_path / "r.xlsx"
    assert pcli("report", *PERIOD, "--out", str(target)).code == 0
    wb = load_workbook(target)
    summary = [row[0] for row in wb["Tổng hợp"].iter_rows(min_row=2, values_only=True)]
    assert f"Tỷ lệ đạt: {title}" in summary
    weekly = list(wb["Tuân thủ hằng tuần"].iter_rows(values_only=True))
    assert {row[0] for row in weekly[1:]} == {title}


def test_xlsx_keeps_the_stored_reason_and_adds_the_vietnamese(pcli: Cli, tmp_path: Path):
    target = tmp_path / "r.xlsx"
    assert pcli("report", *PERIOD, "--out", str(target)).code == 0
    sheet = list(load_workbook(target)["Lượt phát"].iter_rows(values_only=True))
    head = list(sheet[0])
    stored, vi = head.index("Lý do"), head.index("Lý do (tiếng Việt)")
    assert vi == stored + 1
    outcome = head.index("Kết quả")
    missed = [row for row in sheet[1:] if row[outcome] == "missed"]
    assert missed
    for row in missed:
        assert row[stored].startswith("not started by ")
        assert row[vi].startswith("không phát được trước ")
    assert all(row[vi] is None for row in sheet[1:] if row[outcome] == "aired")
    assert head[-2:] == ["Mã băm bản ghi", "Mã băm bản ghi trước"]


def test_the_log_hash_is_in_an_appendix_that_says_how_to_check_it(report: Path, phuong: Path):
    doc = Document(str(report))
    body, appendix = _split_at_appendix(doc)
    assert not HEX64.search(body)
    [(head_hash,)] = _sql(phuong, "select head_hash from log_chain_head")
    found = HEX64.findall(appendix)
    assert found[0] == head_hash
    # the only other long hex is the station key's public half, which signs that head
    public = Cli(phuong)("keys", "show").out.strip()
    assert set(found[1:]) <= {public}
    assert "broadcaster log verify" in appendix
    assert "THÔNG TIN KIỂM TRA NHẬT KÝ PHÁT SÓNG" in appendix
    assert "Phụ lục I" in body  # the body says where to look


def _text_width_mm(text: str, pt: float, bold: bool) -> float:
    """The text's width from the font's own advance widths. Liberation Serif has Times
    New Roman's metrics (tools/install-deps.sh installs it for the PDF)."""
    ttlib = pytest.importorskip("fontTools.ttLib")
    style = "Bold" if bold else "Regular"
    path = Path(f"/usr/share/fonts/truetype/liberation2/LiberationSerif-{style}.ttf")
    if not path.is_file():
        pytest.skip("fonts-liberation2 is not installed: tools/install-deps.sh installs it")
    font = ttlib.TTFont(str(path))
    cmap, hmtx = font.getBestCmap(), font["hmtx"]
    units = sum(hmtx[cmap[ord(ch)]][0] for ch in text)
    return units / font["head"].unitsPerEm * pt * 25.4 / 72


def test_national_title_fits_on_one_line(report: Path):
    doc = Document(str(report))
    right = doc.tables[0].rows[0].cells[1]
    [title] = [p for p in right.paragraphs if "CỘNG HÒA" in p.text]
    assert title.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    [run] = title.runs
    assert run.bold and Pt(12) <= run.font.size <= Pt(13)
    assert run.font.name in (None, "Times New Roman")  # the document's font
    margins = doc.tables[0]._tbl.tblPr.find(qn("w:tblCellMar"))
    side = sum(int(margins.find(qn(f"w:{s}")).get(qn("w:w"))) for s in ("left", "right"))
    usable_mm = right.width.mm - side / 56.6929
    width = _text_width_mm(title.text, run.font.size.pt, bold=True)
    assert width < usable_mm - 2, (width, usable_mm)
    [motto] = [p for p in right.paragraphs if p.text.startswith("Độc lập")]
    assert motto.runs[0].bold and Pt(13) <= motto.runs[0].font.size <= Pt(14)
    assert _text_width_mm(motto.text, motto.runs[0].font.size.pt, bold=True) < usable_mm


def _keeps_next(p) -> bool:
    ppr = p.find(qn("w:pPr"))
    return ppr is not None and ppr.find(qn("w:keepNext")) is not None


def test_headings_and_table_heads_keep_with_what_follows(report: Path):
    doc = Document(str(report))
    blocks = _blocks(doc)
    appendix = next(i for i, (text, _e) in enumerate(blocks) if text.startswith("PHỤ LỤC I"))
    heading = re.compile(r"^(I|II|III)\. |^\d\. [A-ZĐ]|^BÁO CÁO$")
    headings = [
        (text, el)
        for i, (text, el) in enumerate(blocks)
        if el.tag == qn("w:p")
        and (heading.match(text) if i < appendix else text.startswith("PHỤ LỤC"))
    ]
    assert len(headings) == 13, [text for text, _e in headings]
    for text, el in headings:
        assert _keeps_next(el), text
    for table in doc.tables:
        rows = table._tbl.findall(qn("w:tr"))
        if len(rows) < 2:
            continue  # the one-row layout tables of the heading and signature blocks
        head = rows[0]
        assert head.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
        assert all(_keeps_next(p) for p in head.iter(qn("w:p")))
        for row in rows[1:]:
            assert row.find(f"{qn('w:trPr')}/{qn('w:cantSplit')}") is not None


def test_heat_map_is_printed_at_a_legible_size(report: Path):
    doc = Document(str(report))
    style = doc.styles[docx_writer.HEAT_STYLE]
    assert style.font.size >= Pt(10)
    heat = [t for t in doc.tables if t.rows[0].cells[0].text == "Cụm loa \\ tuần"]
    assert heat and all(len(t.columns) - 1 <= docx_writer.HEAT_WEEKS_MAX for t in heat)
    assert doc.sections[-1].page_width > doc.sections[-1].page_height  # landscape


@pytest.mark.parametrize(
    ("weeks", "sizes"),
    [(1, [1]), (14, [14]), (15, [8, 7]), (27, [14, 13]), (53, [14, 14, 14, 11])],
)
def test_heat_map_splits_long_periods_into_even_tables(weeks: int, sizes: list[int]):
    chunks = docx_writer._week_chunks(list(range(weeks)))
    assert [len(c) for c in chunks] == sizes
    assert [w for c in chunks for w in c] == list(range(weeks))


def test_pdf_header_lines_do_not_wrap(pcli: Cli, tmp_path: Path):
    """The rendered PDF's first page: the national title on one line, beside the issuing
    body; the date line and the signer's name are there."""
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        pytest.skip("needs LibreOffice and pdftotext: tools/install-deps.sh installs them")
    target = tmp_path / "bao-cao.pdf"
    r = pcli.subprocess("report", *PERIOD, "--format", "pdf", "--out", str(target), timeout=300)
    assert r.code == 0, r.err
    text = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(target), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = text.splitlines()
    [title] = [line for line in lines if "CỘNG HÒA" in line]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in title
    assert "UBND TỈNH NINH BÌNH" in title  # side by side, on the same line
    assert not any(line.strip() == "NAM" for line in lines)
    assert "Nam Định, ngày 02 tháng 12 năm 2026" in text


def test_a_station_without_words_keeps_the_commune_wording(bare_station: Path, tmp_path: Path):
    """No unit/station_term/cluster_term: the wording of a xã of thôn, xóm, as before."""
    from broadcaster.app.context import load_config

    words = load_config(bare_station).report
    assert (words.unit, words.station_term, words.cluster_term) == (
        "xã",
        "đài truyền thanh xã",
        "thôn, xóm",
    )
    phuong = tmp_path / "phuong"
    shutil.copytree(bare_station, phuong)
    (phuong / "schedules" / "station.yaml").write_text(PHUONG_YAML, encoding="utf-8")
    words = load_config(phuong).report
    assert (words.unit, words.station_term, words.cluster_term) == (
        "phường",
        "đài truyền thanh phường",
        "tổ dân phố",
    )


def test_an_unknown_unit_is_a_located_error(bare_station: Path):
    (bare_station / "schedules" / "station.yaml").write_text(
        PHUONG_YAML.replace("unit: phường", "unit: quận"), encoding="utf-8"
    )
    r = Cli(bare_station)("check")
    assert r.code == 1
    assert "station.yaml:" in r.err + r.out and "unit" in r.err + r.out
    assert "Traceback" not in r.err
