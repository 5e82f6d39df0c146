"""The web station in process (broadcaster/web): starlette's TestClient against the real
application on the small rendered station, its SQLite database and a simulated clock.

Signing in and the lockout, the session cookie, CSRF on every change, escaping, the
error page, and the whole route table walked for every role and for no session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from webopskit import OPERATOR_EXPECTED

from broadcaster.app import editorial
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.engine.clock import SimClock
from broadcaster.web.access import NEEDS
from broadcaster.web.app import create_app

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=VN).astimezone(UTC)
PASSWORD = "mat-khau-dai-1"

#: One account per role; "chu-tich" approves, "lan" writes.
ACCOUNTS = {
    Role.OFFICER: "lan",
    Role.APPROVER: "chu-tich",
    Role.OPERATOR: "hung",
    Role.REPORTER: "mai",
    Role.ADMIN: "quan-tri-vien",
}

#: Who may open each route (None: no session). A route added to the application without
#: a line here (and in web/access.NEEDS) fails test_the_route_table_for_every_role.
EVERY_ROLE = frozenset(Role)
EXPECTED: dict[str, frozenset[Role | None]] = {
    "login_form": EVERY_ROLE | {None},
    "login": EVERY_ROLE | {None},
    "logout": EVERY_ROLE,
    "password_form": EVERY_ROLE,
    "password": EVERY_ROLE,
    "dashboard": EVERY_ROLE,
    "dashboard_live": EVERY_ROLE,
    "bulletins": frozenset({Role.OFFICER, Role.APPROVER}),
    "bulletin": frozenset({Role.OFFICER, Role.APPROVER}),
    "bulletin_new_form": frozenset({Role.OFFICER}),
    "bulletin_create": frozenset({Role.OFFICER}),
    "bulletin_edit_form": frozenset({Role.OFFICER}),
    "bulletin_save": frozenset({Role.OFFICER}),
    "bulletin_submit": frozenset({Role.OFFICER}),
    "bulletin_render": frozenset({Role.OFFICER}),
    "bulletin_audio": frozenset({Role.OFFICER, Role.APPROVER}),
    "bulletin_preview": frozenset({Role.OFFICER}),
    "bulletin_recording_upload": frozenset({Role.OFFICER}),  # tests/test_web_upload.py
    "bulletin_recording": frozenset({Role.OFFICER, Role.APPROVER}),
    "review_queue": frozenset({Role.APPROVER}),
    "review": frozenset({Role.APPROVER}),
    "review_approve": frozenset({Role.APPROVER}),
    "review_reject": frozenset({Role.APPROVER}),
    # Nhật ký, Báo cáo, Người dùng (tests/test_web_records.py)
    **{n: frozenset({Role.REPORTER}) for n in ("log", "log_csv", "log_verify", "report_form")},
    **{n: frozenset({Role.REPORTER}) for n in ("report_make", "evidence_make")},
    **{
        n: frozenset({Role.ADMIN})
        for n in ("audit", "audit_verify", "users", "user_add", "user", "user_roles")
    },
    **{n: frozenset({Role.ADMIN}) for n in ("user_disable", "user_enable", "user_reset")},
    # Cài đặt (tests/test_web_settings.py)
    **{
        name: frozenset({Role.ADMIN})
        for name in (
            "settings",
            "settings_heading",
            "settings_outputs",
            "settings_zones",
            "settings_sessions",
            "settings_quiet_hours",
            "settings_requirements",
        )
    },
    # The JSON API (web/api.py, tests/test_web_api.py): as the pages it reads
    "api_schema": EVERY_ROLE,
    "api_overview": EVERY_ROLE,
    "api_calendar": frozenset({Role.OPERATOR, Role.APPROVER, Role.REPORTER}),
    "api_log": frozenset({Role.REPORTER}),
    "api_log_verify": frozenset({Role.REPORTER}),
    "api_receivers": frozenset({Role.OPERATOR, Role.REPORTER}),
}
EXPECTED.update(OPERATOR_EXPECTED)  # the operator's pages (tests/webopskit.py)


@pytest.fixture
def ctx(station: Path):
    ctx = StationContext.open(station, clock=SimClock(NOW))
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    for role, name in ACCOUNTS.items():
        users.add(Actor.local_cli(), name, PASSWORD, [role])
    yield ctx
    ctx.close()


@pytest.fixture
def app(ctx):
    return create_app(ctx=ctx)


def client(app, https: bool = False) -> TestClient:
    base = "https://testserver" if https else "http://testserver"
    return TestClient(app, base_url=base, raise_server_exceptions=False, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def sign_in(c: TestClient, name: str, password: str = PASSWORD):
    form = c.get("/dang-nhap")
    assert form.status_code == 200
    return c.post(
        "/dang-nhap",
        data={"name": name, "password": password, "csrf": csrf_of(form.text), "next": "/"},
    )


def signed_in(app, name: str) -> tuple[TestClient, str]:
    c = client(app)
    assert sign_in(c, name).status_code == 303
    page = c.get("/")
    assert page.status_code == 200
    return c, csrf_of(page.text)


def test_signing_in_gives_an_httponly_samesite_cookie_secure_under_https(app):
    for https in (False, True):
        c = client(app, https)
        answer = sign_in(c, "chu-tich")
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and "phien=" in v
        )
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        assert ("Secure" in cookie) is https
        page = c.get("/", headers={"x-forwarded-proto": "https"} if https else {})
        assert page.status_code == 200
        assert "Tổng quan" in page.text and "Đã đăng nhập: chu-tich" in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_no_session_goes_to_the_sign_in_page_and_back(app):
    c = client(app)
    first = c.get("/duyet")
    assert first.status_code == 303 and first.headers["location"] == "/dang-nhap?next=/duyet"
    form = c.get(first.headers["location"])
    assert 'name="next" value="/duyet"' in form.text and "Đăng nhập" in form.text
    done = c.post(
        "/dang-nhap",
        data={
            "name": "chu-tich",
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "/duyet",
        },
    )
    assert done.headers["location"] == "/duyet"
    # another site is never where signing in leads
    evil = c.post(
        "/dang-nhap",
        data={
            "name": "chu-tich",
            "password": PASSWORD,
            "csrf": csrf_of(form.text),
            "next": "//evil.example/",
        },
    )
    assert evil.headers["location"] == "/"


def test_wrong_passwords_lock_the_name_out_and_are_audited(app, ctx):
    c = client(app)
    for _attempt in range(5):
        wrong = sign_in(c, "chu-tich", "sai-mat-khau-123")
        assert wrong.status_code == 401
        assert "sai tên người dùng hoặc mật khẩu" in wrong.text  # the page's language
        assert "phien=" not in wrong.headers.get("set-cookie", "")
    locked = sign_in(c, "chu-tich")  # the right password, too late
    assert locked.status_code == 401
    assert "chu-tich" in locked.text and "phien=" not in locked.headers.get("set-cookie", "")
    assert "&#39;chu-tich&#39; đăng nhập sai quá nhiều lần" in locked.text
    entries = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "auth.login"]
    assert [e.result for e in entries[-6:]] == ["refused"] * 6
    assert entries[-1].face == "web" and entries[-1].detail == "locked out"
    ctx.clock.advance_to(NOW + timedelta(minutes=16))
    assert sign_in(c, "chu-tich").status_code == 303


def test_every_change_needs_the_sessions_csrf_token(app, ctx):
    c, csrf = signed_in(app, "lan")
    before = editorial.summary(ctx, "nq57-mot").state
    for data in ({}, {"csrf": "forged"}):
        refused = c.post("/ban-tin/nq57-mot/gui-duyet", data=data)
        assert refused.status_code == 403
        assert "Biểu mẫu đã hết hạn" in refused.text
    assert editorial.summary(ctx, "nq57-mot").state == before
    other, other_csrf = signed_in(app, "chu-tich")  # another session's token is no token
    assert c.post("/ban-tin/nq57-mot/gui-duyet", data={"csrf": other_csrf}).status_code == 403
    done = c.post("/ban-tin/nq57-mot/gui-duyet", data={"csrf": csrf})
    assert done.status_code == 303
    # signing in needs the form's own token too (a login CSRF)
    bare = client(app)
    assert bare.post("/dang-nhap", data={"name": "lan", "password": PASSWORD}).status_code == 403
    assert other.get("/").status_code == 200


def test_a_title_with_markup_shows_as_text(app, ctx):
    officer = Actor("lan", frozenset({Role.OFFICER}), face="web")
    editorial.save_script(
        ctx,
        officer,
        {
            "id": "tin-la",
            "title": "<script>alert(1)</script>",
            "campaign": "nq57",
            "priority": "normal",
            "zones": "all",
        },
        'Nội dung <b>đậm</b> & "trích".\nHọp ở QXZW.',
        create=True,
    )
    c, _csrf = signed_in(app, "lan")
    for path in ("/ban-tin", "/ban-tin/tin-la"):
        page = c.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;đậm&lt;/b&gt; &amp;" in c.get("/ban-tin/tin-la").text
    page = c.get("/ban-tin/tin-la").text
    assert 'class="flash warn"' in page and "&#34;QXZW&#34; sẽ bị đọc từng chữ cái" in page


def test_an_error_shows_a_vietnamese_page_and_no_trace(app, ctx, caplog):
    def broken():
        raise RuntimeError("secret insides /etc/passwd")

    app.add_api_route("/hong", broken, name="dashboard")  # a declared name: the guard lets it
    c, _csrf = signed_in(app, "mai")
    page = c.get("/hong")
    assert page.status_code == 500
    assert "Đã có lỗi xảy ra" in page.text
    assert "secret" not in page.text and "Traceback" not in page.text
    assert "secret insides" in caplog.text  # the server's log has it
    missing = c.get("/ban-tin/khong-co")
    assert missing.status_code == 403  # a reporter may not read bulletins at all
    officer, _ = signed_in(app, "lan")
    unknown = officer.get("/ban-tin/khong-co")
    assert unknown.status_code == 400 and "khong-co" in unknown.text
    assert "Traceback" not in unknown.text
    assert c.get("/khong-co-trang").status_code == 404


def test_a_route_without_a_declared_need_is_refused_to_everyone(app):
    app.add_api_route("/moi-them", lambda: {"ok": True}, name="undeclared")
    names = {r.name for r in app.routes if isinstance(r, APIRoute)}
    assert names - set(NEEDS) == {"undeclared"}  # what the route-table test asserts
    for name in ("chu-tich", "quan-tri-vien"):
        c, _csrf = signed_in(app, name)
        assert c.get("/moi-them").status_code == 403


def test_the_page_is_english_on_request(app):
    c = client(app)
    english = c.get("/dang-nhap?lang=en")
    assert "Sign in" in english.text and 'lang="en"' in english.text
    assert "lang=en" in english.headers.get("set-cookie", "")
    assert "Sign in" in c.get("/dang-nhap").text  # kept by the cookie
    assert "Đăng nhập" in c.get("/dang-nhap?lang=vi").text


def test_changing_the_password_ends_the_other_sessions(app):
    c, csrf = signed_in(app, "hung")
    other, _ = signed_in(app, "hung")
    wrong = c.post(
        "/doi-mat-khau",
        data={
            "csrf": csrf,
            "current": "khong-dung-1",
            "new": "moi-mat-khau-2",
            "again": "moi-mat-khau-2",
        },
    )
    assert wrong.status_code == 400
    short = c.post(
        "/doi-mat-khau", data={"csrf": csrf, "current": PASSWORD, "new": "ngan", "again": "ngan"}
    )
    assert short.status_code == 400 and "10" in short.text
    done = c.post(
        "/doi-mat-khau",
        data={
            "csrf": csrf,
            "current": PASSWORD,
            "new": "moi-mat-khau-2",
            "again": "moi-mat-khau-2",
        },
    )
    assert done.status_code == 303
    assert c.get("/").status_code == 200
    assert other.get("/").status_code == 303  # signed out
    assert sign_in(client(app), "hung", "moi-mat-khau-2").status_code == 303
    bye = c.post("/dang-xuat", data={"csrf": csrf})
    assert bye.status_code == 303 and c.get("/").status_code == 303


def test_an_officer_writes_and_submits_an_approver_sends_back_then_approves(app, ctx):
    officer, o_csrf = signed_in(app, "lan")
    made = officer.post(
        "/ban-tin/moi",
        data={
            "csrf": o_csrf,
            "id": "tiem-phong",
            "title": "Lịch tiêm phòng",
            "campaign": "nq57",
            "priority": "normal",
            "valid_from": "2026-11-20",
            "valid_until": "2026-12-31",
            "zones": "all",
            "body": "Ngày 25/11/2026, trạm y tế xã tiêm phòng cho trẻ em.",
        },
    )
    assert made.status_code == 303 and made.headers["location"] == "/ban-tin/tiem-phong?xong=saved"
    bad = officer.post(
        "/ban-tin/moi",
        data={"csrf": o_csrf, "id": "tiem-phong", "title": "x", "campaign": "nq57", "body": "x"},
    )
    assert bad.status_code == 400 and "tiem-phong" in bad.text  # the id is taken
    page = officer.get("/ban-tin/tiem-phong?xong=saved")
    assert "Đã lưu." in page.text and "nháp" in page.text
    assert "hai mươi lăm" in page.text  # the spoken text: the date read out
    officer.post("/ban-tin/tiem-phong/gui-duyet", data={"csrf": o_csrf})
    approver, a_csrf = signed_in(app, "chu-tich")
    queue = approver.get("/duyet")
    assert "Lịch tiêm phòng" in queue.text and "/duyet/tiem-phong" in queue.text
    review = approver.get("/duyet/tiem-phong")
    assert "Chưa từng được duyệt" in review.text
    empty = approver.post("/duyet/tiem-phong/tra-lai", data={"csrf": a_csrf, "reason": " "})
    assert empty.status_code == 400 and "hãy ghi lý do trả lại bản tin" in empty.text
    approver.post("/duyet/tiem-phong/tra-lai", data={"csrf": a_csrf, "reason": "Ghi rõ giờ."})
    assert str(editorial.summary(ctx, "tiem-phong").state) == "rejected"
    assert "Ghi rõ giờ." in officer.get("/ban-tin").text
    # the officer edits it in the form; the approver sees the change
    form = officer.get("/ban-tin/tiem-phong/sua")
    assert 'value="Lịch tiêm phòng"' in form.text
    saved = officer.post(
        "/ban-tin/tiem-phong/sua",
        data={
            "csrf": o_csrf,
            "title": "Lịch tiêm phòng",
            "campaign": "nq57",
            "priority": "normal",
            "valid_from": "2026-11-20",
            "valid_until": "2026-12-31",
            "zones": "all",
            "author": "lan",
            "body": "Từ 7 giờ ngày 25/11/2026, trạm y tế xã tiêm phòng cho trẻ em.",
        },
    )
    assert saved.status_code == 303, saved.text
    officer.post("/ban-tin/tiem-phong/gui-duyet", data={"csrf": o_csrf})
    no_audio = approver.post("/duyet/tiem-phong/duyet", data={"csrf": a_csrf})
    assert no_audio.status_code == 400 and "render" in no_audio.text
    assert approver.get("/ban-tin/tiem-phong/am-thanh").status_code == 404  # none yet
    assert approver.post("/ban-tin/tiem-phong/doc", data={"csrf": a_csrf}).status_code == 403
    made_audio = officer.post("/ban-tin/tiem-phong/doc", data={"csrf": o_csrf})
    assert made_audio.headers["location"] == "/ban-tin/tiem-phong?xong=rendered"
    assert "<audio" in approver.get("/duyet/tiem-phong").text
    audio = approver.get("/ban-tin/tiem-phong/am-thanh")
    assert audio.status_code == 200 and audio.headers["content-type"].startswith("audio/")
    assert len(audio.content) > 1000
    approved = approver.post("/duyet/tiem-phong/duyet", data={"csrf": a_csrf})
    assert approved.status_code == 303 and approved.headers["location"] == "/duyet?xong=approved"
    assert str(editorial.summary(ctx, "tiem-phong").state) == "approved"
    assert "Không có bản tin nào chờ duyệt." in approver.get("/duyet?xong=approved").text
    entry = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "bulletin.approve"]
    assert (entry[-1].actor, entry[-1].face, entry[-1].result) == ("chu-tich", "web", "ok")


def _path(route: APIRoute) -> str:
    return route.path.replace("{bulletin_id}", "nq57-ba").replace("{name}", "khong-co")


def _answered(status: int, location: str) -> bool:
    """Answered by the page itself: not refused, not sent to sign in (signing out ends at the
    sign-in page, but without the ``next`` a refusal carries)."""
    return status in (200, 400, 401) or (
        status == 303 and not location.startswith("/dang-nhap?next=")
    )


def test_the_route_table_for_every_role(app):
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    names = {r.name for r in routes}
    assert names == set(EXPECTED) == set(NEEDS), "a route without its line in EXPECTED/NEEDS"
    # signing out ends the session: it goes last
    routes.sort(key=lambda r: r.name == "logout")
    seen: dict[tuple[str, Role | None], int] = {}
    for role in [None, *Role]:
        c = client(app)
        login_page = c.get("/dang-nhap")
        login_csrf = csrf_of(login_page.text)
        csrf = ""
        if role is not None:
            assert sign_in(c, ACCOUNTS[role]).status_code == 303
            csrf = csrf_of(c.get("/").text)
        for route in routes:
            for method in sorted(route.methods - {"HEAD"}):
                token = login_csrf if NEEDS[route.name] == "public" else csrf
                data = {"csrf": token, "reason": "Lý do thử.", "name": "x", "password": "y"}
                answer = c.request(method, _path(route), data=data if method == "POST" else None)
                where = answer.headers.get("location", "")
                seen[(route.name, role)] = answer.status_code
                label = f"{method} {route.path} as {role}: {answer.status_code} {where}"
                if role in EXPECTED[route.name]:
                    assert _answered(answer.status_code, where), label
                elif role is None and route.path.startswith("/api/"):
                    assert answer.status_code == 401 and answer.json()["error"], label
                elif role is None:
                    assert answer.status_code == 303 and where.startswith("/dang-nhap?next="), label
                else:
                    assert answer.status_code == 403, label
    assert len(seen) == len(EXPECTED) * (len(Role) + 1)


def test_the_menu_shows_only_what_the_role_may_open(app):
    officer, _ = signed_in(app, "lan")
    page = officer.get("/").text
    assert 'href="/ban-tin"' in page and 'href="/duyet"' not in page
    reporter, _ = signed_in(app, "mai")
    page = reporter.get("/").text
    assert 'href="/ban-tin"' not in page and 'href="/duyet"' not in page


def test_the_dashboard_fragment_shows_the_weeks_state(app, ctx):
    c, _ = signed_in(app, "hung")
    page = c.get("/")
    assert 'hx-get="/tong-quan/truc-tiep"' in page.text and 'hx-trigger="every 5s"' in page.text
    fragment = c.get("/tong-quan/truc-tiep")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Tuyên truyền Nghị quyết 57" in fragment.text  # the requirement by its title
    assert "Cụm loa thôn A" in fragment.text
    # an expired session answers htmx with a redirect it follows
    bare = client(app)
    lost = bare.get("/tong-quan/truc-tiep", headers={"hx-request": "true"})
    assert lost.status_code == 401 and lost.headers["hx-redirect"].startswith("/dang-nhap")


def test_the_spoken_text_is_previewed_as_it_is_typed(app):
    officer, csrf = signed_in(app, "lan")
    form = officer.get("/ban-tin/moi").text
    assert 'hx-post="/ban-tin/xem-truoc"' in form and 'id="spoken"' in form
    typed = "Ngày 25/11 <b>\nHọp ở QXZW."
    spoken = officer.post("/ban-tin/xem-truoc", data={"csrf": csrf, "body": typed})
    assert spoken.status_code == 200
    assert "hai mươi lăm" in spoken.text and "<b>" not in spoken.text
    assert "dòng 2: " in spoken.text and "QXZW" in spoken.text  # the lexicon's warning, placed
    assert officer.post("/ban-tin/xem-truoc", data={"body": "x"}).status_code == 403


def test_static_files_are_served_from_the_package(app):
    c = client(app)
    js = c.get("/tep/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:200]
    assert c.get("/tep/station.css").status_code == 200
    assert c.get("/tep/../app.py").status_code == 404


def test_only_a_loopback_address_serves_without_the_tls_warning():
    from broadcaster.cli.web_cmds import _is_loopback

    assert all(_is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.0.0.2"))
    assert not any(_is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::", "ubnd.example"))
