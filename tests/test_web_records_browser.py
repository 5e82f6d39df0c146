"""The record pages in a real browser: Debian's chromium, headless, driven by Playwright,
against `broadcaster web` started by the test on 127.0.0.1 (a free port) and stopped at
the end. At a phone's width (390 px) a reporter downloads the half-year's XLSX through
the page (Playwright's download API) and its aired count is the log's; an admin adds a
user and reads the password shown once. Screenshots of each page, desktop and phone, go
to /tmp/web-rec-*.png.

Skipped only when /usr/bin/chromium is missing outside CI; under CI=true it must run."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from test_web_browser import PASSWORD, sync_api
from test_web_records import MONDAY, NOW, air
from webkit import launch_chromium, serve_web

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.engine.clock import SimClock

SHOTS = Path("/tmp")


@pytest.fixture
def server(station: Path):
    ctx = StationContext.open(station, clock=SimClock(NOW))  # the airings were last week
    users = UserService(ctx.db, ctx.clock)
    users.add(Actor.local_cli(), "mai", PASSWORD, [Role.REPORTER], full_name="Trần Thị Mai")
    users.add(Actor.local_cli(), "quan-tri-vien", PASSWORD, [Role.ADMIN])
    air(ctx, "nq57-mot", "xa", MONDAY)
    air(ctx, "nq57-ba", "thon-a", MONDAY + timedelta(minutes=5))
    air(ctx, "nq57-mot", "thon-b", MONDAY + timedelta(days=1))
    air(ctx, "nq57-ba", "thon-b", MONDAY + timedelta(days=1, minutes=20), "failed")
    ctx.close()
    with serve_web(station) as base:
        yield base, station


def _sign_in(page, base: str, path: str, name: str) -> None:
    page.goto(f"{base}{path}")
    assert "/dang-nhap" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}{path}")


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll


def _aired_in_log(station: Path) -> int:
    with sqlite3.connect(station / "station.db") as conn:
        [(n,)] = conn.execute("select count(*) from as_run_log where outcome = 'aired'").fetchall()
    return n


def reporter(browser, base: str, station: Path, width: int, tag: str, tmp: Path) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 844}, locale="vi-VN", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base, "/nhat-ky", "mai")
    sync_api.expect(page.get_by_role("heading", name="Nhật ký phát sóng")).to_be_visible()
    sync_api.expect(page.get_by_text("phát không thành công")).to_be_visible()  # the reason
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"web-rec-log-{tag}.png"), full_page=True)
    page.select_option("#f-outcome", "aired")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**/nhat-ky?*outcome=aired*")
    assert page.locator("ul.log > li").count() == 3
    page.get_by_role("link", name="Kiểm tra chuỗi").click()
    sync_api.expect(page.get_by_text("Nguyên vẹn")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"web-rec-verify-{tag}.png"), full_page=True)
    page.get_by_role("link", name="Báo cáo").click()
    page.wait_for_url(f"{base}/bao-cao")
    page.get_by_label("6 tháng cuối năm").check()
    page.select_option("#f-format", "xlsx")
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"web-rec-report-{tag}.png"), full_page=True)
    button = page.get_by_role("button", name="Tải báo cáo")
    box = button.bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= width
    with page.expect_download() as caught:
        button.click()
    download = caught.value
    assert download.suggested_filename == "bao-cao-2026-H2.xlsx"
    saved = tmp / f"{tag}.xlsx"
    download.save_as(saved)
    book = openpyxl.load_workbook(saved, read_only=True)
    sheet = book["Cụm loa"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    column = header.index("Đã phát")
    aired = sum(int(r[column] or 0) for r in sheet.iter_rows(min_row=2, values_only=True))
    assert aired == _aired_in_log(station) == 3
    if tag == "desktop":  # last: an entry edited in the database breaks the chain
        with sqlite3.connect(station / "station.db") as conn:
            conn.execute("UPDATE as_run_log SET outcome = 'aired' WHERE seq = 4")
        page.goto(f"{base}/nhat-ky/kiem-tra")
        sync_api.expect(page.get_by_text("Bị hỏng")).to_be_visible()
        sync_api.expect(page.locator(".first-problem")).to_contain_text("mục 4")
        page.screenshot(path=str(SHOTS / "web-rec-verify-broken-desktop.png"), full_page=True)
    assert not errors, errors
    context.close()


def admin(browser, base: str, width: int, tag: str) -> None:
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base, "/nguoi-dung", "quan-tri-vien")
    sync_api.expect(page.get_by_role("heading", name="Người dùng", exact=True)).to_be_visible()
    name = f"tuan-{tag}"
    page.fill("#f-name", name)
    page.fill("#f-full-name", "Nguyễn Văn Tuấn")
    page.get_by_role("checkbox", name=re.compile("^vận hành")).check()
    page.fill("#f-zones", "thon-a")
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"web-rec-users-{tag}.png"), full_page=True)
    page.get_by_role("button", name="Thêm người dùng").click()
    sync_api.expect(page.get_by_text("chỉ hiện một lần này")).to_be_visible()
    password = page.locator("#new-password").inner_text().strip()
    assert len(password) >= 10
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"web-rec-user-{tag}.png"), full_page=True)
    page.get_by_role("link", name="Nhật ký kiểm toán").click()
    sync_api.expect(page.get_by_text("users.add").first).to_be_visible()
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"web-rec-audit-{tag}.png"), full_page=True)
    assert not errors, errors
    context.close()
    # the new operator signs in with the password shown
    fresh = browser.new_context(viewport={"width": width, "height": 844}, locale="vi-VN")
    page = fresh.new_page()
    page.goto(f"{base}/dang-nhap")
    page.fill("#name", name)
    page.fill("#password", password)
    page.get_by_role("button", name="Đăng nhập").click()
    sync_api.expect(page.get_by_text("Nguyễn Văn Tuấn")).to_be_visible()
    fresh.close()


def test_a_reporter_downloads_the_xlsx_and_an_admin_adds_a_user_in_chromium(server, tmp_path):
    base, station = server
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            reporter(browser, base, station, 390, "phone", tmp_path)
            admin(browser, base, 390, "phone")
            reporter(browser, base, station, 1280, "desktop", tmp_path)
            admin(browser, base, 1280, "desktop")
        finally:
            browser.close()
