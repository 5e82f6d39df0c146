"""The operator's pages in process (broadcaster/web/operator_pages.py): Lịch phát, Khẩn cấp
and Cụm loa against the real application on the small rendered station, its SQLite
database and a simulated clock (the fixtures of tests/test_web.py).

Each page in Vietnamese for its roles; queue, see it in the week, cancel it; a zone-limited
operator refused in another zone (and the refusal audited); a typed emergency aired on the
zones chosen, its progress followed; escaping; CSRF."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta

import test_web
from test_web import NOW, PASSWORD, client, csrf_of, sign_in, signed_in

from broadcaster.app import approvals, bulletins, editorial, operator_desk, receivers, schedule
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.core.timeutil import parse_local_datetime

ctx = test_web.ctx  # the fixtures: the small station, its accounts, the application
app = test_web.app

WEEK = "2026-W48"  # the week after NOW (a Sunday)
MONDAY_6 = "2026-11-23T06:00"


def once_of(html: str) -> str:
    found = re.search(r'name="once" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def queue(c, csrf, bulletin="nq57-ba", zone="xa", at=MONDAY_6):
    return c.post(
        "/lich-phat/xep",
        data={"csrf": csrf, "bulletin": bulletin, "zone": zone, "at": at, "tuan": WEEK},
    )


def test_the_schedule_is_vietnamese_and_its_form_only_for_operators(app):
    operator, _ = signed_in(app, "hung")
    page = operator.get("/lich-phat")
    assert page.status_code == 200
    assert "Lịch phát" in page.text and "2026-W47" in page.text
    assert "Xếp lịch bản tin" in page.text and 'action="/lich-phat/xep"' in page.text
    assert "Cụm loa thôn A" in page.text and "Thứ Hai" in page.text
    assert 'href="/lich-phat?tuan=2026-W46"' in page.text
    assert 'href="/lich-phat?tuan=2026-W48"' in page.text
    assert 'href="/lich-phat"' in operator.get("/").text  # in the menu
    approver, _ = signed_in(app, "chu-tich")
    seen = approver.get("/lich-phat?tuan=2026-W48")
    assert seen.status_code == 200 and "2026-W48" in seen.text
    assert 'action="/lich-phat/xep"' not in seen.text
    reporter, _ = signed_in(app, "mai")
    assert reporter.get("/lich-phat").status_code == 200
    officer, _ = signed_in(app, "lan")
    assert officer.get("/lich-phat").status_code == 403
    bad = operator.get("/lich-phat?tuan=2026-W99")
    assert (
        bad.status_code == 400
        and "2026" in bad.text
        and "99" in bad.text
        and "flash error" in bad.text
    )


def test_a_queued_bulletin_appears_in_the_week_and_is_cancelled_after_a_confirmation(app, ctx):
    c, csrf = signed_in(app, "hung")
    done = queue(c, csrf)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"/lich-phat?tuan={WEEK}&da=queued")
    (row,) = schedule.list_airings(ctx, WEEK, "xa")
    assert (row.bulletin_id, row.origin, row.created_by) == ("nq57-ba", "queue", "hung")
    page = c.get(done.headers["location"])
    assert "Đã xếp lịch" in page.text
    item = re.search(rf'<li class="airing planned" id="luot-{row.id}">(.*?)</li>', page.text, re.S)
    assert item, page.text
    assert "06:00" in item.group(1) and "Bản tin nq57-ba" in item.group(1)
    assert "chờ phát" in item.group(1) or "đã lên lịch" in item.group(1)
    entry = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "schedule.queue"]
    assert (entry[-1].actor, entry[-1].face, entry[-1].result) == ("hung", "web", "ok")
    # the week's calendar file has it
    ics = c.get(f"/lich-phat/lich.ics?tuan={WEEK}")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text and f"lượt #{row.id}" in ics.text
    # cancelling asks first
    ask = c.get(f"/lich-phat/huy?luot={row.id}")
    assert ask.status_code == 200 and "Huỷ lượt phát này?" in ask.text
    assert schedule.list_airings(ctx, WEEK, "xa")[0].status == "planned"
    gone = c.post("/lich-phat/huy", data={"csrf": csrf, "luot": str(row.id)})
    assert gone.status_code == 303 and "da=cancelled" in gone.headers["location"]
    assert schedule.list_airings(ctx, WEEK, "xa")[0].status == "cancelled"
    again = c.get(gone.headers["location"])
    assert f'<li class="airing cancelled" id="luot-{row.id}">' in again.text
    twice = c.post("/lich-phat/huy", data={"csrf": csrf, "luot": str(row.id)})
    assert twice.status_code == 400
    # queued twice in one session: booked, and the page says it will air twice
    assert queue(c, csrf).status_code == 303
    again = queue(c, csrf)
    assert again.status_code == 200 and "Đã xếp lịch" in again.text
    assert 'class="flash warn"' in again.text and "nq57-ba" in again.text
    english = c.get(f"/lich-phat?tuan={WEEK}&lang=en")
    assert "Schedule" in english.text and "Monday" in english.text


def test_queue_mistakes_are_shown_at_their_field(app, ctx):
    c, csrf = signed_in(app, "hung")
    empty = c.post("/lich-phat/xep", data={"csrf": csrf})
    assert empty.status_code == 400
    assert "Hãy chọn một bản tin đã duyệt." in empty.text
    past = queue(c, csrf, at="2026-11-20T06:00")
    assert past.status_code == 400 and "đã qua" in past.text
    quiet = queue(c, csrf, at="2026-11-23T23:00")
    assert quiet.status_code == 400 and "23:00" in quiet.text
    nonsense = queue(c, csrf, at="ngày mai")
    assert nonsense.status_code == 400 and "Traceback" not in nonsense.text
    assert schedule.list_airings(ctx, WEEK) == []


def test_a_bulletin_not_approved_is_refused_at_its_field_in_the_pages_words(app, ctx):
    """Unknown, or written but never approved (a form that names it anyway): the refusal
    is at the bulletin's field, in Vietnamese, and names no command-line command."""
    officer = Actor("lan", frozenset({Role.OFFICER}), face="web")
    fields = {"id": "chua-duyet", "title": "Chưa duyệt", "campaign": "nq57"}
    fields.update(priority="normal", valid_from="2026-11-01", valid_until="2027-12-31")
    editorial.save_script(ctx, officer, {**fields, "zones": "all"}, "Chưa duyệt.", create=True)
    c, csrf = signed_in(app, "hung")
    for bulletin_id in ("chua-duyet", "khong-co"):
        refused = queue(c, csrf, bulletin=bulletin_id)
        assert refused.status_code == 400
        said = re.search(
            r'id="q-bulletin".*?</select>\s*<div class="flash error"[^>]*>([^<]*)<',
            refused.text,
            re.S,
        )
        assert said, refused.text[-3000:]
        assert f"'{bulletin_id}' không phải là bản tin đã được duyệt" in html.unescape(
            said.group(1)
        )
        assert "broadcaster" not in said.group(1)
    assert schedule.list_airings(ctx, WEEK) == []


def test_a_zone_limited_operator_sees_every_zone_and_is_refused_outside_their_own(app, ctx):
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    users.add(Actor.local_cli(), "tuan", PASSWORD, [Role.OPERATOR], zones=["thon-a"])
    c, csrf = signed_in(app, "tuan")
    page = c.get(f"/lich-phat?tuan={WEEK}")
    assert page.status_code == 200
    assert "Cụm loa thôn B" in page.text and "Đài xã" in page.text
    assert "Tài khoản của bạn chỉ thao tác ở các cụm loa: thon-a." in page.text
    refused = queue(c, csrf, zone="thon-b")
    assert refused.status_code == 403
    assert "chỉ được thao tác ở các cụm loa thon-a; không được ở thon-b" in refused.text
    assert schedule.list_airings(ctx, WEEK) == []
    entry = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "schedule.queue"]
    assert (entry[-1].actor, entry[-1].result) == ("tuan", "refused")
    assert queue(c, csrf, zone="thon-a").status_code == 303
    # a cancel in another zone is refused the same way
    other = schedule.queue(
        ctx,
        "nq57-hai",
        "thon-b",
        parse_local_datetime("2026-11-23 17:00", ctx.station.tz),
        Actor("hung", frozenset({Role.OPERATOR}), face="web"),
    ).row
    week = c.get(f"/lich-phat?tuan={WEEK}").text
    assert f"/lich-phat/huy?luot={other.id}" not in week  # not offered outside their zones
    own = schedule.list_airings(ctx, WEEK, "thon-a")[0]
    assert f"/lich-phat/huy?luot={own.id}" in week
    no = c.post("/lich-phat/huy", data={"csrf": csrf, "luot": str(other.id)})
    assert no.status_code == 403 and "thon-b" in no.text
    assert schedule.outcomes_of(ctx, [other.id])[0].status == "planned"
    cancels = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "schedule.cancel"]
    assert (cancels[-1].actor, cancels[-1].result) == ("tuan", "refused")
    # the emergency page opens for them too; all zones are refused
    assert c.get("/khan-cap").status_code == 200


def test_a_title_with_markup_shows_as_text_in_the_week(app, ctx):
    officer = Actor("lan", frozenset({Role.OFFICER}), face="web")
    editorial.save_script(
        ctx,
        officer,
        {
            "id": "tin-la",
            "title": "<script>alert(1)</script>",
            "campaign": "nq57",
            "priority": "normal",
            "valid_from": "2026-11-01",
            "valid_until": "2027-12-31",
            "zones": "all",
        },
        "Nội dung thử.",
        create=True,
    )
    bulletins.render(ctx, ["tin-la"])
    approvals.approve_as(ctx, "tin-la", "Chủ tịch UBND xã")
    c, csrf = signed_in(app, "hung")
    assert queue(c, csrf, bulletin="tin-la").status_code == 303
    page = c.get(f"/lich-phat?tuan={WEEK}")
    assert "<script>alert" not in page.text
    assert page.text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # the form, the week


def test_changes_need_the_sessions_csrf_token(app, ctx):
    c, _csrf = signed_in(app, "hung")
    for data in ({}, {"csrf": "gia-mao"}):
        no = c.post(
            "/lich-phat/xep", data={**data, "bulletin": "nq57-ba", "zone": "xa", "at": MONDAY_6}
        )
        assert no.status_code == 403 and "Biểu mẫu đã hết hạn" in no.text
        alert = c.post(
            "/khan-cap/phat",
            data={**data, "source": "bulletin", "bulletin": "bao-lu", "all": "1"},
        )
        assert alert.status_code == 403
        vol = c.post("/cum-loa/am-luong", data={**data, "level": "50", "target": "zone:xa"})
        assert vol.status_code == 403
    assert schedule.list_airings(ctx, WEEK) == []
    assert schedule.list_airings(ctx, "2026-W47") == []


def _wait_for_outcomes(station_ctx, ids, timeout=60.0):
    """Move the simulated clock on until every airing has its outcome."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        station_ctx.clock.advance_to(station_ctx.clock.now() + timedelta(minutes=2))
        records = schedule.outcomes_of(station_ctx, ids)
        if records and all(r.status not in ("planned", "playing") for r in records):
            return records
        time.sleep(0.2)
    raise AssertionError(f"no outcome for {ids}: {schedule.outcomes_of(station_ctx, ids)}")


def test_an_emergency_typed_on_the_page_airs_on_the_zones_chosen(app, ctx):
    c, csrf = signed_in(app, "hung")
    page = c.get("/khan-cap")
    assert page.status_code == 200 and "Khẩn cấp" in page.text
    assert "Bản tin bao-lu" in page.text  # the approved emergency bulletin to choose
    form = {
        "csrf": csrf,
        "source": "text",
        "text": "Nước lũ lên nhanh, bà con thôn A và thôn B di chuyển lên chỗ cao.",
        "approved_by": "Chủ tịch UBND xã",
        "zone": ["thon-a", "thon-b"],
    }
    missing = c.post("/khan-cap/xac-nhan", data={**form, "approved_by": ""})
    assert missing.status_code == 400 and "người đã duyệt" in missing.text
    nowhere = c.post("/khan-cap/xac-nhan", data={**form, "zone": []})
    assert nowhere.status_code == 400 and "Hãy chọn ít nhất một cụm loa" in nowhere.text
    confirm = c.post("/khan-cap/xac-nhan", data=form)
    assert confirm.status_code == 200
    assert "Xác nhận phát khẩn cấp" in confirm.text and "Chủ tịch UBND xã" in confirm.text
    assert "Cụm loa thôn A" in confirm.text and "Cụm loa thôn B" in confirm.text
    assert "Đài xã</li>" not in confirm.text
    assert [a for a in schedule.list_airings(ctx, "2026-W47") if a.origin == "emergency"] == []
    aired = c.post("/khan-cap/phat", data={**form, "once": once_of(confirm.text)})
    assert aired.status_code == 303, aired.text
    where = aired.headers["location"]
    # a second tap on the button airs nothing again
    twice = c.post("/khan-cap/phat", data={**form, "once": once_of(confirm.text)})
    assert twice.status_code == 409 and "không phát lại lần nữa" in twice.text
    assert c.post("/khan-cap/phat", data=form).status_code == 409  # no confirmation at all
    assert where.startswith("/khan-cap/tien-do?luot=")
    ids = [int(i) for i in where.split("=", 1)[1].split(",")]
    records = _wait_for_outcomes(ctx, ids)
    operator_desk.wait_for_emergencies()
    assert sorted(r.zone_id for r in records) == ["thon-a", "thon-b"]
    booked = [a for a in schedule.list_airings(ctx, "2026-W47") if a.origin == "emergency"]
    assert sorted(a.id for a in booked) == sorted(ids)  # the second tap booked nothing
    assert {r.origin for r in records} == {"emergency"} and len(
        {r.bulletin_id for r in records}
    ) == 1
    assert all(r.status == "aired" for r in records), records
    script = (ctx.root / "scripts" / f"{records[0].bulletin_id}.md").read_text("utf-8")
    assert "Nước lũ lên nhanh" in script
    progress = c.get(where)
    assert progress.status_code == 200 and "Cụm loa thôn A" in progress.text
    assert "Xong: mọi cụm loa đã có kết quả." in progress.text
    live = c.get(where.replace("/tien-do?", "/tien-do/truc-tiep?"))
    assert live.status_code == 286 and "<html" not in live.text  # htmx stops polling
    entry = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "emergency.air"]
    assert {(e.actor, e.result) for e in entry[-2:]} == {("hung", "ok")}
    assert any("Chủ tịch UBND xã" in e.detail for e in entry[-2:])


def test_an_approved_emergency_bulletin_on_every_zone(app, ctx):
    c, csrf = signed_in(app, "hung")
    form = {"csrf": csrf, "source": "bulletin", "bulletin": "bao-lu", "all": "1"}
    confirm = c.post("/khan-cap/xac-nhan", data=form)
    assert confirm.status_code == 200 and "Bản tin bao-lu" in confirm.text
    wrong = c.post("/khan-cap/xac-nhan", data={**form, "bulletin": "nq57-mot"})
    assert wrong.status_code == 400 and "Hãy chọn một bản tin khẩn cấp đã duyệt." in wrong.text
    aired = c.post("/khan-cap/phat", data={**form, "once": once_of(confirm.text)})
    assert aired.status_code == 303
    ids = [int(i) for i in aired.headers["location"].split("=", 1)[1].split(",")]
    first = c.get(aired.headers["location"])
    assert 'hx-trigger="every 2s"' in first.text or "Xong" in first.text
    records = _wait_for_outcomes(ctx, ids)
    operator_desk.wait_for_emergencies()
    assert sorted(r.zone_id for r in records) == sorted(ctx.station.zone_ids)


def test_a_limited_operator_cannot_air_an_emergency_everywhere(app, ctx):
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    users.add(Actor.local_cli(), "tuan", PASSWORD, [Role.OPERATOR], zones=["thon-a"])
    c, csrf = signed_in(app, "tuan")
    form = {"csrf": csrf, "source": "bulletin", "bulletin": "bao-lu", "all": "1"}
    confirm = c.post("/khan-cap/xac-nhan", data=form)
    refused = c.post("/khan-cap/phat", data={**form, "once": once_of(confirm.text)})
    assert refused.status_code == 403 and "thon-a" in refused.text
    assert [a for a in schedule.list_airings(ctx, "2026-W47") if a.origin == "emergency"] == []
    entry = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.action == "emergency.air"]
    assert (entry[-1].actor, entry[-1].result) == ("tuan", "refused")


def test_the_receivers_page_says_plainly_when_there_is_no_mqtt_output(app):
    operator, csrf = signed_in(app, "hung")
    page = operator.get("/cum-loa")
    assert page.status_code == 200
    assert "Cụm loa" in page.text and "không có đầu ra MQTT" in page.text
    sent = operator.post(
        "/cum-loa/am-luong", data={"csrf": csrf, "level": "50", "target": "zone:xa"}
    )
    assert sent.status_code == 400 and "mqtt" in sent.text
    bad = operator.post(
        "/cum-loa/am-luong", data={"csrf": csrf, "level": "150", "target": "zone:xa"}
    )
    assert bad.status_code == 400 and "từ 0 đến 100" in bad.text
    reporter, r_csrf = signed_in(app, "mai")
    assert reporter.get("/cum-loa").status_code == 200
    no = reporter.post(
        "/cum-loa/am-luong", data={"csrf": r_csrf, "level": "50", "target": "zone:xa"}
    )
    assert no.status_code == 403
    approver, _ = signed_in(app, "chu-tich")
    assert approver.get("/cum-loa").status_code == 403
    assert approver.get("/khan-cap").status_code == 403


def test_signing_in_leads_back_to_the_schedule(app):
    c = client(app)
    first = c.get("/lich-phat")
    assert first.status_code == 303 and first.headers["location"] == "/dang-nhap?next=/lich-phat"
    assert sign_in(c, "hung").status_code == 303
    assert "Lịch phát" in c.get("/lich-phat").text
    assert NOW.year == 2026
    assert csrf_of(c.get("/lich-phat").text)


def test_networked_receivers_are_listed_and_a_zones_volume_is_set(station, tmp_path):
    """A real Mosquitto on 127.0.0.1 and two reference receivers (``broadcaster
    receiver``): the page lists them online with their firmware; the volume set on the
    page reaches them (their heartbeat says so)."""
    from netkit import Network, ReceiverProcess, make_network_station, mosquitto

    from broadcaster.app.context import StationContext
    from broadcaster.engine.clock import SimClock
    from broadcaster.web.app import create_app

    with mosquitto(tmp_path / "mosquitto") as broker:
        net = Network.make({"z1": 2, "z2": 1})
        root, receivers_file = make_network_station(station, net, broker)
        receiver = ReceiverProcess(receivers_file)
        ctx_net = StationContext.open(root, clock=SimClock(NOW))
        try:
            users = UserService(ctx_net.db, ctx_net.clock, known_zones=ctx_net.station.zone_ids)
            users.add(Actor.local_cli(), "hung", PASSWORD, [Role.OPERATOR])
            users.add(Actor.local_cli(), "tuan", PASSWORD, [Role.OPERATOR], zones=["z2"])
            web = create_app(ctx=ctx_net)
            c, csrf = signed_in(web, "hung")
            page = c.get("/cum-loa")
            assert page.status_code == 200, page.text
            assert "z1-r1" in page.text and "z1-r2" in page.text
            assert "ref-fw-1.0" in page.text and "đang kết nối" in page.text
            assert 'action="/cum-loa/am-luong"' in page.text
            sent = c.post(
                "/cum-loa/am-luong", data={"csrf": csrf, "level": "35", "target": "zone:z1"}
            )
            assert sent.status_code == 303, sent.text
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                lines = {ln.receiver: ln for ln in receivers.receivers(ctx_net, wait=1.0)}
                if all(lines[r].volume == 35 for r in ("z1-r1", "z1-r2")):
                    break
                time.sleep(0.3)
            assert all(lines[r].volume == 35 for r in ("z1-r1", "z1-r2")), lines
            assert "Đã gửi lệnh chỉnh âm lượng." in c.get("/cum-loa?da=volume").text
            entry = [
                e
                for e in AuditTrail(ctx_net.db, ctx_net.clock).entries()
                if e.action == "receivers.control"
            ]
            assert (entry[-1].actor, entry[-1].result) == ("hung", "ok")
            # one receiver, by an operator of another zone: refused, audited
            other, o_csrf = signed_in(web, "tuan")
            no = other.post(
                "/cum-loa/am-luong",
                data={"csrf": o_csrf, "level": "10", "target": "receiver:z1-r2"},
            )
            assert no.status_code == 403 and "z1" in no.text
        finally:
            ctx_net.close()
            receiver.stop()


def test_an_emergency_on_a_networked_zone_shows_each_receivers_report(station, tmp_path):
    """A real Mosquitto and two reference receivers playing at once: the emergency aired
    by the web process on the networked zone; its progress lists each receiver's report."""
    from netkit import Network, ReceiverProcess, make_network_station, mosquitto

    from broadcaster.app.context import StationContext
    from broadcaster.web.app import create_app

    with mosquitto(tmp_path / "mosquitto") as broker:
        net = Network.make({"z1": 2, "z2": 1})
        root, receivers_file = make_network_station(station, net, broker, start_timeout=5)
        receiver = ReceiverProcess(receivers_file)
        ctx_net = StationContext.open(root)  # the real clock: the receivers keep real time
        try:
            UserService(ctx_net.db, ctx_net.clock).add(
                Actor.local_cli(), "hung", PASSWORD, [Role.OPERATOR]
            )
            web = create_app(ctx=ctx_net)
            c, csrf = signed_in(web, "hung")
            form = {"csrf": csrf, "source": "bulletin", "bulletin": "bao-lu", "zone": ["z1"]}
            confirm = c.post("/khan-cap/xac-nhan", data=form)
            assert confirm.status_code == 200 and "Cụm loa z1" in confirm.text
            aired = c.post("/khan-cap/phat", data={**form, "once": once_of(confirm.text)})
            assert aired.status_code == 303, aired.text
            live = aired.headers["location"].replace("/tien-do?", "/tien-do/truc-tiep?")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                fragment = c.get(live)
                if fragment.status_code == 286:
                    break
                assert fragment.status_code == 200
                time.sleep(0.3)
            operator_desk.wait_for_emergencies()
            assert fragment.status_code == 286, fragment.text
            assert "Xong: mọi cụm loa đã có kết quả." in fragment.text
            for r in ("z1-r1", "z1-r2"):
                assert re.search(
                    rf"{r}: <span class=\"badge rc-played\">đã phát</span>", fragment.text
                ), fragment.text
            assert "z2-r1" not in fragment.text
        finally:
            ctx_net.close()
            receiver.stop()


def test_open_dashboards_share_one_reading_and_a_queued_airing_shows_at_once(app, ctx, monkeypatch):
    """Every open browser polls Tổng quan: within a second they share one reading of the
    station; the page after an operator's action shows the action, not that reading."""
    from broadcaster.app import overview

    readings = []
    real = overview.overview
    monkeypatch.setattr(overview, "overview", lambda *a, **k: readings.append(1) or real(*a, **k))
    c, csrf = signed_in(app, "hung")
    first = c.get("/tong-quan/truc-tiep")
    assert first.status_code == 200 and "Bản tin nq57-ba" not in first.text
    for _ in range(5):  # other dashboards polling meanwhile
        assert c.get("/tong-quan/truc-tiep").status_code == 200
    assert len(readings) == 1
    assert queue(c, csrf, bulletin="nq57-ba").status_code == 303
    after = c.get("/tong-quan/truc-tiep")
    assert "Bản tin nq57-ba" in after.text
    assert len(readings) == 2
