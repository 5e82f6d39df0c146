"""The record pages in process (web/record_pages): Nhật ký, Báo cáo, Người dùng, through
starlette's TestClient against the real application on the small rendered station, its
SQLite database and a simulated clock (fixtures from tests/test_web.py).

The log filtered, paged, downloaded as CSV and verified (broken after a row is edited
in the database); the report downloaded as XLSX whose aired count is the log's; users
added, disabled and reset with the audit trail holding it; escaping; CSRF."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import datetime, timedelta

import openpyxl
import pytest
from test_web import NOW, PASSWORD, VN, app, client, csrf_of, ctx, sign_in, signed_in

from broadcaster.app import schedule
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.roles import Role
from broadcaster.core.errors import BroadcasterError
from broadcaster.core.model import AiringStatus
from broadcaster.store import airings, aslog

__all__ = ["app", "ctx"]  # the fixtures, used by name

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=VN)
OPERATOR = Actor("hung", frozenset({Role.OPERATOR}), face="web")


def air(ctx, bulletin_id: str, zone: str, at: datetime, outcome: str = "aired") -> int:
    """An airing queued at ``at``, started, and ended with ``outcome`` (its log entry)."""
    row = schedule.queue(ctx, bulletin_id, zone, at, OPERATOR).row
    with ctx.db.write() as s:
        airings.start_many(s, [(row.id, at)])
        entry = aslog.Outcome(
            airing_id=row.id,
            zone_id=zone,
            bulletin_id=bulletin_id,
            outcome=outcome,
            triggered_by="daemon",
            scheduled_at=at,
            started_at=at,
            ended_at=at + timedelta(seconds=40),
            reason="" if outcome == "aired" else "playout failed",
        )
        moved = airings.move(s, row.id, AiringStatus(outcome), outcome=entry, recorded_at=at)
        assert moved is not None
    return row.id


def air_six(ctx) -> None:
    """Six entries: four aired (two on Monday in xa, one Tuesday in thon-a, one Wednesday
    in thon-b), one failed and one interrupted."""
    air(ctx, "nq57-mot", "xa", MONDAY)
    air(ctx, "nq57-ba", "xa", MONDAY + timedelta(minutes=10))
    air(ctx, "nq57-mot", "thon-a", MONDAY + timedelta(days=1))
    air(ctx, "nq57-mot", "thon-b", MONDAY + timedelta(days=2))
    air(ctx, "nq57-ba", "thon-a", MONDAY + timedelta(days=1, minutes=20), "failed")
    air(ctx, "nq57-ba", "thon-b", MONDAY + timedelta(days=2, minutes=20), "interrupted")


@pytest.fixture
def aired(ctx):
    """The six entries of :func:`air_six`, the clock on the Thursday after."""
    air_six(ctx)
    ctx.clock.advance_to(MONDAY + timedelta(days=3))
    return ctx


def _rows(html: str) -> int:
    return html.count("<li>\n    <div><strong>")


# -- who may open what -------------------------------------------------------------------


def test_each_page_is_in_vietnamese_for_its_role_and_refused_to_others(app, aired):
    reporter, _ = signed_in(app, "mai")
    page = reporter.get("/nhat-ky")
    assert page.status_code == 200
    assert "Nhật ký phát sóng" in page.text and 'href="/nhat-ky"' in page.text
    assert "Đã phát" in page.text or "đã phát" in page.text
    assert reporter.get("/bao-cao").status_code == 200
    assert "6 tháng đầu năm" in reporter.get("/bao-cao").text
    assert reporter.get("/nguoi-dung").status_code == 403
    assert reporter.get("/nhat-ky/kiem-toan").status_code == 403
    admin, _ = signed_in(app, "quan-tri-vien")
    users = admin.get("/nguoi-dung")
    assert users.status_code == 200 and "Người dùng" in users.text
    assert "Nhật ký kiểm toán" in admin.get("/nhat-ky/kiem-toan").text
    assert admin.get("/nhat-ky").status_code == 403
    assert admin.get("/bao-cao").status_code == 403
    officer, _ = signed_in(app, "lan")
    for path in ("/nhat-ky", "/nhat-ky/tai-ve.csv", "/bao-cao", "/nguoi-dung"):
        assert officer.get(path).status_code == 403, path
    bare = client(app)
    for path in ("/nhat-ky", "/bao-cao", "/nguoi-dung"):
        answer = bare.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith(
            "/dang-nhap?next="
        )


# -- Nhật ký -----------------------------------------------------------------------------


def test_the_log_filters_by_day_zone_bulletin_and_outcome(app, aired):
    c, _ = signed_in(app, "mai")
    assert _rows(c.get("/nhat-ky").text) == 6
    assert _rows(c.get("/nhat-ky?from=2026-11-24&to=2026-11-24").text) == 2
    assert _rows(c.get("/nhat-ky?zone=xa").text) == 2
    assert _rows(c.get("/nhat-ky?bulletin=nq57-ba").text) == 3
    failed = c.get("/nhat-ky?outcome=failed")
    assert _rows(failed.text) == 1
    assert "phát lỗi" in failed.text and "phát không thành công" in failed.text  # in Vietnamese
    assert "playout failed" not in failed.text
    assert _rows(c.get("/nhat-ky?zone=thon-b&outcome=aired").text) == 1
    bad = c.get("/nhat-ky?from=23/11/2026&zone=khong-co")
    assert bad.status_code == 400 and "23/11/2026" in bad.text
    assert "Traceback" not in bad.text


def test_the_log_is_paged_newest_first(app, aired, monkeypatch):
    from broadcaster.app import logbook

    monkeypatch.setattr(logbook, "PAGE_SIZE", 4)  # the page's size, not the data
    c, _ = signed_in(app, "mai")
    first = c.get("/nhat-ky")
    assert _rows(first.text) == 4 and "#6 ·" in first.text and "#2 ·" not in first.text
    assert 'href="/nhat-ky?truoc=3"' in first.text
    second = c.get("/nhat-ky?truoc=3")
    assert _rows(second.text) == 2 and "#2 ·" in second.text and "#1 ·" in second.text
    assert "?truoc=" not in second.text.split("Mới nhất")[-1]  # no page after the last


def test_the_csv_holds_the_filtered_rows(app, aired):
    c, _ = signed_in(app, "mai")
    answer = c.get("/nhat-ky/tai-ve.csv?zone=thon-a")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["zone"], r["outcome"]) for r in rows] == [("thon-a", "aired"), ("thon-a", "failed")]
    assert rows[0]["entry_hash"] and rows[0]["scheduled_at"].startswith("2026-11-24T06:00")
    everything = c.get("/nhat-ky/tai-ve.csv").content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(everything)))) == 6


def test_verifying_the_chain_shows_intact_then_broken_at_the_first_bad_entry(app, aired):
    c, _ = signed_in(app, "mai")
    intact = c.get("/nhat-ky/kiem-tra")
    assert intact.status_code == 200 and "Nguyên vẹn" in intact.text and "6" in intact.text
    with sqlite3.connect(aired.root / "station.db") as conn:
        conn.execute("UPDATE as_run_log SET outcome = 'aired' WHERE seq = 5")
    broken = c.get("/nhat-ky/kiem-tra")
    assert broken.status_code == 200 and "Bị hỏng" in broken.text
    first = broken.text.split('class="first-problem"')[1][:200]
    assert "mục 5: nội dung đã bị sửa" in first  # the first bad entry, in Vietnamese


def test_entries_under_a_simulated_clock_are_marked(app, ctx):
    with ctx.db.write() as s:
        aslog.append(
            s,
            aslog.Outcome("xa", "nq57-mot", "aired", "simulate", clock="simulated"),
            NOW,
        )
    c, _ = signed_in(app, "mai")
    page = c.get("/nhat-ky")
    assert "đồng hồ mô phỏng" in page.text.lower()
    assert "đồng hồ mô phỏng" in c.get("/nhat-ky/kiem-tra").text.lower()


def test_the_admin_reads_and_verifies_the_audit_trail(app, ctx):
    admin, _ = signed_in(app, "quan-tri-vien")
    page = admin.get("/nhat-ky/kiem-toan?user=quan-tri-vien")
    assert "auth.login" in page.text
    assert "users.add" not in page.text  # the accounts were made by the shell
    assert "Nguyên vẹn" in admin.get("/nhat-ky/kiem-toan/kiem-tra").text
    with sqlite3.connect(ctx.root / "station.db") as conn:
        conn.execute("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2")
    broken = admin.get("/nhat-ky/kiem-toan/kiem-tra")
    assert "Bị hỏng" in broken.text and "2" in broken.text.split('class="first-problem"')[1][:200]


# -- Báo cáo -----------------------------------------------------------------------------


def _aired_in_log(ctx, first: str, last: str) -> int:
    with sqlite3.connect(ctx.root / "station.db") as conn:
        [(n,)] = conn.execute(
            "select count(*) from as_run_log where outcome = 'aired' "
            "and date(datetime(scheduled_at, '+7 hours')) between ? and ?",
            (first, last),
        ).fetchall()
    return n


def test_the_xlsx_report_opens_and_its_aired_count_is_the_logs(app, aired, tmp_path):
    c, csrf = signed_in(app, "mai")
    form = c.get("/bao-cao")
    answer = c.post(
        "/bao-cao",
        data={"csrf": csrf_of(form.text), "period": "h2", "year": "2026", "format": "xlsx"},
    )
    assert answer.status_code == 200, answer.text[:2000]
    assert answer.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="bao-cao-2026-H2.xlsx"' in answer.headers["content-disposition"]
    path = tmp_path / "bao-cao.xlsx"
    path.write_bytes(answer.content)
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book["Cụm loa"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    aired_col = header.index("Đã phát")
    total = sum(int(r[aired_col] or 0) for r in sheet.iter_rows(min_row=2, values_only=True))
    expected = _aired_in_log(aired, "2026-07-01", "2026-12-31")
    assert total == expected == 4
    log_sheet = book["Lượt phát"]
    header = [c.value for c in next(log_sheet.iter_rows(max_row=1))]
    outcome_col = header.index("Kết quả")
    outcomes = [r[outcome_col] for r in log_sheet.iter_rows(min_row=2, values_only=True)]
    assert len([o for o in outcomes if o in ("aired", "Đã phát", "đã phát")]) == 4
    # one zone: its share only; the making is in the audit trail
    one = c.post(
        "/bao-cao",
        data={"csrf": csrf, "period": "range", "from": "2026-11-23", "to": "2026-11-23"}
        | {"zones": ["xa"], "format": "json"},
    )
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    assert one.json()["totals"]["aired"] == 2
    made = [e for e in AuditTrail(aired.db, aired.clock).entries() if e.action == "report.make"]
    assert [(e.actor, e.face, e.result) for e in made] == [("mai", "web", "ok")] * 2


def test_report_mistakes_are_shown_at_their_field(app, aired, monkeypatch):
    c, csrf = signed_in(app, "mai")
    no_end = c.post("/bao-cao", data={"csrf": csrf, "period": "range", "from": "2026-11-01"})
    assert no_end.status_code == 400 and "Traceback" not in no_end.text
    bad_zone = c.post("/bao-cao", data={"csrf": csrf, "period": "h1", "zones": ["khong-co"]})
    assert bad_zone.status_code == 400 and "khong-co" in bad_zone.text
    # a station without LibreOffice: a message at the format field, not a 500
    monkeypatch.setenv("PATH", "/nonexistent")
    pdf = c.post("/bao-cao", data={"csrf": csrf, "period": "h2", "format": "pdf"})
    assert pdf.status_code == 400 and "LibreOffice" in pdf.text
    assert "DOCX" in pdf.text


def test_the_evidence_pack_downloads_as_a_zip_and_leaves_no_file_behind(
    app, aired, tmp_path, monkeypatch
):
    import tempfile
    import zipfile

    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))  # where the page writes its file
    c, csrf = signed_in(app, "mai")
    answer = c.post(
        "/bao-cao/ho-so",
        data={"csrf": csrf, "period": "year", "year": "2026", "format": "json", "with_audio": "1"},
    )
    assert answer.status_code == 200, answer.text[:1000]
    assert answer.headers["content-type"] == "application/zip"
    assert "ho-so-minh-chung-2026.zip" in answer.headers["content-disposition"]
    path = tmp_path / "pack.zip"
    path.write_bytes(answer.content)
    names = zipfile.ZipFile(path).namelist()
    assert any(n.endswith(".json") for n in names) and any(n.endswith(".csv") for n in names)
    bad = c.post("/bao-cao/ho-so", data={"csrf": csrf, "period": "h2", "format": "csv"})
    assert bad.status_code == 400 and "csv" in bad.text
    assert list(work.iterdir()) == []  # removed after the download, and after the mistake
    made = [e for e in AuditTrail(aired.db, aired.clock).entries() if e.action == "evidence.make"]
    assert [(e.actor, e.result) for e in made] == [("mai", "ok")]
    assert "with audio" in made[0].detail


def test_a_download_name_keeps_its_vietnamese_letters():
    from broadcaster.web.record_pages import attachment

    header = attachment('báo cáo "6 tháng".xlsx')
    assert header.startswith('attachment; filename="b_o c_o _6 th_ng_.xlsx"')
    assert "filename*=UTF-8''b%C3%A1o%20c%C3%A1o%20%226%20th%C3%A1ng%22.xlsx" in header
    header.encode("latin-1")  # an HTTP header's bytes


def test_every_change_needs_the_csrf_token(app, aired):
    c, _csrf = signed_in(app, "mai")
    assert c.post("/bao-cao", data={"period": "h2"}).status_code == 403
    assert c.post("/bao-cao", data={"period": "h2", "csrf": "forged"}).status_code == 403
    admin, _ = signed_in(app, "quan-tri-vien")
    data = {"name": "moi", "roles": ["bao-cao"], "password": "mat-khau-dai-2"}
    assert admin.post("/nguoi-dung", data=data).status_code == 403
    assert admin.post("/nguoi-dung/mai/khoa", data={}).status_code == 403
    assert not any(u.name == "moi" for u in app.state.web.users.list())
    assert not app.state.web.users.get("mai").disabled


# -- Người dùng --------------------------------------------------------------------------


def test_an_admin_adds_disables_enables_and_resets_a_user(app, ctx):
    admin, csrf = signed_in(app, "quan-tri-vien")
    made = admin.post(
        "/nguoi-dung",
        data={
            "csrf": csrf,
            "name": "tuan",
            "full_name": "Nguyễn Văn Tuấn",
            "roles": ["van-hanh"],
            "zones": "thon-a",
        },
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    assert "chỉ hiện một lần" in made.text
    password = made.text.split('id="new-password">')[1].split("<")[0]
    assert len(password) >= 10
    assert "argon2" not in made.text
    tuan = client(app)
    assert sign_in(tuan, "tuan", password).status_code == 303
    listed = admin.get("/nguoi-dung")
    assert "Nguyễn Văn Tuấn" in listed.text and "thon-a" in listed.text
    assert "vận hành" in listed.text.lower() and "argon2" not in listed.text
    assert password not in listed.text
    assert (
        "lần cuối đăng nhập" in listed.text.lower() or "đăng nhập lần cuối" in listed.text.lower()
    )
    # roles and zones
    changed = admin.post(
        "/nguoi-dung/tuan/vai-tro", data={"csrf": csrf, "roles": ["van-hanh", "bao-cao"]}
    )
    assert changed.status_code == 303
    user = app.state.web.users.get("tuan")
    assert user.roles == {Role.OPERATOR, Role.REPORTER} and user.zones is None
    bad = admin.post("/nguoi-dung/tuan/vai-tro", data={"csrf": csrf, "zones": "khong-co"})
    assert bad.status_code == 400 and "khong-co" in bad.text
    # disable: the open session ends, no more signing in; enable again
    assert tuan.get("/").status_code == 200
    assert admin.post("/nguoi-dung/tuan/khoa", data={"csrf": csrf}).status_code == 303
    assert app.state.web.users.get("tuan").disabled
    assert "đã khóa" in admin.get("/nguoi-dung").text.lower()
    assert sign_in(client(app), "tuan", password).status_code == 401
    assert tuan.get("/").status_code == 303
    assert admin.post("/nguoi-dung/tuan/mo-khoa", data={"csrf": csrf}).status_code == 303
    # reset: a new password shown once, the old one gone, the user's sessions ended
    again = sign_in(tuan, "tuan", password)
    assert again.status_code == 303, again.text[-1500:]
    assert tuan.get("/").status_code == 200
    reset = admin.post("/nguoi-dung/tuan/dat-lai-mat-khau", data={"csrf": csrf})
    new = reset.text.split('id="new-password">')[1].split("<")[0]
    assert new != password
    assert tuan.get("/").status_code == 303  # signed out by the reset
    assert sign_in(client(app), "tuan", password).status_code == 401
    assert sign_in(client(app), "tuan", new).status_code == 303
    assert new not in admin.get("/nguoi-dung/tuan").text
    # a typed password is not shown back
    typed = admin.post(
        "/nguoi-dung",
        data={"csrf": csrf, "name": "hoa", "roles": ["soan-tin"], "password": "mat-khau-rieng-9"},
    )
    assert typed.status_code == 200 and "mat-khau-rieng-9" not in typed.text
    short = admin.post(
        "/nguoi-dung", data={"csrf": csrf, "name": "ngan", "roles": [], "password": "ngan"}
    )
    assert short.status_code == 400 and "10" in short.text
    # all of it in the audit trail, by the admin on the web
    trail = AuditTrail(ctx.db, ctx.clock).entries(user="quan-tri-vien")
    done = [(e.action, e.target) for e in trail if e.face == "web" and e.result == "ok"]
    for step in (
        ("users.add", "tuan"),
        ("users.roles", "tuan"),
        ("users.disable", "tuan"),
        ("users.enable", "tuan"),
        ("users.passwd", "tuan"),
        ("users.add", "hoa"),
    ):
        assert step in done, step
    page = admin.get("/nhat-ky/kiem-toan?user=quan-tri-vien")
    assert "users.disable" in page.text and "tuan" in page.text


def test_markup_in_a_name_shows_as_text(app, ctx):
    app.state.web.users.add(
        Actor.local_cli(),
        "x-script",
        PASSWORD,
        [Role.OFFICER],
        full_name="<script>alert(1)</script>",
    )
    admin, _csrf = signed_in(app, "quan-tri-vien")
    for path in ("/nguoi-dung", "/nguoi-dung/x-script"):
        page = admin.get(path)
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    reporter, _ = signed_in(app, "mai")
    page = reporter.get("/nhat-ky?bulletin=<script>alert(2)</script>")
    assert "<script>alert(2)" not in page.text and "&lt;script&gt;alert(2)" in page.text


# -- what the pages added to the application layer ---------------------------------------


def test_the_log_filter_names_the_field_of_a_mistake(ctx):
    from broadcaster.app import logbook
    from broadcaster.core.errors import FieldProblem

    for kwargs, field in (
        ({"date_from": "23/11/2026"}, "from"),
        ({"date_from": "2026-11-24", "date_to": "2026-11-23"}, "to"),
        ({"zone": "khong-co"}, "zone"),
        ({"outcome": "played"}, "outcome"),
    ):
        with pytest.raises(FieldProblem) as caught:
            logbook.parse_filter(ctx, **kwargs)
        assert caught.value.problem.field == field, kwargs
    where = logbook.parse_filter(ctx, "2026-11-23", "2026-11-23", " xa ", "", "aired")
    assert (where.zone, where.outcome, where.bulletin) == ("xa", "aired", None)
    assert where.end - where.start == timedelta(days=1)


def test_a_log_page_reads_one_page_by_keyset_and_the_export_all(aired):
    from broadcaster.app import logbook

    seen, before = [], None
    while True:
        page = logbook.log_page(aired, logbook.LogFilter(), before, size=2)
        assert len(page.rows) <= 2
        seen += [r["seq"] for r in page.rows]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == [6, 5, 4, 3, 2, 1]
    exported = list(logbook.export_rows(aired, logbook.LogFilter(outcome="aired")))
    assert [r["seq"] for r in exported] == [1, 2, 3, 4]
    assert list(exported[0]) == logbook.EXPORT_FIELDS


def test_report_presets_and_the_refusal_of_a_report_are_audited(ctx, tmp_path):
    from broadcaster.app import reports
    from broadcaster.app.permissions import PermissionDenied

    assert reports.period_of(ctx, "h1").key == "2026-H1"  # this year by the station's clock
    assert reports.period_of(ctx, "year", "2025").key == "2025"
    assert reports.period_of(ctx, "range", "", "2026-11-01", "2026-11-30").days == 30
    for preset, year, field in (("week", "", "period"), ("h2", "20x6", "year")):
        with pytest.raises(BroadcasterError) as caught:
            reports.period_of(ctx, preset, year)
        assert caught.value.problem.field == field
    assert reports.zones_of(ctx, []) == list(ctx.station.zone_ids)
    assert reports.zones_of(ctx, ["thon-a"]) == ["thon-a"]
    officer = Actor("lan", frozenset({Role.OFFICER}), face="web")
    into = tmp_path / "ra"
    into.mkdir()
    with pytest.raises(PermissionDenied):
        reports.make_report(ctx, officer, reports.period_of(ctx, "h2"), ["xa"], "json", into)
    assert list(into.iterdir()) == []
    last = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (last.actor, last.action, last.result) == ("lan", "report.make", "refused")


def test_a_generated_password_is_long_enough_and_new_each_time(ctx):
    from broadcaster.app.users import check_password, generate_password

    made = {generate_password() for _i in range(50)}
    assert len(made) == 50 and all(check_password(p) == p for p in made)
    users = app_users(ctx)
    assert users.last_sign_ins() == {}
    users.authenticate("mai", PASSWORD, face="web")
    ctx.clock.advance_to(NOW + timedelta(hours=1))
    users.authenticate("mai", PASSWORD, face="web")
    assert users.last_sign_ins() == {"mai": NOW + timedelta(hours=1)}


def app_users(ctx):
    from broadcaster.app.users import UserService

    return UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)


def test_the_pages_read_in_english_on_request(app, aired):
    reporter, _csrf = signed_in(app, "mai")
    assert "As-run log" in reporter.get("/nhat-ky?lang=en").text
    assert "First half of the year" in reporter.get("/bao-cao").text  # kept by the cookie
    check = reporter.get("/nhat-ky/kiem-tra").text
    assert "Intact" in check
    admin, _csrf = signed_in(app, "quan-tri-vien")
    page = admin.get("/nguoi-dung?lang=en").text
    assert "Add a user" in page and "reporter" in page
    assert "done" in admin.get("/nhat-ky/kiem-toan").text


def test_the_switch_to_count_unreal_entries_shows_only_when_there_are_some(app, aired):
    """A station whose log holds a simulated entry is offered the switch (off by
    default); a report made with it says so, and the audit trail records the choice."""
    c, csrf = signed_in(app, "mai")
    assert 'name="include_unreal"' not in c.get("/bao-cao").text
    with aired.db.write() as s:
        aslog.append(
            s,
            aslog.Outcome("xa", "nq57-mot", "aired", "simulate", clock="simulated"),
            MONDAY + timedelta(hours=1),
        )
    form = c.get("/bao-cao").text
    assert 'name="include_unreal" value="1">' in form and "có 1 bản ghi" in form
    data = {"csrf": csrf, "period": "h2", "year": "2026", "format": "json"}
    plain = c.post("/bao-cao", data=data)
    counted = c.post("/bao-cao", data=data | {"include_unreal": "1"})
    assert plain.status_code == counted.status_code == 200
    assert plain.json()["include_unreal"] is False and counted.json()["include_unreal"] is True
    made = [e for e in AuditTrail(aired.db, aired.clock).entries() if e.action == "report.make"]
    assert ["unreal counted" in e.detail for e in made] == [False, True]
