"""Cài đặt in a real browser at a phone's width (390 px): an admin sets up a new commune
from a folder made by ``broadcaster init`` (two zones, a session, a requirement) on
`broadcaster web` started by the test, and the real ``broadcaster check`` accepts what
the pages wrote (issue 14, "Done means"). Screenshots: /tmp/web-set-*.png."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from stationkit import Cli
from webkit import CHROMIUM, launch_chromium, serve_web

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.new_station import init_station
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

PASSWORD = "mat-khau-dai-1"
SHOTS = Path("/tmp")
WIDTH = 390

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium (tools/install-deps.sh installs it)", allow_module_level=True)

from playwright import sync_api  # noqa: E402 - after the skip: a dev dependency


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "xa-moi"
    init_station(root, "Đài truyền thanh xã Mường Lống")
    ctx = StationContext.open(root)
    UserService(ctx.db, ctx.clock).add(
        Actor.local_cli(), "quan-tri-vien", PASSWORD, [Role.ADMIN], full_name="Quản trị xã"
    )
    ctx.close()
    with serve_web(root) as base:
        yield base, root


def field(page, name: str):
    return page.locator(f'[name="{name}"]')


def save(page, base: str, button: str, anchor: str) -> None:
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{base}/cai-dat?xong=saved&phan={anchor}#{anchor}")
    sync_api.expect(page.get_by_text("Đã lưu: lệnh check chấp nhận")).to_be_visible()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_an_admin_sets_up_a_new_commune_at_a_phones_width(server):
    base, root = server
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(viewport={"width": WIDTH, "height": 844}, locale="vi-VN")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/cai-dat")
            page.fill("#name", "quan-tri-vien")
            page.fill("#password", PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(f"{base}/cai-dat")
            sync_api.expect(page.get_by_role("heading", name="Cài đặt", exact=True)).to_be_visible()
            page.screenshot(path=str(SHOTS / "web-set-empty.png"))
            no_sideways_scroll(page)
            # two zones, each typed in the new row of the table
            for row, (zone_id, name) in enumerate(
                (("ban-mong", "Cụm loa bản Mông"), ("ban-thai", "Cụm loa bản Thái")), start=1
            ):
                field(page, f"zones.{row}.id").fill(zone_id)
                field(page, f"zones.{row}.name").fill(name)
                save(page, base, "Lưu các cụm loa", "cum-loa")
            page.screenshot(path=str(SHOTS / "web-set-zones.png"))  # at #cum-loa
            # a session: a mistyped time first, shown at its field
            field(page, "sessions.0.id").fill("sang")
            field(page, "sessions.0.zones").fill("all")
            for day in ("T2", "T4", "T6"):
                page.locator("tr.new fieldset.days label", has_text=day).first.click()
            field(page, "sessions.0.start").fill("25:00")
            field(page, "sessions.0.max_minutes").fill("15")
            page.get_by_role("button", name="Lưu các buổi phát").click()
            message = page.locator('[id="e-sessions.0.start"]')
            sync_api.expect(message).to_contain_text("25:00")
            message.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "web-set-error.png"), full_page=False)
            box = field(page, "sessions.0.start").bounding_box()
            assert box and box["x"] + box["width"] <= WIDTH
            field(page, "sessions.0.start").fill("06:00")
            save(page, base, "Lưu các buổi phát", "buoi-phat")
            # a requirement
            field(page, "requirements.0.id").fill("nq57-hang-tuan")
            field(page, "requirements.0.title").fill("Tuyên truyền Nghị quyết 57")
            field(page, "requirements.0.campaign").fill("nq57")
            field(page, "requirements.0.min").fill("1")
            field(page, "requirements.0.zones").fill("ban-mong, ban-thai")
            save(page, base, "Lưu các yêu cầu", "yeu-cau")
            page.screenshot(path=str(SHOTS / "web-set-done.png"), full_page=True)
            no_sideways_scroll(page)
            assert not errors, errors
            context.close()
        finally:
            browser.close()
    data = yaml.safe_load((root / "schedules" / "station.yaml").read_text(encoding="utf-8"))
    assert [z["id"] for z in data["zones"]] == ["xa", "ban-mong", "ban-thai"]
    assert data["sessions"][0]["days"] == ["mon", "wed", "fri"]
    assert data["requirements"][0]["zones"] == ["ban-mong", "ban-thai"]
    check = Cli(root)("check", "--json")
    assert check.code == 0, check.out + check.err
    assert json.loads(check.out)["ok"] is True
