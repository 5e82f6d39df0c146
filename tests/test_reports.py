"""Evidence reports end to end: a simulated period with failures, misses, an interruption,
a cancellation, an emergency and a zone-week without any session, reported in every
format through the real ``broadcaster`` executable, and every figure read back and
compared with a count made here directly over the raw log with sqlite3."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import sqlite3
import subprocess
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm
from icalendar import Calendar
from lxml import etree
from openpyxl import load_workbook
from simkit import sim_root, sim_url
from stationkit import STATION_HEAD, VN, Cli

REPORT_NOW = "2026-12-10T09:00:00+07:00"
PERIOD = ("--from", "2026-11-23", "--to", "2026-11-30")
FIRST, LAST = date(2026, 11, 23), date(2026, 11, 30)
ZONES = ("xa", "thon-a", "thon-b", "thon-c")
ZONE_NAMES = {
    "xa": "Đài xã",
    "thon-a": "Cụm loa thôn A",
    "thon-b": "Cụm loa thôn B",
    "thon-c": "Cụm loa thôn C",
}
# thon-c has no session on Mondays: the period's last day (Monday 30/11, week 49) is a
# zone-week without any session for it, and must be reported as such, not as a failure.
SESSION_DAYS = {"xa": set(range(7)), "thon-a": set(range(7)), "thon-b": set(range(7))}
SESSION_DAYS["thon-c"] = {1, 2, 3, 4, 5, 6}

REPORT_YAML = (
    STATION_HEAD
    + """\
zones:
  - {id: xa, name: Đài xã, kind: station, output: files}
  - {id: thon-a, name: Cụm loa thôn A, kind: cluster, output: files}
  - {id: thon-b, name: Cụm loa thôn B, kind: cluster, output: files}
  - {id: thon-c, name: Cụm loa thôn C, kind: cluster, output: files}
sessions:
  - {id: sang, zones: [xa, thon-a, thon-b], days: [mon, tue, wed, thu, fri, sat, sun], start: "06:00", max_minutes: 10}
  - {id: chieu, zones: [xa, thon-a, thon-b], days: [mon, tue, wed, thu, fri, sat, sun], start: "17:00", max_minutes: 10}
  - {id: chieu-c, zones: [thon-c], days: [tue, wed, thu, fri, sat, sun], start: "17:00", max_minutes: 10}
requirements:
  - id: nq57-tuan
    title: Tuyên truyền Nghị quyết 57 tối thiểu 02 lần/tuần
    campaign: nq57
    min: 2
    per: week
    zones: all
report:
  issuing_body: UBND XÃ THỬ NGHIỆM
  parent_body: UBND TỈNH NGHỆ AN
  number: 12/BC-UBND
  place: Thử Nghiệm
  signer_authority: TM. ỦY BAN NHÂN DÂN
  signer_title: Chủ tịch
  signer_name: Nguyễn Văn A
  recipients: [UBND tỉnh (để báo cáo), "Lưu: VT"]
  bulletins_per_month: {min: 2, max: 4}
"""
)


# -- the simulated period ------------------------------------------------------------------
@pytest.fixture(scope="module")
def period_station(rendered_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """W48 and the Monday of W49: thon-a unreachable all week 48, one airing cancelled by
    an operator, a storm alert cutting Monday's 06:00 session, and the station down on
    Wednesday 25/11 (the airings due that day are missed when it comes back)."""
    root = tmp_path_factory.mktemp("reports") / "station"
    shutil.copytree(rendered_template, root, ignore=shutil.ignore_patterns("*.lock", "out"))
    (root / "schedules" / "station.yaml").write_text(REPORT_YAML, encoding="utf-8")
    cli = Cli(root)
    cli("plan", "--week", "2026-W48", check=True)
    victim = _sql(root, "select id from airing where zone_id='thon-b' order by scheduled_at desc")
    cli("cancel", str(victim[0][0]), "--by", "Trực ban", check=True)
    outage = ("--fail", "thon-a@2026-11-23/2026-11-29")
    cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-24",
        *outage,
        "--emergency",
        "bao-lu@2026-11-23 06:00:02",
        check=True,
    )
    cli("simulate", "--from", "2026-11-26", "--to", "2026-11-30", *outage, "--continue", check=True)
    return root


class ReportCli(Cli):
    """Reports on the simulation's own database (the period was simulated: the station's
    database holds only the plan and the cancellation), counting its simulated and
    shifted-clock entries: ``--include-unreal``, which the reports then announce."""

    def __call__(self, *args: str, check: bool = False):
        if args and args[0] in ("report", "evidence"):
            args = (args[0], "--include-unreal", *args[1:])
        return super().__call__("--db", sim_url(self.root), *args, check=check)


@pytest.fixture(scope="module")
def rcli(period_station: Path) -> Cli:
    return ReportCli(period_station, env={"BROADCASTER_NOW": REPORT_NOW})


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


def _sql(root: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(root / "station.db")
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def _utc_text(day: date) -> str:
    """Local midnight of ``day`` as the stored naive-UTC text."""
    local = datetime(day.year, day.month, day.day, tzinfo=VN)
    return local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


START, END = _utc_text(FIRST), _utc_text(LAST + timedelta(days=1))
IN_PERIOD = "l.scheduled_at >= ? and l.scheduled_at < ?"


# -- the independent count --------------------------------------------------------------------
class Expected:
    """Every figure, counted here with plain SQL over the raw tables."""

    def __init__(self, root: Path) -> None:
        self.root = root
        q = lambda sql, *p: _sql(root, sql, *p)  # noqa: E731
        self.outcomes = Counter(
            dict(
                q(
                    f"select outcome, count(*) from as_run_log l where {IN_PERIOD} group by 1",
                    START,
                    END,
                )
            )
        )
        self.by_zone = defaultdict(Counter)
        for zone, outcome, n in q(
            f"select zone_id, outcome, count(*) from as_run_log l where {IN_PERIOD} group by 1, 2",
            START,
            END,
        ):
            self.by_zone[zone][outcome] = n
        self.planned = dict(
            q(
                "select zone_id, count(*) from airing where scheduled_at >= ? and scheduled_at < ? group by 1",
                START,
                END,
            )
        )
        self.requested = dict(
            q(
                "select zone_id, sum(duration_seconds) / 60.0 from airing where scheduled_at >= ? "
                "and scheduled_at < ? and status != 'cancelled' group by 1",
                START,
                END,
            )
        )
        self.actual = dict(
            q(
                "select zone_id, sum((julianday(ended_at) - julianday(started_at)) * 86400) / 60.0 "
                f"from as_run_log l where {IN_PERIOD} and outcome in ('aired', 'interrupted') group by 1",
                START,
                END,
            )
        )
        self.bulletins = {
            b: (aired, zones)
            for b, aired, zones in q(
                "select bulletin_id, count(*), count(distinct zone_id) from as_run_log l "
                f"where {IN_PERIOD} and outcome = 'aired' group by 1",
                START,
                END,
            )
        }
        self.emergencies_aired = q(
            f"select count(*) from as_run_log l where {IN_PERIOD} and outcome = 'aired' "
            "and triggered_by like 'emergency:%'",
            START,
            END,
        )[0][0]
        self.entries = q(f"select count(*) from as_run_log l where {IN_PERIOD}", START, END)[0][0]
        # Weekly rule: nq57 airings aired per zone and local day, then per ISO week.
        aired_days: Counter = Counter()
        for zone, scheduled in q(
            f"select l.zone_id, l.scheduled_at from as_run_log l join airing a on a.id = l.airing_id "
            f"where {IN_PERIOD} and l.outcome = 'aired' and (a.campaign = 'nq57' or a.tags like '%,nq57,%')",
            START,
            END,
        ):
            local = datetime.fromisoformat(scheduled).replace(tzinfo=UTC).astimezone(VN).date()
            aired_days[(zone, local)] += 1
        self.weeks: dict[str, list[date]] = defaultdict(list)
        day = FIRST
        while day <= LAST:
            y, w, _ = day.isocalendar()
            self.weeks[f"{y}-W{w:02d}"].append(day)
            day += timedelta(days=1)
        self.state: dict[tuple[str, str], str] = {}
        self.aired_in_week: dict[tuple[str, str], int] = {}
        for zone in ZONES:
            for week, days in self.weeks.items():
                n = sum(aired_days[(zone, d)] for d in days)
                self.aired_in_week[(zone, week)] = n
                if not any(d.weekday() in SESSION_DAYS[zone] for d in days):
                    self.state[(zone, week)] = "no-session"
                else:
                    self.state[(zone, week)] = "met" if n >= 2 else "not-met"
        self.weekly_aired = Counter()
        for week, days in self.weeks.items():
            lo, hi = _utc_text(days[0]), _utc_text(days[-1] + timedelta(days=1))
            self.weekly_aired[week] = q(
                "select count(*) from as_run_log where outcome = 'aired' and scheduled_at >= ? "
                "and scheduled_at < ?",
                lo,
                hi,
            )[0][0]

    @property
    def judged(self) -> int:
        return sum(1 for s in self.state.values() if s != "no-session")

    @property
    def met(self) -> int:
        return sum(1 for s in self.state.values() if s == "met")


@pytest.fixture(scope="module")
def expected(period_station: Path) -> Expected:
    return Expected(sim_root(period_station))


def test_the_simulated_period_has_every_kind_of_event(expected: Expected):
    """The scenario really contains what the report must explain."""
    for outcome in ("aired", "failed", "missed", "interrupted", "cancelled"):
        assert expected.outcomes[outcome] > 0, (outcome, expected.outcomes)
    assert expected.emergencies_aired > 0
    assert expected.state[("thon-a", "2026-W48")] == "not-met"
    assert expected.state[("thon-c", "2026-W49")] == "no-session"
    assert "met" in expected.state.values()


# -- JSON -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def figures(rcli: Cli, out_dir: Path) -> dict:
    target = out_dir / "bao-cao.json"
    r = rcli("report", *PERIOD, "--format", "json", "--out", str(target))
    assert r.code == 0, r.err
    assert str(target) in r.out
    return json.loads(target.read_text(encoding="utf-8"))


def test_json_figures_equal_the_raw_log(figures: dict, expected: Expected):
    t = figures["totals"]
    for outcome in ("aired", "failed", "missed", "interrupted", "cancelled"):
        assert t[outcome] == expected.outcomes[outcome], outcome
    assert t["planned"] == sum(expected.planned.values())
    assert t["pending"] == 0
    assert t["requested_minutes"] == pytest.approx(sum(expected.requested.values()))
    assert t["actual_minutes"] == pytest.approx(sum(expected.actual.values()))
    assert figures["log_entries_in_period"] == expected.entries
    assert figures["zones_total"] == 4
    assert figures["zones_covered"] == sum(1 for z in ZONES if expected.by_zone[z]["aired"])
    for zone in figures["zones"]:
        c, zid = zone["counts"], zone["zone_id"]
        for outcome in ("aired", "failed", "missed", "interrupted", "cancelled"):
            assert c[outcome] == expected.by_zone[zid][outcome], (zid, outcome)
        assert c["planned"] == expected.planned.get(zid, 0)
        assert c["actual_minutes"] == pytest.approx(expected.actual.get(zid, 0.0))
    [req] = figures["requirements"]
    assert req["judged"] == expected.judged and req["met"] == expected.met
    assert req["share_met"] == pytest.approx(expected.met / expected.judged)
    assert req["no_session"] == 1
    states = {(z["zone_id"], z["week"]): z["state"] for z in req["zone_weeks"]}
    assert states == expected.state
    not_met = {(z["zone_id"], z["week"]): z for z in req["not_met"]}
    assert set(not_met) == {k for k, s in expected.state.items() if s == "not-met"}
    thon_a = not_met[("thon-a", "2026-W48")]
    assert thon_a["aired"] == 0 and thon_a["required"] == 2
    assert any("thất bại" in r and "unreachable" in r for r in thon_a["reasons"])
    assert {
        b["bulletin_id"]: (b["aired"], b["zones_reached"])
        for b in figures["bulletins"]
        if b["aired"]
    } == expected.bulletins
    assert figures["emergencies_aired"] == expected.emergencies_aired
    [storm] = figures["emergencies"]
    assert storm["bulletin_id"] == "bao-lu" and storm["zones"] == 4
    assert {w["week"]: w["aired"] for w in figures["weeks"]} == dict(expected.weekly_aired)
    assert figures["heatmap"]["thon-c"]["2026-W49"] == "no-session"
    # Production counts first approvals inside the period: the scripts were approved on
    # 22/11 (the template's clock), the day before it starts.
    [month] = figures["months"]
    assert month["month"] == "2026-11" and month["produced"] == 0 and month["met"] is False
    head = _sql(expected.root, "select count, head_hash from log_chain_head")[0]
    assert (figures["log_head_count"], figures["log_head_hash"]) == head


def test_bulletins_produced_per_month_against_the_target(rcli: Cli, out_dir: Path):
    target = out_dir / "thang-11.json"
    rcli("report", "--period", "2026-11", "--out", str(target), check=True)
    months = json.loads(target.read_text(encoding="utf-8"))["months"]
    firsts = _sql(
        sim_root(rcli.root), "select bulletin_id, min(approved_at) from approval group by 1"
    )
    november = sorted(
        b
        for b, at in firsts
        if datetime.fromisoformat(at).replace(tzinfo=UTC).astimezone(VN).strftime("%Y-%m")
        == "2026-11"
    )
    assert len(november) == 5
    assert months == [
        {
            "month": "2026-11",
            "produced": 5,
            "bulletin_ids": november,
            "target_min": 2,
            "target_max": 4,
            "met": True,
        }
    ]


def test_zones_option_restricts_every_figure(rcli: Cli, out_dir: Path, expected: Expected):
    target = out_dir / "thon-a.json"
    r = rcli("report", *PERIOD, "--zones", "thon-a", "--out", str(target))
    assert r.code == 0, r.err
    fig = json.loads(target.read_text(encoding="utf-8"))
    assert fig["zone_ids"] == ["thon-a"]
    assert fig["totals"]["failed"] == expected.by_zone["thon-a"]["failed"]
    assert fig["totals"]["aired"] == expected.by_zone["thon-a"]["aired"]
    assert set(fig["heatmap"]) == {"thon-a"}


# -- DOCX -------------------------------------------------------------------------------------------
def _table(doc, first_header: str):
    for t in doc.tables:
        if t.rows and t.rows[0].cells[0].text.strip() == first_header:
            return t
    raise AssertionError(f"no table starting with {first_header!r}")


def _tables(doc, headers: tuple[str, ...]):
    return [
        t for t in doc.tables if tuple(c.text for c in t.rows[0].cells[: len(headers)]) == headers
    ]


def _int(text: str) -> int:
    return int(text.replace(".", ""))


def _num(text: str) -> float:
    return float(text.replace(".", "").replace(",", "."))


@pytest.fixture(scope="module")
def docx_path(rcli: Cli, out_dir: Path) -> Path:
    target = out_dir / "bao-cao.docx"
    r = rcli("report", *PERIOD, "--out", str(target))  # format from the extension
    assert r.code == 0, r.err
    return target


def test_docx_is_a_decree_30_document(docx_path: Path):
    doc = Document(str(docx_path))
    s = doc.sections[0]
    size = (
        s.page_width,
        s.page_height,
        s.top_margin,
        s.bottom_margin,
        s.left_margin,
        s.right_margin,
    )
    for got, mm in zip(size, (210, 297, 20, 20, 30, 15), strict=True):
        assert abs(got - Mm(mm)) < Mm(0.1), (got.mm, mm)  # stored in twips
    assert doc.styles["Normal"].font.name == "Times New Roman"
    assert 13 <= doc.styles["Normal"].font.size.pt <= 14
    head = doc.tables[0]
    left, right = (c.text for c in head.rows[0].cells)
    assert "UBND TỈNH NGHỆ AN" in left and "UBND XÃ THỬ NGHIỆM" in left
    assert "Số: 12/BC-UBND" in left
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right
    assert "Độc lập - Tự do - Hạnh phúc" in right
    assert "Thử Nghiệm, ngày 10 tháng 12 năm 2026" in right
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "BÁO CÁO" in text
    assert "từ ngày 23/11/2026 đến ngày 30/11/2026" in text
    for section in (
        "I. THÔNG TIN CHUNG",
        "II. KẾT QUẢ THỰC HIỆN",
        "III. ĐÁNH GIÁ CHUNG",
        "PHỤ LỤC",
    ):
        assert section in text
    signature = doc.tables[-1] if "Nơi nhận" in doc.tables[-1].rows[0].cells[0].text else None
    signature = signature or next(t for t in doc.tables if "Nơi nhận" in t.rows[0].cells[0].text)
    sign = signature.rows[0].cells[1].text
    assert "TM. ỦY BAN NHÂN DÂN" in sign and "CHỦ TỊCH" in sign and "Nguyễn Văn A" in sign
    assert "UBND tỉnh (để báo cáo)" in signature.rows[0].cells[0].text
    # The heat map's appendix is a landscape section.
    assert doc.sections[-1].page_width > doc.sections[-1].page_height


def test_docx_figures_equal_the_raw_log(docx_path: Path, expected: Expected):
    doc = Document(str(docx_path))
    summary = {r.cells[0].text: r.cells[1].text for r in _table(doc, "Chỉ tiêu").rows[1:]}
    assert _int(summary["Lượt phát đã lên lịch"]) == sum(expected.planned.values())
    assert _int(summary["Lượt phát thành công"]) == expected.outcomes["aired"]
    assert _int(summary["Lượt phát thất bại"]) == expected.outcomes["failed"]
    assert _int(summary["Lượt phát bị bỏ lỡ"]) == expected.outcomes["missed"]
    assert (
        _int(summary["Lượt phát bị ngắt (do tin khẩn cấp, sự cố)"])
        == expected.outcomes["interrupted"]
    )
    assert _int(summary["Lượt phát bị hủy"]) == expected.outcomes["cancelled"]
    assert _int(summary["Lượt phát tin khẩn cấp thành công"]) == expected.emergencies_aired
    assert _num(summary["Thời lượng phát thực tế (phút)"]) == pytest.approx(
        sum(expected.actual.values()), abs=0.05
    )
    assert _num(summary["Thời lượng yêu cầu (phút)"]) == pytest.approx(
        sum(expected.requested.values()), abs=0.05
    )
    # Requirement share and the not-met list with reasons.
    [req_row] = _tables(doc, ("TT", "Yêu cầu", "Mức"))[0].rows[1:]
    cells = [c.text for c in req_row.cells]
    assert _int(cells[3]) == expected.judged and _int(cells[4]) == expected.met
    assert _int(cells[6]) == 1  # the one zone-week without a session
    assert cells[7] == f"{expected.met / expected.judged * 100:.1f}%".replace(".", ",")
    gaps = _tables(doc, ("TT", "Yêu cầu", "Cụm loa", "Tuần"))[0].rows[1:]
    listed = {(r.cells[2].text, r.cells[3].text[:8]) for r in gaps}
    assert listed == {(ZONE_NAMES[z], w) for (z, w), s in expected.state.items() if s == "not-met"}
    assert all(r.cells[5].text for r in gaps)  # every gap explained
    # Per zone.
    zones = {r.cells[1].text: r for r in _tables(doc, ("TT", "Cụm loa", "Lên lịch"))[0].rows[1:]}
    for zid, name in ZONE_NAMES.items():
        c = [x.text for x in zones[name].cells]
        assert _int(c[2]) == expected.planned.get(zid, 0)
        assert _int(c[3]) == expected.by_zone[zid]["aired"]
        assert _int(c[4]) == expected.by_zone[zid]["failed"]
        assert _int(c[5]) == expected.by_zone[zid]["missed"]
        assert _int(c[6]) == expected.by_zone[zid]["interrupted"]
        met = sum(1 for (z, _w), s in expected.state.items() if z == zid and s == "met")
        judged = sum(1 for (z, _w), s in expected.state.items() if z == zid and s != "no-session")
        assert c[9] == f"{met}/{judged}"
    # Per bulletin.
    rows = _tables(doc, ("TT", "Bản tin", "Chiến dịch"))[0].rows[1:]
    got = {r.cells[1].text: (_int(r.cells[3].text), _int(r.cells[4].text)) for r in rows}
    assert {k: v for k, v in got.items() if v[0]} == {
        f"Bản tin {b}": v for b, v in expected.bulletins.items()
    }
    # Heat map: one row per zone, one column per week, the state of each cell.
    heat = _table(doc, "Cụm loa \\ tuần")
    weeks = [c.text for c in heat.rows[0].cells[1:]]
    assert weeks == [w[-2:] for w in expected.weeks]
    marks = {"met": "Đ", "not-met": "K", "no-session": "–"}
    for row in heat.rows[1:]:
        zid = next(z for z, n in ZONE_NAMES.items() if n == row.cells[0].text)
        for week, cell in zip(expected.weeks, row.cells[1:], strict=True):
            assert cell.text == marks[expected.state[(zid, week)]], (zid, week)


def test_docx_bar_chart_is_a_native_chart_of_airings_per_week(docx_path: Path, expected: Expected):
    doc = Document(str(docx_path))
    charts = [
        p for p in doc.part.package.iter_parts() if str(p.partname).startswith("/word/charts/")
    ]
    assert len(charts) == 1
    xml = etree.fromstring(charts[0].blob)
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    first = xml.find(".//c:ser", ns)
    cats = [v.text for v in first.findall("c:cat//c:pt/c:v", ns)]
    values = [float(v.text) for v in first.findall("c:val//c:pt/c:v", ns)]
    assert cats == [f"Tuần {int(w[-2:])}" for w in expected.weeks]
    assert values == [expected.weekly_aired[w] for w in expected.weeks]
    embedded = [p for p in doc.part.package.iter_parts() if str(p.partname).endswith(".xlsx")]
    sheet = load_workbook(io.BytesIO(embedded[0].blob)).active
    assert [sheet.cell(r + 2, 2).value for r in range(len(values))] == values


# -- PDF -------------------------------------------------------------------------------------------
def test_pdf_has_pages(rcli: Cli, out_dir: Path):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: tools/install-deps.sh installs it")
    target = out_dir / "bao-cao.pdf"
    r = rcli.subprocess("report", *PERIOD, "--format", "pdf", "--out", str(target), timeout=300)
    assert r.code == 0, r.err
    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True, check=True)
        pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    else:
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 3
    assert not list(out_dir.glob(".bao-cao.pdf.*"))


@pytest.fixture
def no_soffice(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with the station's other tools but without LibreOffice."""
    bin_dir = tmp_path_factory.mktemp("bin")
    for tool in ("ffmpeg", "ffprobe", "espeak-ng"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_pdf_without_libreoffice_says_how_to_install_it(rcli: Cli, out_dir: Path, no_soffice: str):
    target = out_dir / "none.pdf"
    cli = Cli(rcli.root, env={"BROADCASTER_NOW": REPORT_NOW, "PATH": no_soffice})
    r = cli("report", *PERIOD, "--format", "pdf", "--out", str(target))
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1
    assert "libreoffice-writer-nogui" in r.err and "Traceback" not in r.err
    assert not target.exists()


# -- XLSX ------------------------------------------------------------------------------------------
def test_xlsx_sheets_are_typed_and_equal_the_raw_log(rcli: Cli, out_dir: Path, expected: Expected):
    target = out_dir / "bao-cao.xlsx"
    r = rcli("report", *PERIOD, "--format", "xlsx", "--out", str(target))
    assert r.code == 0, r.err
    wb = load_workbook(target)
    assert wb.sheetnames == ["Tổng hợp", "Cụm loa", "Tuân thủ hằng tuần", "Lượt phát", "Bản tin"]
    for ws in wb.worksheets[1:]:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref
    summary = {row[0]: row[1] for row in wb["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Lượt phát thành công"] == expected.outcomes["aired"]
    assert summary["Lượt phát thất bại"] == expected.outcomes["failed"]
    assert summary["Lượt phát bị bỏ lỡ"] == expected.outcomes["missed"]
    assert summary["Lượt phát bị ngắt"] == expected.outcomes["interrupted"]
    assert summary["Lượt phát bị hủy"] == expected.outcomes["cancelled"]
    assert summary["Tỷ lệ tuần-cụm loa đạt yêu cầu"] == pytest.approx(
        expected.met / expected.judged
    )
    assert isinstance(summary["Từ ngày"], datetime) and summary["Từ ngày"].date() == FIRST
    zones = {row[0]: row for row in wb["Cụm loa"].iter_rows(min_row=2, values_only=True)}
    for zid in ZONES:
        row = zones[zid]
        assert row[3] == expected.planned.get(zid, 0)
        assert (row[4], row[5], row[6], row[7], row[8]) == tuple(
            expected.by_zone[zid][o]
            for o in ("aired", "failed", "missed", "interrupted", "cancelled")
        )
        assert row[11] == pytest.approx(expected.actual.get(zid, 0.0), abs=0.05)
    weekly = {
        (row[1], row[3]): row
        for row in wb["Tuân thủ hằng tuần"].iter_rows(min_row=2, values_only=True)
    }
    words = {"met": "Đạt", "not-met": "Không đạt", "no-session": "Không có buổi phát"}
    assert {k: v[6] for k, v in weekly.items()} == {k: words[s] for k, s in expected.state.items()}
    for key, row in weekly.items():
        assert row[8] == min(expected.aired_in_week[key], 2) or row[6] == words["no-session"]
        assert isinstance(row[4], datetime)
    airings = list(wb["Lượt phát"].iter_rows(min_row=2, values_only=True))
    assert len(airings) == expected.entries
    raw = _sql(
        expected.root,
        f"select seq, scheduled_at, outcome, entry_hash from as_run_log l where {IN_PERIOD} order by seq",
        START,
        END,
    )
    for row, (seq, scheduled, outcome, entry_hash) in zip(airings, raw, strict=True):
        assert (
            row[0] == seq and row[8] == outcome and row[-2] == entry_hash
        )  # entry_hash, prev_hash end the row
        local = datetime.fromisoformat(scheduled).replace(tzinfo=UTC).astimezone(VN)
        assert isinstance(row[5], datetime)
        assert abs(row[5] - local.replace(tzinfo=None)) < timedelta(milliseconds=2)
    bulletins = {
        row[0]: (row[3], row[4]) for row in wb["Bản tin"].iter_rows(min_row=2, values_only=True)
    }
    assert {k: v for k, v in bulletins.items() if v[0]} == expected.bulletins


def test_xlsx_log_sheet_stops_at_the_row_limit_and_names_the_csv(tmp_path: Path):
    from broadcaster.reports.figures import Counts, ReportFigures
    from broadcaster.reports.xlsx_writer import write_xlsx

    fig = ReportFigures(
        station_id="s",
        station_name="Đài",
        timezone="Asia/Ho_Chi_Minh",
        period_key="2026-11",
        period_title="tháng 11/2026",
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 30),
        generated_at=datetime(2026, 12, 1, 8),
        zone_ids=[],
        zones_total=0,
        zones_covered=0,
        totals=Counts(),
        share_met=None,
        zone_weeks_judged=0,
        zone_weeks_met=0,
        requirements=[],
        zones=[],
        weeks=[],
        heatmap={},
        bulletins=[],
        months=[],
        emergencies=[],
        emergencies_aired=0,
        log_entries_in_period=25,
        log_head_count=25,
        log_head_hash="0" * 64,
    )
    rows = [
        (i, i, "xa", "b", "", "2026-11-02 23:00:00.000000", None, None, "missed", "", "", "daemon",
         "2026-11-02 23:20:00.000000", "h", "p")
        for i in range(1, 26)
    ]  # fmt: skip
    target = tmp_path / "r.xlsx"
    written = write_xlsx(target, fig, rows, len(rows), VN, full_csv_name="nhat-ky.csv", max_rows=10)
    ws = load_workbook(target)["Lượt phát"]
    values = [r[0] for r in ws.iter_rows(values_only=True)]
    assert written == 8 and len(values) == 10
    assert values[1:9] == list(range(1, 9))
    assert "nhat-ky.csv" in values[9] and "10" in values[9]


# -- CSV -------------------------------------------------------------------------------------------
def test_csv_is_the_raw_log_with_a_bom(rcli: Cli, out_dir: Path, expected: Expected):
    target = out_dir / "nhat-ky.csv"
    r = rcli("report", *PERIOD, "--format", "csv", "--out", str(target))
    assert r.code == 0, r.err
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == expected.entries
    assert Counter(r["outcome"] for r in rows) == expected.outcomes
    raw = _sql(
        expected.root,
        f"select seq, entry_hash, prev_hash from as_run_log l where {IN_PERIOD} order by seq",
        START,
        END,
    )
    assert [(int(r["seq"]), r["entry_hash"], r["prev_hash"]) for r in rows] == raw
    # The same entries, field for field, as `broadcaster log --csv` prints them.
    logged = list(csv.DictReader(io.StringIO(rcli("log", *PERIOD, "--csv", check=True).out)))
    assert [{k: r[k] for k in logged[0]} for r in rows] == logged


def test_csv_fields_quote_like_the_csv_module():
    from broadcaster.reports.csv_writer import field

    tricky = ["a,b", 'say "hi"', "line\nbreak", "cr\rx", "plain", "Trần Thị Bé", "", " lead", 7]
    line = ",".join(field(v) for v in tricky)
    assert next(csv.reader(io.StringIO(line, newline=""))) == [str(v) for v in tricky]
    buf = io.StringIO()
    csv.writer(buf).writerow(tricky)
    assert buf.getvalue() == line + "\r\n"


# -- evidence pack ----------------------------------------------------------------------------------
def test_evidence_pack_manifest_and_audio_hashes(rcli: Cli, out_dir: Path, expected: Expected):
    target = out_dir / "ho-so.zip"
    r = rcli("evidence", *PERIOD, "--with-audio", "--out", str(target))
    assert r.code == 0, r.err
    with zipfile.ZipFile(target) as z:
        names = set(z.namelist())
        manifest = z.read("MANIFEST.sha256").decode("utf-8").splitlines()
        listed = {}
        for line in manifest:
            digest, name = line.split("  ", 1)
            listed[name] = digest
        assert set(listed) == names - {"MANIFEST.sha256"}
        for name, digest in listed.items():
            assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
        verify = json.loads(z.read("kiem-tra-nhat-ky.json"))
        log_csv = z.read("nhat-ky-phat-song.csv")
        audio = list(
            csv.DictReader(io.StringIO(z.read("am-thanh-da-phat.csv").decode("utf-8-sig")))
        )
        report = z.read(next(n for n in names if n.startswith("bao-cao-")))
    assert verify["ok"] is True
    assert (verify["entries"], verify["head_hash"]) == _sql(
        expected.root, "select count, head_hash from log_chain_head"
    )[0]
    assert log_csv.startswith(b"\xef\xbb\xbf")
    assert len(log_csv.decode("utf-8-sig").splitlines()) == expected.entries + 1
    aired_hashes = {
        h
        for (h,) in _sql(
            expected.root,
            f"select distinct audio_sha256 from as_run_log l where {IN_PERIOD} "
            "and outcome in ('aired', 'interrupted')",
            START,
            END,
        )
    }
    assert {a["sha256"] for a in audio} == aired_hashes
    for a in audio:
        assert a["file_check"] == "khớp"
        assert listed[a["in_pack"]] == a["sha256"]  # the audio in the pack is what aired
    assert report.startswith(b"PK")  # the DOCX
    assert not list(out_dir.glob(".evidence-*")) and not list(out_dir.glob(".ho-so.zip.*"))


# -- ICS ---------------------------------------------------------------------------------------------
def test_schedule_export_ics_events_parse(cli, tmp_path: Path):
    cli("plan", "--week", "2026-W48", check=True)
    target = tmp_path / "lich.ics"
    r = cli("schedule", "export", "--ics", str(target), "--period", "2026-W48")
    assert r.code == 0, r.err
    cal = Calendar.from_ical(target.read_bytes())
    events = [c for c in cal.walk("VEVENT")]
    planned = _sql(
        cli.root,
        "select zone_id, session_id, scheduled_at, bulletin_id from airing where status='planned'",
    )
    sessions = defaultdict(list)
    for zone, session, scheduled, bulletin in planned:
        local = datetime.fromisoformat(scheduled).replace(tzinfo=UTC).astimezone(VN)
        sessions[(zone, session, local.date())].append(bulletin)
    assert len(events) == len(sessions)
    assert len({str(e["UID"]) for e in events}) == len(events)
    for e in events:
        start = e.decoded("DTSTART")
        zone = str(e["CATEGORIES"].cats[0]).removeprefix("zone:")
        key = next(k for k in sessions if k[0] == zone and k[2] == start.astimezone(VN).date()
                   and e.decoded("DTEND") > start)  # fmt: skip
        for bulletin in sessions[key]:
            assert bulletin in str(e["DESCRIPTION"])


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "2026-H3"), "--period"),
        (("--period", "2026-13"), "--period"),
        (("--period", "2026-W54"), "--period"),
        (("--from", "2026-11-30", "--to", "2026-11-01"), "--to"),
        (("--period", "2026", "--from", "2026-01-01", "--to", "2026-01-02"), "--period"),
        (("--from", "2026-11-01"), "--period"),
        (("--period", "2026-11", "--zones", "thon-x"), "--zones"),
        (("--period", "2026-11", "--format", "odt"), "--format"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(rcli: Cli, tmp_path: Path, args, message):
    target = tmp_path / "r.docx"
    r = rcli("report", *args, "--out", str(target))
    assert r.code == 2, (r.out, r.err)
    assert len(r.err.strip().splitlines()) == 1 and message in r.err
    assert "Traceback" not in r.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing-folder", "folder", "under-a-file"])
def test_unwritable_out_is_exit_2(rcli: Cli, tmp_path: Path, where: str):
    (tmp_path / "a-file").write_text("x")
    target = {
        "missing-folder": tmp_path / "no" / "r.json",
        "folder": tmp_path,
        "under-a-file": tmp_path / "a-file" / "r.json",
    }[where]
    r = rcli("report", "--period", "2026-11", "--format", "json", "--out", str(target))
    assert r.code == 2, (r.out, r.err)
    assert len(r.err.strip().splitlines()) == 1 and "--out" in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_evidence_refuses_a_csv_report_and_leaves_nothing(rcli: Cli, tmp_path: Path):
    r = rcli("evidence", "--period", "2026-11", "--format", "csv", "--out", str(tmp_path / "p.zip"))
    assert r.code == 2 and "--format" in r.err
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_report(rcli: Cli, tmp_path: Path, no_soffice: str):
    """A report replaces an older one only when complete: a PDF that cannot be made (no
    LibreOffice on PATH) leaves yesterday's file as it was."""
    target = tmp_path / "r.pdf"
    target.write_bytes(b"old")
    cli = Cli(rcli.root, env={"BROADCASTER_NOW": REPORT_NOW, "PATH": no_soffice})
    r = cli("report", "--period", "2026-11", "--out", str(target))
    assert r.code == 1
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]


def test_docx_body_uses_the_default_commune_words_and_vietnamese_reasons(docx_path: Path):
    """A station.yaml without report.unit/station_term/cluster_term keeps the wording of a
    xã of thôn, xóm; the outage's reason is shown in Vietnamese, never as stored."""
    doc = Document(str(docx_path))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "trên 4 cụm loa (gồm đài truyền thanh xã và 3 cụm loa thôn, xóm)." in text
    gaps = _tables(doc, ("TT", "Yêu cầu", "Cụm loa", "Tuần"))[0].rows[1:]
    why = "\n".join(r.cells[5].text for r in gaps)
    assert "mất kết nối tới cụm loa (sự cố giả lập khi chạy mô phỏng)" in why
    assert "unreachable" not in why and "nq57-tuan" not in why
