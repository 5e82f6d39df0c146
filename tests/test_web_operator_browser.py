"""The operator's pages in a real browser: Debian's chromium, headless, driven by
Playwright, against `broadcaster web` started by the test on 127.0.0.1 (a free port) and
stopped at the end (tests/test_web_browser.py). An operator queues a bulletin at a phone's
width (390 px) and sees it in the week; then an emergency is aired on one zone from the
page and followed to its outcome. Screenshots of each page, on a desktop window and at
390 px, go to /tmp/web-ops-*.png."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_web_browser import PASSWORD, SHOTS, sync_api
from webkit import launch_chromium, serve_web

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def server(station: Path):
    with serve(station) as base:
        yield base, station


@contextlib.contextmanager
def serve(station: Path):
    """`broadcaster web` on the station, with an operator's account, until the block ends."""
    ctx = StationContext.open(station)
    UserService(ctx.db, ctx.clock).add(
        Actor.local_cli(), "hung", PASSWORD, [Role.OPERATOR], full_name="Trực ban Hùng"
    )
    ctx.close()
    with serve_web(station) as base:
        yield base


def _page(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 844}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def _sign_in(page, base: str, target: str) -> None:
    page.goto(f"{base}{target}")
    page.fill("#name", "hung")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}{target}")


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll


def test_an_operator_queues_a_bulletin_at_a_phones_width_and_sees_it(server):
    base, _station = server
    tomorrow = (datetime.now(VN) + timedelta(days=1)).date()
    week = "{}-W{:02d}".format(*tomorrow.isocalendar()[:2])
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context, page, errors = _page(browser, 390)
            _sign_in(page, base, "/lich-phat")
            sync_api.expect(
                page.get_by_role("heading", name="Lịch phát", exact=False)
            ).to_be_visible()
            _fits(page, 390)
            page.select_option("#q-bulletin", "nq57-ba")
            page.select_option("#q-zone", "thon-a")
            page.fill("#q-at", f"{tomorrow.isoformat()}T06:00")
            queue = page.get_by_role("button", name="Xếp lịch", exact=True)
            box = queue.bounding_box()
            assert box and box["height"] >= 44 and box["x"] + box["width"] <= 390
            queue.click()
            page.wait_for_url(f"{base}/lich-phat?tuan={week}&da=queued*")
            sync_api.expect(
                page.get_by_text("Đã xếp lịch: lượt phát đã có trong lịch.")
            ).to_be_visible()
            item = page.locator("section[aria-labelledby=z-thon-a] li.airing", has_text="nq57-ba")
            sync_api.expect(item).to_be_visible()
            sync_api.expect(item).to_contain_text("06:00")
            sync_api.expect(item).to_contain_text("đã lên lịch")
            _fits(page, 390)
            page.screenshot(path=str(SHOTS / "web-ops-schedule-phone.png"), full_page=True)
            item.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "web-ops-schedule-phone-item.png"))
            # the confirmation of a cancel, at the phone's width
            item.get_by_role("link", name="Huỷ").click()
            sync_api.expect(page.get_by_text("Huỷ lượt phát này?")).to_be_visible()
            page.screenshot(path=str(SHOTS / "web-ops-cancel-phone.png"), full_page=True)
            # the emergency: an approved bulletin on one zone, confirmed, followed
            page.goto(f"{base}/khan-cap")
            _fits(page, 390)
            page.screenshot(path=str(SHOTS / "web-ops-emergency-phone.png"), full_page=True)
            page.select_option("#e-bulletin", "bao-lu")
            page.get_by_label("Tất cả cụm loa").uncheck()
            page.get_by_label("Cụm loa thôn B").check()
            page.get_by_role("button", name="Tiếp tục").click()
            sync_api.expect(
                page.get_by_role("heading", name="Xác nhận phát khẩn cấp")
            ).to_be_visible()
            page.screenshot(path=str(SHOTS / "web-ops-emergency-confirm-phone.png"), full_page=True)
            air = page.get_by_role("button", name="Phát khẩn cấp ngay")
            box = air.bounding_box()
            assert box and box["height"] >= 56 and box["x"] + box["width"] <= 390
            air.click()
            page.wait_for_url(f"{base}/khan-cap/tien-do*")
            sync_api.expect(page.get_by_text("Xong: mọi cụm loa đã có kết quả.")).to_be_visible(
                timeout=60_000
            )
            sync_api.expect(page.locator("li.zone-progress")).to_contain_text("đã phát")
            page.screenshot(
                path=str(SHOTS / "web-ops-emergency-progress-phone.png"), full_page=True
            )
            page.goto(f"{base}/cum-loa")
            sync_api.expect(page.get_by_text("không có đầu ra MQTT")).to_be_visible()
            page.screenshot(path=str(SHOTS / "web-ops-receivers-phone.png"), full_page=True)
            assert page.evaluate("typeof htmx") == "object"
            assert not errors, errors
            context.close()
            # the same pages on a desktop window
            context, page, errors = _page(browser, 1280)
            _sign_in(page, base, "/lich-phat")  # (signing in keeps the path, not the query)
            page.goto(f"{base}/lich-phat?tuan={week}")
            sync_api.expect(page.locator("li.airing", has_text="Bản tin nq57-ba")).to_be_visible()
            page.screenshot(path=str(SHOTS / "web-ops-schedule-desktop.png"), full_page=True)
            page.goto(f"{base}/khan-cap")
            page.screenshot(path=str(SHOTS / "web-ops-emergency-desktop.png"), full_page=True)
            page.goto(f"{base}/cum-loa")
            page.screenshot(path=str(SHOTS / "web-ops-receivers-desktop.png"), full_page=True)
            assert not errors, errors
            context.close()
        finally:
            browser.close()


def test_networked_receivers_at_a_phones_width(station, tmp_path):
    """A real Mosquitto and two reference receivers: the operator sees them online and
    sets a zone's volume from the page at 390 px."""
    from netkit import Network, ReceiverProcess, make_network_station, mosquitto

    with mosquitto(tmp_path / "mosquitto") as broker:
        root, receivers_file = make_network_station(
            station, Network.make({"z1": 2, "z2": 1}), broker
        )
        receiver = ReceiverProcess(receivers_file)
        try:
            with (
                serve(root) as base,
                sync_api.sync_playwright() as p,
            ):
                browser = launch_chromium(p)
                try:
                    for width, tag in ((390, "phone"), (1280, "desktop")):
                        context, page, errors = _page(browser, width)
                        _sign_in(page, base, "/cum-loa")
                        sync_api.expect(page.get_by_text("ref-fw-1.0").first).to_be_visible()
                        page.screenshot(
                            path=str(SHOTS / f"web-ops-receivers-net-{tag}.png"), full_page=True
                        )
                        assert not errors, errors
                        if width == 390:
                            page.select_option("#v-target", "zone:z1")
                            page.fill("#v-level", "35")
                            page.get_by_role("button", name="Gửi").click()
                            page.wait_for_url(f"{base}/cum-loa?da=volume")
                            sync_api.expect(
                                page.get_by_text("Đã gửi lệnh chỉnh âm lượng.")
                            ).to_be_visible()
                        context.close()
                finally:
                    browser.close()
        finally:
            receiver.stop()
