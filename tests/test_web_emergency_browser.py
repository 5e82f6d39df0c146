"""Issue 14: "an emergency typed on the page interrupts a playing bulletin", in a real
browser (Debian's chromium, headless, driven by Playwright) against `broadcaster web
--with-daemon` on 127.0.0.1, its clock shifted to Monday 2026-11-23 06:00:05, inside the
morning session (tests/test_web_journey.py's server), and its file output, which keeps
real time like a sound card.

A two-minute bulletin is queued at 06:00 on two zones and the daemon starts it on both.
While it plays, an operator types an alert on Khẩn cấp for one zone (a desktop window),
confirms and follows it: the progress page says it aired there and what it cut; the
as-run log says the bulletin was cut there ("interrupted by emergency airing N", never
"aired"), that the alert aired after the cut, and that the other zone was left playing.
Then the same flow at a phone's width (390 px) cuts the other zone. Screenshots go to
/tmp/web-emergency-*.png.

Skipped only when /usr/bin/chromium is missing outside CI; under CI=true it must run."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from stationkit import Cli, played, rows, script_text
from test_web_journey import PASSWORD, SHOTS, VN, Server, _fits, _page, _sign_in, _tappable, served
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

#: The server's clock when it starts: the 06:00 airings are due, the session is on.
START = datetime(2026, 11, 23, 6, 0, 5, tzinfo=VN)
#: About two minutes of speech: on air through both emergencies on a loaded machine.
LONG_BODY = " ".join(["Bà con chú ý lắng nghe thông báo của Ủy ban nhân dân xã."] * 32)
ZONES = {"thon-a": "Cụm loa thôn A", "xa": "Đài xã"}


def _airing(root: Path, zone: str) -> dict:
    [row] = rows(
        root,
        "select * from airing where bulletin_id = 'dai' and zone_id = ? and origin = 'queue'",
        zone,
    )
    return dict(row)


def _wait(what, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.3)


@pytest.fixture
def server(station: Path):
    cli = Cli(station)  # Sunday noon: the bookings are in the future
    (station / "scripts" / "dai.md").write_text(
        script_text("dai", "normal", "nq57", LONG_BODY, "all"), encoding="utf-8"
    )
    cli("render", "dai", check=True)
    cli("approve", "dai", "--by", "Chủ tịch UBND xã", check=True)
    for zone in ZONES:
        cli("queue", "dai", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
    ctx = StationContext.open(station)
    UserService(ctx.db, ctx.clock).add(
        Actor.local_cli(), "hung", PASSWORD, [Role.OPERATOR], full_name="Trực ban Hùng"
    )
    ctx.close()
    with served(station, START) as running:
        yield running


def type_an_emergency(browser, server: Server, zone: str, text: str, width: int) -> int:
    """On Khẩn cấp: the text typed, one zone, confirmed while the long bulletin still
    plays there, followed to its outcome. The emergency's airing id."""
    base = server.base
    shot = f"web-emergency-{width}"
    context, page, errors = _page(browser, width)
    _sign_in(page, base, "/khan-cap", "hung")
    _fits(page, width)
    page.get_by_label("Nội dung nhập ngay bây giờ").check()
    page.fill("#e-text", text)
    page.fill("#e-approved", "Chủ tịch UBND xã")
    page.get_by_label("Tất cả cụm loa").uncheck()
    page.get_by_label(ZONES[zone], exact=True).check()
    page.screenshot(path=str(SHOTS / f"{shot}-form.png"), full_page=True)
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_role("heading", name="Xác nhận phát khẩn cấp")).to_be_visible()
    expect(page.locator("pre")).to_have_text(text)
    expect(page.get_by_text("Đài đang chạy sẽ phát trong vòng một giây.")).to_be_visible()
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"{shot}-confirm.png"), full_page=True)
    air = page.get_by_role("button", name="Phát khẩn cấp ngay")
    if width <= 390:
        _tappable(air, width)
    playing = _airing(server.station, zone)
    assert playing["status"] == "playing", playing  # what the alert is to cut
    air.click()
    page.wait_for_url(f"{base}/khan-cap/tien-do*")
    [luot] = parse_qs(urlsplit(page.url).query)["luot"]
    expect(page.get_by_text("Xong: mọi cụm loa đã có kết quả.")).to_be_visible(timeout=90_000)
    progress = page.locator("li.zone-progress")
    expect(progress).to_have_count(1)
    expect(progress).to_contain_text(ZONES[zone])
    expect(progress).to_contain_text("đã phát")
    expect(progress.locator(".cut")).to_have_text("Đã ngắt bản tin đang phát: Bản tin dai")
    _fits(page, width)
    page.screenshot(path=str(SHOTS / f"{shot}-progress.png"), full_page=True)
    assert not errors, errors
    context.close()
    return int(luot)


def _cut_by(root: Path, zone: str, emergency: int) -> None:
    """The long bulletin's entry on ``zone``: interrupted by ``emergency``, which aired
    there after the cut; never an 'aired' for the cut airing."""
    cut = _airing(root, zone)
    entries = [
        dict(r) for r in rows(root, "select * from as_run_log where airing_id = ?", cut["id"])
    ]
    every = [tuple(r) for r in rows(root, "select airing_id, zone_id, outcome from as_run_log")]
    assert [e["outcome"] for e in entries] == ["interrupted"], (entries, every)
    [entry] = entries
    assert entry["reason"] == f"interrupted by emergency airing {emergency}", entry
    assert cut["status"] == "interrupted"
    started = datetime.fromisoformat(entry["started_at"])
    ended = datetime.fromisoformat(entry["ended_at"])
    assert 0 < (ended - started).total_seconds() < entry["duration_seconds"] - 10, entry
    [alert] = [
        dict(r) for r in rows(root, "select * from as_run_log where airing_id = ?", emergency)
    ]
    assert (alert["zone_id"], alert["outcome"], alert["origin"]) == (zone, "aired", "emergency")
    assert alert["priority"] == "emergency" and alert["approved_by"] == "Chủ tịch UBND xã"
    assert datetime.fromisoformat(alert["started_at"]) >= ended, (alert, entry)


def test_an_emergency_typed_on_the_page_interrupts_a_playing_bulletin(server):
    root = server.station
    for zone in ZONES:
        _wait(
            lambda zone=zone: _airing(root, zone)["status"] == "playing",
            90,
            f"the long bulletin did not start on {zone}: {server.err}",
        )
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            first = type_an_emergency(
                browser,
                server,
                "thon-a",
                "Khẩn cấp: nước lũ đang lên, bà con thôn A di chuyển lên vùng cao ngay.",
                1280,
            )
            _cut_by(root, "thon-a", first)
            assert _airing(root, "xa")["status"] == "playing"  # not chosen: left on air
            second = type_an_emergency(
                browser,
                server,
                "xa",
                "Khẩn cấp: bão đổ bộ trong một giờ tới, bà con ở trong nhà.",
                390,
            )
        finally:
            browser.close()
    _cut_by(root, "xa", second)
    server.stop()
    assert server.proc.returncode == 0, server.err
    # what reached the file output: on each zone the bulletin, then the alert
    for zone, alert in (("thon-a", first), ("xa", second)):
        started = [r["airing"] for r in played(root) if r["zone"] == zone]
        cut = _airing(root, zone)["id"]
        assert cut in started and alert in started, started
        assert started.index(cut) < started.index(alert), started
