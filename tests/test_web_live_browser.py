"""Issue 16: "Phát trực tiếp", the browser's microphone to the station, in a real browser
(Debian's chromium, headless, its fake microphone playing a tone file) against
`broadcaster web --with-daemon` on 127.0.0.1. An operator picks a zone, presses the
button, speaks for a few seconds and presses stop; the daemon aired it: the zone's
as-run entry says aired, stopped by the operator, with the recording's SHA-256, and the
recording holds what the microphone gave. The same at a phone's width (390 px).
Screenshots go to /tmp/web-live-*.png."""

from __future__ import annotations

import hashlib
import os
import time
import wave
from pathlib import Path

import pytest
from test_live import tone
from test_web_journey import PASSWORD, SHOTS, Server, _fits, _page, _sign_in, _tappable, served
from webkit import CHROMIUM, launch_chromium

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

pytestmark = pytest.mark.realtime

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium (tools/install-deps.sh installs it)", allow_module_level=True)

from playwright import sync_api  # noqa: E402 - after the skip: a dev dependency

expect = sync_api.expect
ZONES = {"xa": "Đài xã", "thon-a": "Cụm loa thôn A"}


@pytest.fixture
def server(station: Path):
    ctx = StationContext.open(station)
    UserService(ctx.db, ctx.clock).add(
        Actor.local_cli(), "hung", PASSWORD, [Role.OPERATOR], full_name="Trực ban Hùng"
    )
    ctx.close()
    with served(station) as running:
        yield running


def go_live(browser, server: Server, zone: str, width: int) -> None:
    shot = f"web-live-{width}"
    context, page, errors = _page(browser, width)
    _sign_in(page, server.base, "/truc-tiep", "hung")
    expect(page.get_by_role("heading", name="Phát trực tiếp")).to_be_visible()
    _fits(page, width)
    page.get_by_label(ZONES[zone], exact=True).check()
    page.fill("#l-minutes", "2")
    start = page.get_by_role("button", name="Bắt đầu nói")
    if width <= 390:
        _tappable(start, width)
    page.screenshot(path=str(SHOTS / f"{shot}-form.png"), full_page=True)
    start.click()
    expect(page.locator("#live-status")).to_contain_text("ĐANG PHÁT", timeout=60_000)
    page.screenshot(path=str(SHOTS / f"{shot}-on-air.png"), full_page=True)
    began = time.monotonic()
    dashboard = context.new_page()  # Tổng quan says who is speaking where, meanwhile
    for _ in range(20):
        dashboard.goto(f"{server.base}/")
        card = dashboard.locator(".card.zone", has_text=ZONES[zone])
        if "đang nói" in card.inner_text():
            break
        time.sleep(0.5)
    expect(card).to_contain_text("Trực tiếp")
    expect(card).to_contain_text("hung đang nói, chậm nhất đến")
    dashboard.screenshot(path=str(SHOTS / f"{shot}-dashboard.png"), full_page=True)
    dashboard.close()
    time.sleep(max(0.0, 4 - (time.monotonic() - began)))
    page.get_by_role("button", name="Dừng").click()
    expect(page.locator("#live-status")).to_contain_text(
        "Buổi phát trực tiếp đã kết thúc.", timeout=60_000
    )
    row = page.locator("#live-result tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(ZONES[zone])
    expect(row).to_contain_text("đã phát")
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"{shot}-done.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_an_operator_goes_live_from_the_browsers_microphone(server, tmp_path: Path):
    mic = tone(tmp_path / "mic.wav", 30, freq=500)
    root = server.station
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(
            p,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic}",
        )
        try:
            go_live(browser, server, "xa", 1280)
            go_live(browser, server, "thon-a", 390)
        finally:
            browser.close()
    from stationkit import rows

    done = [dict(r) for r in rows(root, "select * from live_broadcast order by id")]
    assert [b["state"] for b in done] == ["done", "done"], (done, server.err)
    entries = [dict(r) for r in rows(root, "select * from as_run_log where origin = 'live'")]
    assert [e["zone_id"] for e in entries] == ["xa", "thon-a"], server.err
    for b, e in zip(done, entries, strict=True):
        assert e["outcome"] == "aired", e
        assert e["reason"].startswith("stopped by ") and "hung" in e["reason"], e
        assert "hung" in e["triggered_by"]
        assert 2.0 <= e["relayed_seconds"] <= 30, e
        recording = root / b["recording"]
        assert hashlib.sha256(recording.read_bytes()).hexdigest() == e["audio_sha256"]
        with wave.open(str(recording)) as w:
            frames = w.readframes(w.getnframes())
        loud = max(
            abs(int.from_bytes(frames[i : i + 2], "little", signed=True))
            for i in range(0, len(frames) - 1, 200)
        )
        assert loud > 1000  # the microphone's tone went out, not silence
    assert not list((root / "recordings" / "incoming").glob("*"))  # the pipes are gone
