"""The JSON API's content (broadcaster/web/api.py) through starlette's TestClient against
the real application on the small rendered station, its SQLite database and a simulated
clock (the fixtures of tests/test_web.py; the log entries of tests/test_web_records.py).

What each endpoint says is what its page says: on air and next per zone, the week's
calendar, the log filtered and paged as Nhật ký filters it, its chain verified (and
broken after an edit), the receivers of a real Mosquitto; its refusals as JSON."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import test_web
from test_web import NOW, VN, client, signed_in
from test_web_records import MONDAY, OPERATOR, air_six

from broadcaster.app import schedule
from broadcaster.app.actors import Actor
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.store import airings

ctx = test_web.ctx  # the fixtures: the small station, its accounts, the application
app = test_web.app


def test_the_overview_says_what_is_on_air_and_next_per_zone(app, ctx):
    monday_17 = datetime(2026, 11, 23, 17, 0, tzinfo=VN)
    playing = schedule.queue(ctx, "nq57-mot", "thon-a", monday_17, OPERATOR).row
    later = schedule.queue(ctx, "nq57-ba", "xa", monday_17 + timedelta(hours=1), OPERATOR).row
    with ctx.db.write() as s:
        airings.start_many(s, [(playing.id, monday_17)])
    ctx.clock.advance_to(monday_17 + timedelta(seconds=5))
    c, _ = signed_in(app, "lan")  # any account reads the overview, as the dashboard
    view = c.get("/api/v1/overview")
    assert view.status_code == 200 and view.headers["content-type"] == "application/json"
    data = view.json()
    assert data["week"] == "2026-W48" and data["timezone"] == "Asia/Ho_Chi_Minh"
    assert datetime.fromisoformat(data["now"]) == monday_17.astimezone(UTC) + timedelta(seconds=5)
    zones = {z["zone"]: z for z in data["zones"]}
    assert list(zones) == ["xa", "thon-a", "thon-b"] and zones["thon-a"]["name"] == "Cụm loa thôn A"
    on_air = zones["thon-a"]["on_air"]
    assert on_air["id"] == playing.id and on_air["status"] == "playing"
    assert on_air["bulletin"] == "nq57-mot" and on_air["title"] == "Bản tin nq57-mot"
    assert datetime.fromisoformat(on_air["started_at"]) == monday_17.astimezone(UTC)
    assert zones["xa"]["on_air"] is None
    assert zones["xa"]["next_airing"]["id"] == later.id
    assert datetime.fromisoformat(zones["xa"]["next_airing"]["scheduled_at"]) == (
        monday_17 + timedelta(hours=1)
    ).astimezone(UTC)
    assert [a["id"] for a in data["upcoming"]] == [later.id]
    states = {(r["zone"], r["requirement"]): r for r in data["requirements"]}
    assert set(states) == {(z, "nq57-tuan") for z in ("xa", "thon-a", "thon-b")}
    xa = states[("xa", "nq57-tuan")]
    assert xa["title"] == "Tuyên truyền Nghị quyết 57 tối thiểu 02 lần/tuần"
    assert xa["required"] == 2 and xa["planned"] == 1 and xa["aired"] == 0
    assert xa["state"] in ("met", "on-track", "at-risk", "failed")
    assert data["log"] == {"entries": 0, "head_hash": "0" * 64}


def test_the_calendar_of_a_week_and_a_zone(app, ctx):
    monday_6 = datetime(2026, 11, 23, 6, 0, tzinfo=VN)
    row = schedule.queue(ctx, "nq57-ba", "xa", monday_6, OPERATOR).row
    c, _ = signed_in(app, "hung")
    cal = c.get("/api/v1/calendar?tuan=2026-W48&vung=xa")
    assert cal.status_code == 200, cal.text
    data = cal.json()
    assert (data["week"], data["previous"], data["next"]) == ("2026-W48", "2026-W47", "2026-W49")
    assert data["first_day"] == "2026-11-23" and data["airings"] == 1
    assert (data["page"], data["pages"], data["zones_in_all"]) == (1, 1, 3)
    assert [z["zone"] for z in data["zones"]] == ["xa"]
    days = data["zones"][0]["days"]
    assert [d["day"] for d in days] == [f"2026-11-{n}" for n in range(23, 30)]
    monday = {s["session"]: s for s in days[0]["sessions"]}
    assert set(monday) == {"sang", "chieu"}
    assert datetime.fromisoformat(monday["sang"]["start"]) == monday_6.astimezone(UTC)
    [queued] = monday["sang"]["airings"]
    assert queued["id"] == row.id and queued["origin"] == "queue" and queued["session"] == "sang"
    assert queued["status"] == "planned" and monday["sang"]["booked_seconds"] > 0
    assert monday["chieu"]["airings"] == [] and days[0]["outside_sessions"] == []
    every = c.get("/api/v1/calendar?tuan=2026-W48").json()
    assert [z["zone"] for z in every["zones"]] == ["xa", "thon-a", "thon-b"]
    this_week = c.get("/api/v1/calendar").json()
    assert this_week["week"] == "2026-W47"  # NOW is the Sunday of week 47


def test_the_calendars_refusals_name_their_parameter(app):
    c, _ = signed_in(app, "hung")
    for query, field, words in (
        ("tuan=2026-W99", "tuan", "2026"),
        ("tuan=tuan-sau", "tuan", "tuan-sau"),
        ("vung=khong-co", "vung", "khong-co"),
    ):
        answer = c.get(f"/api/v1/calendar?{query}")
        assert answer.status_code == 400, query
        body = answer.json()
        assert body["field"] == field and words in body["error"], body
        assert "Traceback" not in answer.text
    paged = c.get("/api/v1/calendar?trang=0")
    assert paged.status_code == 422 and paged.json()["field"] == "trang"


def test_the_log_is_filtered_and_paged_as_the_log_page_is(app, ctx):
    air_six(ctx)
    ctx.clock.advance_to(MONDAY + timedelta(days=3))
    c, _ = signed_in(app, "mai")

    def entries(query: str = "") -> list[dict]:
        answer = c.get(f"/api/v1/log?{query}")
        assert answer.status_code == 200, (query, answer.text)
        return answer.json()["entries"]

    everything = entries()
    assert len(everything) == 6
    assert [e["seq"] for e in everything] == [6, 5, 4, 3, 2, 1]  # newest first
    assert len(entries("from=2026-11-24&to=2026-11-24")) == 2
    assert {e["zone"] for e in entries("zone=xa")} == {"xa"} and len(entries("zone=xa")) == 2
    assert len(entries("bulletin=nq57-ba")) == 3
    [failed] = entries("outcome=failed")
    assert failed["outcome"] == "failed" and failed["reason"] == "playout failed"
    assert failed["zone"] == "thon-a" and failed["bulletin_id"] == "nq57-ba"
    assert datetime.fromisoformat(failed["scheduled_at"]) == MONDAY + timedelta(days=1, minutes=20)
    assert failed["scheduled_at"].endswith("+07:00")  # local, with its offset
    assert len(failed["entry_hash"]) == 64 and failed["clock"] == ""  # as the helper wrote it
    assert len(entries("zone=thon-b&outcome=aired")) == 1
    # a page at a time: the next page starts before the last entry seen
    first = c.get("/api/v1/log?limit=4").json()
    assert [e["seq"] for e in first["entries"]] == [6, 5, 4, 3] and first["next_before"] == 3
    rest = c.get(f"/api/v1/log?limit=4&before={first['next_before']}").json()
    assert [e["seq"] for e in rest["entries"]] == [2, 1] and rest["next_before"] is None
    # what the page shows is the same entries
    page = c.get("/nhat-ky?zone=thon-b")
    assert page.status_code == 200 and len(entries("zone=thon-b")) == 2


def test_the_logs_bad_filters_are_a_clear_json_error(app):
    c, _ = signed_in(app, "mai")
    for query, status, field in (
        ("from=23/11/2026", 422, "from"),
        ("limit=201", 422, "limit"),
        ("limit=0", 422, "limit"),
        ("before=-1", 422, "before"),
        ("outcome=gone", 422, "outcome"),
        ("zone=khong-co", 400, "zone"),
        ("from=2026-11-24&to=2026-11-20", 400, "to"),
        ("from=0001-01-01", 400, "from"),
    ):
        answer = c.get(f"/api/v1/log?{query}")
        assert answer.status_code == status, (query, answer.text)
        body = answer.json()
        assert body["field"] == field, (query, body)
        assert body["error"] and body["problems"][0]["message"], body
        assert answer.headers["content-type"] == "application/json"


def test_the_chain_is_verified_and_an_edit_is_found(app, ctx):
    air_six(ctx)
    c, _ = signed_in(app, "mai")
    good = c.get("/api/v1/log/verification").json()
    assert good["ok"] is True and good["entries"] == 6 and good["problems"] == []
    assert len(good["head_hash"]) == 64 and good["unreal"] == {}
    with sqlite3.connect(ctx.root / "station.db") as conn:
        conn.execute("UPDATE as_run_log SET outcome = 'aired' WHERE seq = 5")
    broken = c.get("/api/v1/log/verification").json()
    assert broken["ok"] is False
    assert any("5" in p for p in broken["problems"]), broken  # in Vietnamese: mục 5


def test_refusals_are_json_for_each_role_and_without_a_session(app):
    bare = client(app)
    for path in ("/api/v1/overview", "/api/v1/log", "/api/v1/openapi.json"):
        answer = bare.get(path)
        assert answer.status_code == 401 and "/dang-nhap" in answer.json()["error"], path
        assert "location" not in answer.headers
    officer, _ = signed_in(app, "lan")
    for path in ("/api/v1/log", "/api/v1/log/verification", "/api/v1/receivers"):
        refused = officer.get(path)
        assert refused.status_code == 403 and refused.json()["error"], path
    missing = officer.get("/api/v1/khong-co")
    assert missing.status_code == 404 and missing.json()["error"]
    assert officer.get("/khong-co").headers["content-type"].startswith("text/html")
    posted = officer.post("/api/v1/overview")
    assert posted.status_code == 405 and posted.json()["error"]


def test_a_zone_limited_operator_reads_what_the_pages_show_them(app, ctx):
    UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids).add(
        Actor.local_cli(), "hung-a", test_web.PASSWORD, [Role.OPERATOR], zones=["thon-a"]
    )
    c, _ = signed_in(app, "hung-a")
    assert c.get("/api/v1/overview").status_code == 200
    assert c.get("/api/v1/calendar?vung=thon-b").status_code == 200  # the page shows it too
    assert c.get("/api/v1/receivers").json() == {
        "networked": False,
        "unreachable": None,
        "receivers": [],
    }
    assert c.get("/api/v1/log").status_code == 403


def test_an_error_inside_the_api_is_json_without_a_trace(app, caplog):
    def broken():
        raise RuntimeError("secret insides /etc/passwd")

    app.add_api_route("/api/v1/hong", broken, name="api_overview")  # a declared name
    c, _ = signed_in(app, "mai")
    answer = c.get("/api/v1/hong")
    assert answer.status_code == 500 and answer.json()["error"]
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "secret insides" in caplog.text


def test_networked_receivers_are_listed(station, tmp_path):
    """A real Mosquitto on 127.0.0.1 and the reference receivers: the API lists them
    online, with their zone and firmware, as Cụm loa does."""
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
            users.add(Actor.local_cli(), "mai", test_web.PASSWORD, [Role.REPORTER])
            c, _ = signed_in(create_app(ctx=ctx_net), "mai")
            data = c.get("/api/v1/receivers").json()
            assert data["networked"] is True and data["unreachable"] is None, data
            found = {r["receiver"]: r for r in data["receivers"]}
            assert set(found) == {"z1-r1", "z1-r2", "z2-r1"}, found
            assert found["z1-r2"]["zone"] == "z1" and found["z1-r2"]["configured"] is True
            assert found["z1-r1"]["firmware"] == "ref-fw-1.0"
            assert found["z2-r1"]["state"] == "online", found["z2-r1"]
        finally:
            ctx_net.close()
            receiver.stop()
