"""A bulletin's recording in a real browser: Debian's chromium, headless, driven by
Playwright, with its fake microphone (``--use-fake-device-for-media-stream``: a beep) and
its permission prompt answered (``--use-fake-ui-for-media-stream``), against `broadcaster
web` on 127.0.0.1. An officer records a few seconds with web/static/recorder.js, listens
back and saves it, on a desktop window and at a phone's width (390 px); a file that is
not audio is refused at the field without leaving the page.

Skipped only when /usr/bin/chromium is missing outside CI; under CI=true it must run."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from stationkit import Cli
from webkit import CHROMIUM, launch_chromium, serve_web

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

PASSWORD = "mat-khau-dai-1"
SHOTS = Path("/tmp")
FAKE_MICROPHONE = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium (tools/install-deps.sh installs it)", allow_module_level=True)

from playwright import sync_api  # noqa: E402 - after the skip: a dev dependency


@pytest.fixture
def server(station: Path):
    ctx = StationContext.open(station)
    UserService(ctx.db, ctx.clock).add(Actor.local_cli(), "lan", PASSWORD, [Role.OFFICER])
    ctx.close()
    with serve_web(station) as base:
        yield base, station


def sign_in(page, base: str, target: str) -> None:
    page.goto(f"{base}{target}")
    page.fill("#name", "lan")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}{target}")


def record_in_browser(browser, base: str, station: Path, bulletin_id: str, width: int, tag: str):
    context = browser.new_context(
        viewport={"width": width, "height": 844}, locale="vi-VN", permissions=["microphone"]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, f"/ban-tin/{bulletin_id}")
    start = page.get_by_role("button", name="Ghi âm", exact=True)
    sync_api.expect(start).to_be_visible()  # recorder.js found a microphone API
    box = start.bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= width
    start.click()
    sync_api.expect(page.locator("[data-clock]")).to_have_text("0:03", timeout=10_000)
    page.get_by_role("button", name="Dừng").click()
    take = page.locator("audio[data-take]")
    sync_api.expect(take).to_be_visible()
    # listen back: the take plays in the page (a blob: URL the CSP allows)
    sync_api.expect(take).to_have_attribute("src", re.compile(r"^blob:"))
    deadline = time.monotonic() + 10
    while page.evaluate("document.querySelector('audio[data-take]').readyState") < 1:
        assert time.monotonic() < deadline, "the take never loaded"
        time.sleep(0.1)
    page.screenshot(path=str(SHOTS / f"web-recording-{tag}.png"), full_page=True)
    page.get_by_role("button", name="Lưu bản ghi âm").click()
    page.wait_for_url(re.compile(rf".*/ban-tin/{bulletin_id}\?xong=recorded.*"))
    sync_api.expect(page.get_by_text("Đã lưu bản ghi âm")).to_be_visible()
    sync_api.expect(page.locator("audio[data-kept]")).to_have_count(1)
    heard = page.request.get(f"{base}/ban-tin/{bulletin_id}/ban-ghi")
    assert heard.status == 200 and heard.headers["content-type"] == "audio/ogg"
    script = (station / "scripts" / f"{bulletin_id}.md").read_text(encoding="utf-8")
    kept = re.search(r"^audio: (\S+)$", script, flags=re.M)
    assert kept and re.fullmatch(rf"audio/recordings/{bulletin_id}-[0-9a-f]{{16}}\.ogg", kept[1])
    assert (station / kept[1]).read_bytes() == heard.body()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    page.screenshot(path=str(SHOTS / f"web-recorded-{tag}.png"), full_page=True)
    assert not errors, errors
    context.close()


def refuse_in_browser(browser, base: str, station: Path, tmp_path: Path) -> None:
    """At a phone's width: a text file named .mp3 is refused at the field, in place."""
    fake = tmp_path / "tin.mp3"
    fake.write_text("không phải âm thanh", encoding="utf-8")
    before = (station / "scripts" / "nq57-ba.md").read_bytes()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, base, "/ban-tin/nq57-ba")
    page.set_input_files("#f-recording", str(fake))
    page.get_by_role("button", name="Tải tệp lên").click()
    sync_api.expect(page.locator("#recording-error")).to_have_text(
        "đây không phải tệp âm thanh (mp3, wav, m4a hoặc ogg)"
    )
    assert page.url == f"{base}/ban-tin/nq57-ba"  # the page stayed
    assert (station / "scripts" / "nq57-ba.md").read_bytes() == before
    context.close()


def test_an_officer_records_with_the_microphone_and_saves_it_in_chromium(server, tmp_path):
    base, station = server
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p, *FAKE_MICROPHONE)
        try:
            record_in_browser(browser, base, station, "nq57-mot", 1280, "desktop")
            record_in_browser(browser, base, station, "nq57-hai", 390, "phone")
            refuse_in_browser(browser, base, station, tmp_path)
        finally:
            browser.close()
    ctx = StationContext.open(station)
    try:
        assert ctx.bulletin("nq57-mot").is_recorded and ctx.bulletin("nq57-hai").is_recorded
    finally:
        ctx.close()
    # what the browser recorded is a recording `check` accepts (rendering it is tested on
    # ffmpeg's tone in test_web_upload.py: the fake microphone's short beeps in silence
    # cannot be brought to the station's loudness under its peak ceiling)
    checked = Cli(station)("check")
    assert checked.code == 0, checked.out + checked.err
