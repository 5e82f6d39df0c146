"""The web station in a real browser: Debian's chromium, headless, driven by Playwright,
against `broadcaster web` started by the test on 127.0.0.1 (a free port) and stopped at
the end. An approver signs in and approves a pending bulletin, on a desktop window and
at a phone's width (390 px).

Skipped only when /usr/bin/chromium is missing outside CI (tools/install-deps.sh installs
it); under CI=true it must run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from webkit import CHROMIUM, launch_chromium, serve_web

from broadcaster.app import bulletins, editorial
from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

PASSWORD = "mat-khau-dai-1"
SHOTS = Path("/tmp")

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium (tools/install-deps.sh installs it)", allow_module_level=True)

from playwright import sync_api  # noqa: E402 - after the skip: a dev dependency


def pending_bulletin(ctx: StationContext, officer: Actor, bulletin_id: str, title: str) -> None:
    editorial.save_script(
        ctx,
        officer,
        {
            "id": bulletin_id,
            "title": title,
            "campaign": "nq57",
            "priority": "normal",
            "valid_from": "2026-11-01",
            "valid_until": "2027-12-31",
            "zones": "all",
        },
        "Ngày 25/11/2026, UBND xã họp dân tại nhà văn hoá thôn A.",
        create=True,
    )
    bulletins.render(ctx, [bulletin_id])
    editorial.submit(ctx, officer, bulletin_id)


@pytest.fixture
def server(station: Path):
    ctx = StationContext.open(station)
    users = UserService(ctx.db, ctx.clock)
    users.add(Actor.local_cli(), "lan", PASSWORD, [Role.OFFICER])
    users.add(Actor.local_cli(), "chu-tich", PASSWORD, [Role.APPROVER], full_name="Chủ tịch xã")
    officer = Actor("lan", frozenset({Role.OFFICER}), face="web")
    pending_bulletin(ctx, officer, "hop-dan", "Thông báo họp dân thôn A")
    pending_bulletin(ctx, officer, "ve-sinh", "Tổng vệ sinh môi trường")
    ctx.close()
    with serve_web(station) as base:
        yield base, station


def approve_in_browser(browser, base: str, bulletin_id: str, title: str, width: int, tag: str):
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/duyet")
    assert "/dang-nhap" in page.url
    page.fill("#name", "chu-tich")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/duyet")
    page.get_by_role("link", name=title).click()
    page.wait_for_url(f"{base}/duyet/{bulletin_id}")
    sync_api.expect(page.get_by_text("Chưa từng được duyệt")).to_be_visible()
    sync_api.expect(page.locator("audio")).to_have_count(1)
    heard = page.request.get(f"{base}/ban-tin/{bulletin_id}/am-thanh")  # the page's cookies
    assert heard.status == 200 and heard.headers["content-type"].startswith("audio/")
    approve = page.get_by_role("button", name="Duyệt", exact=True)
    box = approve.bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= width  # on screen, tappable
    page.screenshot(path=str(SHOTS / f"web-approval-{tag}.png"), full_page=True)
    approve.click()
    page.wait_for_url(f"{base}/duyet?xong=approved")
    sync_api.expect(page.get_by_text("Đã duyệt: đúng văn bản")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    page.goto(f"{base}/")
    sync_api.expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"web-dashboard-{tag}.png"), full_page=True)
    assert page.evaluate("typeof htmx") == "object"  # the vendored script loaded
    assert not errors, errors
    context.close()


def preview_in_browser(browser, base: str) -> None:
    """An officer types a body at a phone's width: the spoken text follows (htmx posts
    the form, its CSRF token included)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/ban-tin/moi")
    page.fill("#name", "lan")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/ban-tin/moi")
    page.fill("#f-body", "Ngày 25/11/2026 họp tại QXZW.")
    sync_api.expect(page.locator("#spoken")).to_contain_text("hai mươi lăm tháng mười một")
    sync_api.expect(page.locator("#spoken")).to_contain_text("QXZW")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "web-form-phone.png"), full_page=True)
    context.close()


def test_an_approver_approves_a_pending_bulletin_in_chromium(server):
    base, station = server
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            approve_in_browser(
                browser, base, "hop-dan", "Thông báo họp dân thôn A", 1280, "desktop"
            )
            approve_in_browser(browser, base, "ve-sinh", "Tổng vệ sinh môi trường", 390, "phone")
            preview_in_browser(browser, base)
        finally:
            browser.close()
    ctx = StationContext.open(station)
    try:
        states = {r.id: str(r.state) for r in editorial.list_bulletins(ctx)[0]}
    finally:
        ctx.close()
    assert states["hop-dan"] == "approved" and states["ve-sinh"] == "approved"
