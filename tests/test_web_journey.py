"""Issue 14's journey, end to end in a real browser: Debian's chromium, headless, driven by
Playwright, against `broadcaster web --with-daemon` started by the test on 127.0.0.1 (a
free port) with its clock shifted to Monday 2026-11-23 06:00:20, inside the morning
session (the web process and the daemon it hosts share that clock), and stopped at the
end (its process group: SIGTERM, then SIGKILL).

Through the pages only: an officer writes a bulletin with a date and an acronym, sees
them spoken out, makes its audio and sends it for approval; an approver approves it and
an operator queues it on one zone a few seconds ahead (both at a phone's width, 390 px); the
daemon airs it (the calendar says "đã phát", the file output has its audio); a reporter
downloads the half-year's XLSX and its aired count for the zone is the as-run log's. A
second bulletin sent back by the approver cannot be queued, and an operator limited to
one zone cannot queue into another. Screenshots go to /tmp/journey-*.png.

Skipped only when /usr/bin/chromium is missing outside CI; under CI=true it must run."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from webkit import CHROMIUM, free_port, launch_chromium

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

PASSWORD = "mat-khau-dai-1"
SHOTS = Path("/tmp")
VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: The station's clock when the server starts: the morning session (06:00, 10 min) is on.
START = datetime(2026, 11, 23, 6, 0, 20, tzinfo=VN)
ZONE = "thon-a"

pytestmark = pytest.mark.realtime

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium (tools/install-deps.sh installs it)", allow_module_level=True)

from playwright import sync_api  # noqa: E402 - after the skip: a dev dependency

expect = sync_api.expect


class Server:
    """`broadcaster web --with-daemon` on the station, its clock shifted by ``offset``
    (``start`` is the station's time when it starts)."""

    def __init__(self, station: Path, start: datetime = START) -> None:
        self.station = station
        self.offset = start.astimezone(UTC) - datetime.now(UTC)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
            ),
            "BROADCASTER_STATION": str(station),
            "BROADCASTER_CLOCK_OFFSET": str(self.offset.total_seconds()),
            "LANGUAGE": "",
            "LANG": "C.UTF-8",
        }
        env.pop("BROADCASTER_NOW", None)
        env.pop("BROADCASTER_DB", None)
        code = "import sys; from broadcaster.cli.app import main; sys.argv[0]='broadcaster'; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "web", "--with-daemon", "--port", str(self.port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def now(self) -> datetime:
        """The station's clock (the server's: the same shift of the same wall clock)."""
        return datetime.now(UTC) + self.offset

    def wait_listening(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"broadcaster web did not start: {self.err}")
                time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL if it lingers; then nothing of the group
        (an encoder the daemon started...) outlives it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            _out, self.err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            _out, self.err = self.proc.communicate()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    err = ""


@contextlib.contextmanager
def served(station: Path, start: datetime = START):
    """The web station with its daemon on ``station`` until the block ends."""
    running = Server(station, start)
    try:
        running.wait_listening()
        yield running
    finally:
        running.stop()


@pytest.fixture
def server(station: Path):
    ctx = StationContext.open(station)
    users = UserService(ctx.db, ctx.clock)
    cli = Actor.local_cli()
    users.add(cli, "lan", PASSWORD, [Role.OFFICER], full_name="Cán bộ Lan")
    users.add(cli, "chu-tich", PASSWORD, [Role.APPROVER], full_name="Chủ tịch xã")
    users.add(cli, "hung", PASSWORD, [Role.OPERATOR], full_name="Trực ban Hùng")
    users.add(cli, "tuan", PASSWORD, [Role.OPERATOR], full_name="Tuấn thôn B", zones=["thon-b"])
    users.add(cli, "mai", PASSWORD, [Role.REPORTER], full_name="Trần Thị Mai")
    ctx.close()
    with served(station) as running:
        yield running
    assert running.proc.returncode is not None


def _page(browser, width: int, **options):
    context = browser.new_context(
        viewport={"width": width, "height": 844}, locale="vi-VN", **options
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def _sign_in(page, base: str, path: str, name: str) -> None:
    page.goto(f"{base}{path}")
    assert "/dang-nhap" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}{path}")


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll


def _tappable(locator, width: int) -> None:
    box = locator.bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= width


def write_bulletin(page, base: str, bulletin_id: str, title: str, body: str) -> None:
    """The officer's form: the fields, the body, the spoken preview, then Lưu."""
    page.goto(f"{base}/ban-tin/moi")
    page.fill("#f-id", bulletin_id)
    page.fill("#f-title", title)
    page.fill("#f-campaign", "nq57")
    page.fill("#f-valid_from", "2026-11-01")
    page.fill("#f-valid_until", "2027-12-31")
    page.fill("#f-zones", "all")
    page.fill("#f-body", body)
    page.get_by_role("button", name="Lưu", exact=True).click()
    page.wait_for_url(f"{base}/ban-tin/{bulletin_id}?xong=saved")


def make_audio_and_submit(page, base: str, bulletin_id: str) -> None:
    page.get_by_role("button", name="Tạo âm thanh", exact=True).click()
    page.wait_for_url(f"{base}/ban-tin/{bulletin_id}?xong=rendered", timeout=120_000)
    audio = page.locator("audio")
    expect(audio).to_have_count(1)
    src = audio.get_attribute("src")
    assert src == f"/ban-tin/{bulletin_id}/am-thanh"
    heard = page.request.get(f"{base}{src}")  # with the page's cookies
    assert heard.status == 200, heard.status
    assert heard.headers["content-type"].startswith("audio/")
    assert len(heard.body()) > 1000
    # the browser itself can play it: it loads the source and knows its length
    assert page.evaluate(
        """async () => {
            const a = document.querySelector('audio');
            a.preload = 'auto'; a.load();
            for (let i = 0; i < 100 && !(a.duration > 0); i++)
                await new Promise(r => setTimeout(r, 100));
            return a.duration > 0 && !a.error;
        }"""
    )
    page.get_by_role("button", name="Gửi duyệt").click()
    page.wait_for_url(f"{base}/ban-tin/{bulletin_id}?xong=submitted")
    expect(page.locator(".badge").first).to_have_text("chờ duyệt")


def officer(browser, base: str) -> None:
    context, page, errors = _page(browser, 1280)
    _sign_in(page, base, "/ban-tin/moi", "lan")
    page.fill("#f-body", "Ngày 25/11/2026, UBND xã họp dân tại nhà văn hoá thôn A.")
    spoken = page.locator("#spoken")
    expect(spoken).to_contain_text("hai mươi lăm tháng mười một")
    expect(spoken).to_contain_text("ủy ban nhân dân")
    page.screenshot(path=str(SHOTS / "journey-1-form.png"), full_page=True)
    write_bulletin(
        page,
        base,
        "hop-dan",
        "Thông báo họp dân thôn A",
        "Ngày 25/11/2026, UBND xã họp dân tại nhà văn hoá thôn A.",
    )
    make_audio_and_submit(page, base, "hop-dan")
    page.screenshot(path=str(SHOTS / "journey-1-bulletin.png"), full_page=True)
    write_bulletin(page, base, "tin-sai", "Tin viết sai", "Thông báo này còn sai, cần viết lại.")
    make_audio_and_submit(page, base, "tin-sai")
    assert not errors, errors
    context.close()


def approver(browser, base: str) -> None:
    """At a phone's width: approve the first, send the second back with a reason."""
    context, page, errors = _page(browser, 390)
    _sign_in(page, base, "/duyet", "chu-tich")
    _fits(page, 390)
    expect(page.get_by_role("link", name="Tin viết sai")).to_be_visible()
    page.get_by_role("link", name="Thông báo họp dân thôn A").click()
    page.wait_for_url(f"{base}/duyet/hop-dan")
    expect(page.locator(".badge").first).to_have_text("chờ duyệt")
    expect(page.get_by_text("ủy ban nhân dân").first).to_be_visible()
    approve = page.get_by_role("button", name="Duyệt", exact=True)
    _tappable(approve, 390)
    _fits(page, 390)
    page.screenshot(path=str(SHOTS / "journey-2-review-phone.png"), full_page=True)
    approve.click()
    page.wait_for_url(f"{base}/duyet?xong=approved")
    expect(page.get_by_text("Đã duyệt: đúng văn bản")).to_be_visible()
    page.get_by_role("link", name="Tin viết sai").click()
    page.wait_for_url(f"{base}/duyet/tin-sai")
    page.fill("#reason", "Nội dung chưa đúng, đề nghị viết lại.")
    page.get_by_role("button", name="Trả lại").click()
    page.wait_for_url(f"{base}/duyet?xong=rejected")
    expect(page.get_by_role("link", name="Tin viết sai")).to_have_count(0)
    assert not errors, errors
    context.close()


def open_queue_form(page) -> None:
    """Lịch phát's "Xếp lịch bản tin" (a <details>, closed once the week has airings)."""
    if not page.locator("details.queue[open]").count():
        page.locator("details.queue summary").click()


def queue_at(page, bulletin: str, zone: str, at: datetime) -> None:
    open_queue_form(page)
    page.select_option("#q-bulletin", bulletin)
    page.select_option("#q-zone", zone)
    page.fill("#q-at", at.astimezone(VN).strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Xếp lịch", exact=True).click()


def operator(browser, server: Server) -> datetime:
    """At a phone's width: queue the approved bulletin on one zone a few seconds ahead of
    the station's clock (the form takes seconds); the rejected one is not offered, and a
    form that names it anyway is refused."""
    base = server.base
    context, page, errors = _page(browser, 390)
    _sign_in(page, base, "/", "hung")
    # the dashboard's "now" is the station's shifted clock, the one the test queues by
    shown = page.get_by_text(re.compile(r"^Lúc \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, tuần 2026-W48"))
    expect(shown).to_be_visible()
    stamp = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", shown.inner_text()).group(0)
    displayed = datetime.fromisoformat(stamp).replace(tzinfo=VN)
    assert abs((displayed - server.now()).total_seconds()) < 10, (displayed, server.now())
    page.goto(f"{base}/lich-phat")
    _fits(page, 390)
    options = page.locator("#q-bulletin option").all_text_contents()
    assert any("Thông báo họp dân thôn A" in o for o in options), options
    assert not any("Tin viết sai" in o for o in options), options
    # the rejected bulletin, named by a stale or hand-made form: refused in Vietnamese
    page.evaluate(
        """() => { const o = document.createElement('option');
                   o.value = 'tin-sai'; o.text = 'Tin viết sai';
                   document.querySelector('#q-bulletin').append(o); }"""
    )
    soon = server.now() + timedelta(minutes=2)
    queue_at(page, "tin-sai", ZONE, soon.replace(second=0, microsecond=0))
    refusal = page.locator("#q-bulletin + .flash.error")  # at the bulletin's field
    expect(refusal).to_contain_text("'tin-sai' không phải là bản tin đã được duyệt")
    expect(refusal).not_to_contain_text("broadcaster approve")
    page.screenshot(path=str(SHOTS / "journey-6-refused-phone.png"), full_page=True)
    # the approved one, a few seconds ahead (what the form is sent in, on a loaded machine)
    at = (server.now() + timedelta(seconds=8)).replace(microsecond=0)
    queue_at(page, "hop-dan", ZONE, at)
    page.wait_for_url(f"{base}/lich-phat?tuan=2026-W48&da=queued*")
    expect(page.get_by_text("Đã xếp lịch: lượt phát đã có trong lịch.")).to_be_visible()
    item = page.locator(f"section[aria-labelledby=z-{ZONE}] li.airing", has_text="họp dân")
    expect(item).to_contain_text("đã lên lịch")
    _fits(page, 390)
    item.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "journey-3-queued-phone.png"))
    # the daemon airs it: the calendar says so (bounded polling, not a fixed sleep)
    deadline = time.monotonic() + (at - server.now()).total_seconds() + 90
    while "đã phát" not in item.inner_text():
        assert time.monotonic() < deadline, f"not aired: {item.inner_text()}"
        time.sleep(2)
        page.reload()
    item.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "journey-4-aired-phone.png"))
    assert not errors, errors
    context.close()
    return at


def limited_operator(browser, base: str) -> None:
    context, page, errors = _page(browser, 1280)
    _sign_in(page, base, "/lich-phat", "tuan")
    open_queue_form(page)
    expect(page.get_by_text("Tài khoản của bạn chỉ thao tác ở các cụm loa: thon-b")).to_be_visible()
    queue_at(page, "hop-dan", "xa", datetime(2026, 11, 23, 17, 0, tzinfo=VN))
    expect(page.locator(".flash.error")).to_contain_text(
        "Tài khoản của bạn chỉ được thao tác ở các cụm loa thon-b; không được ở xa"
    )
    page.screenshot(path=str(SHOTS / "journey-7-zone-refused.png"), full_page=True)
    assert not errors, errors
    context.close()


def reporter(browser, base: str, tmp: Path) -> tuple[Path, Path]:
    """The half-year's XLSX as it is (entries of the shifted clock counted apart), then
    again with the switch that counts them as if real."""
    context, page, errors = _page(browser, 1280, accept_downloads=True)
    _sign_in(page, base, "/bao-cao", "mai")
    saved = []
    for counted in (False, True):
        page.get_by_label("6 tháng cuối năm").check()
        page.locator(f"input[name=zones][value={ZONE}]").check()
        page.select_option("#f-format", "xlsx")
        switch = page.get_by_label("Tính các bản ghi đó như thật", exact=False)
        expect(switch).to_be_visible()  # the log holds the shifted clock's entries
        if counted:
            switch.check()
        with page.expect_download() as caught:
            page.get_by_role("button", name="Tải báo cáo").click()
        download = caught.value
        assert download.suggested_filename == "bao-cao-2026-H2.xlsx"
        saved.append(tmp / f"bao-cao-{'tinh-ca' if counted else 'thuc'}.xlsx")
        download.save_as(saved[-1])
    assert not errors, errors
    context.close()
    return saved[0], saved[1]


def test_the_journey_of_a_bulletin_through_the_pages(server, tmp_path):
    began = time.monotonic()
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            officer(browser, server.base)
            approver(browser, server.base)
            at = operator(browser, server)
            limited_operator(browser, server.base)
            xlsx, xlsx_counted = reporter(browser, server.base, tmp_path)
        finally:
            browser.close()
    server.stop()
    assert server.proc.returncode == 0, server.err
    print(f"journey: {time.monotonic() - began:.1f} s")
    station = server.station
    # the file output has the aired audio
    started = [
        json.loads(line)
        for line in (station / "out" / ZONE / "manifest.jsonl").read_text("utf-8").splitlines()
    ]
    ours = [r for r in started if r["event"] == "started" and r["bulletin"] == "hop-dan"]
    assert len(ours) == 1, started
    aired_file = station / "out" / ZONE / ours[0]["file"]
    assert aired_file.is_file() and aired_file.stat().st_size > 1000
    assert datetime.fromisoformat(ours[0]["at"]) >= at
    # the as-run log: the airing, made under the shifted clock; the rejected one never
    with sqlite3.connect(station / "station.db") as conn:
        entries = conn.execute(
            "select bulletin_id, outcome, clock from as_run_log where zone_id = ?", (ZONE,)
        ).fetchall()
        never = conn.execute("select count(*) from airing where bulletin_id = 'tin-sai'").fetchone()
    assert ("hop-dan", "aired") in [(b, o) for b, o, _c in entries], entries
    assert never == (0,)
    aired = [c for _b, o, c in entries if o == "aired"]
    assert aired and all(c.startswith("shifted:") for c in aired), entries
    # the XLSX: its raw log sheet holds each of the zone's aired entries of the log; its
    # per-zone count, like `status`, counts only those made on the real clock (none here:
    # the test's clock is shifted), and its warning says how many were left out
    book = openpyxl.load_workbook(xlsx, read_only=True)
    zone_sheet = list(book["Cụm loa"].iter_rows(values_only=True))
    column = zone_sheet[0].index("Đã phát")
    [zone_row] = [r for r in zone_sheet[1:] if r[0] == ZONE]
    assert int(zone_row[column] or 0) == sum(1 for c in aired if not c) == 0
    log_sheet = list(book["Lượt phát"].iter_rows(values_only=True))
    head = log_sheet[0]
    at_zone, outcome = head.index("Cụm loa"), head.index("Kết quả")
    in_xlsx = [r for r in log_sheet[1:] if r[at_zone] == ZONE and r[outcome] == "aired"]
    assert len(in_xlsx) == len(aired) == 1, log_sheet
    assert in_xlsx[0][head.index("Bản tin")] == "hop-dan"
    assert in_xlsx[0][head.index("Đồng hồ (trống = thực)")] == aired[0]
    warnings = [r[1] for r in book["Tổng hợp"].iter_rows(values_only=True) if r[0] == "Cảnh báo"]
    assert any(f"trong kỳ có {len(aired)} bản ghi như vậy" in w for w in warnings), warnings
    # asked to count them as if real, the zone's aired count is the log's
    counted = openpyxl.load_workbook(xlsx_counted, read_only=True)
    zone_sheet = list(counted["Cụm loa"].iter_rows(values_only=True))
    [zone_row] = [r for r in zone_sheet[1:] if r[0] == ZONE]
    assert int(zone_row[zone_sheet[0].index("Đã phát")] or 0) == len(aired) == 1
