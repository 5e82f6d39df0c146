"""Cài đặt (/cai-dat): an admin sets up a new commune from an empty station folder in the
pages (TestClient against the real application), and the real ``broadcaster check``
accepts what the pages wrote (issue 14, item 11)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from stationkit import Cli

from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.new_station import init_station
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService
from broadcaster.engine.clock import SimClock
from broadcaster.web.app import create_app

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).astimezone(UTC)
PASSWORD = "mat-khau-dai-1"


@pytest.fixture
def ctx(tmp_path: Path):
    init_station(tmp_path / "xa-moi", "Đài truyền thanh xã Tân Kỳ")  # as `broadcaster init`
    ctx = StationContext.open(tmp_path / "xa-moi", clock=SimClock(NOW))
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    users.add(Actor.local_cli(), "quan-tri-vien", PASSWORD, [Role.ADMIN])
    users.add(Actor.local_cli(), "hung", PASSWORD, [Role.OPERATOR])
    yield ctx
    ctx.close()


def signed_in(ctx, name: str) -> tuple[TestClient, str]:
    c = TestClient(create_app(ctx=ctx), raise_server_exceptions=False, follow_redirects=False)
    form = c.get("/dang-nhap").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = c.post("/dang-nhap", data={"name": name, "password": PASSWORD, "csrf": token})
    assert answer.status_code == 303
    page = c.get("/cai-dat")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return c, csrf.group(1) if csrf else ""


def inputs(page: str, form_action: str) -> dict[str, list[str]]:
    """What the browser would send of one form as it is shown: inputs' values, checked
    boxes, selected options (the first option when none is)."""
    form = re.search(
        r'<form[^>]*action="' + re.escape(form_action) + r'[^"]*"[^>]*>(.*?)</form>', page, re.S
    )
    assert form, form_action
    body = form.group(1)
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        data.setdefault(name.group(1), []).append(html.unescape(value.group(1) if value else ""))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        data[name] = [html.unescape(chosen.group(1))]
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S):
        data[name] = [html.unescape(text)]
    return data


def send(c: TestClient, action: str, **typed: str | list[str]):
    """Open the page, fill some fields of one form as a person would, send it."""
    page = c.get("/cai-dat").text
    data = inputs(page, action)
    for name, value in typed.items():
        data[name.replace("__", ".")] = value if isinstance(value, list) else [value]
    return c.post(action, data=data)


def test_an_admin_sets_up_a_new_commune_in_the_pages_and_check_accepts_it(ctx):
    c, _csrf = signed_in(ctx, "quan-tri-vien")
    page = c.get("/cai-dat")
    assert page.status_code == 200
    assert "Cài đặt" in page.text and 'href="/cai-dat"' in page.text
    assert "station.yaml.bak" in page.text  # comments are lost: the page says so
    assert 'value="Đài truyền thanh xã Tân Kỳ"' in page.text
    # two zones, one at a time in the new row (rows: the station's zone, the new one)
    for zone_id, name in (("thon-a", "Cụm loa thôn A"), ("thon-b", "Cụm loa thôn Bắc Sơn")):
        done = send(
            c,
            "/cai-dat/cum-loa",
            **{
                f"zones__{len(ctx.station.zones)}__id": zone_id,
                f"zones__{len(ctx.station.zones)}__name": name,
            },
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/cai-dat?xong=saved&phan=cum-loa#cum-loa"
    shown = c.get("/cai-dat?xong=saved&phan=cum-loa")
    assert "Cụm loa thôn Bắc Sơn" in shown.text and "Đã lưu" in shown.text
    # a session: a bad time first, shown at its field, nothing written
    before = (ctx.root / "schedules" / "station.yaml").read_bytes()
    session = {
        "sessions__0__id": "sang",
        "sessions__0__zones": "thon-a, thon-b",
        "sessions__0__days": ["mon", "wed", "fri"],
        "sessions__0__max_minutes": "15",
    }
    bad = send(c, "/cai-dat/buoi-phat", **session, sessions__0__start="25:00")
    assert bad.status_code == 400
    assert (ctx.root / "schedules" / "station.yaml").read_bytes() == before
    field = re.search(r'id="e-sessions\.0\.start">([^<]*)<', bad.text)
    assert field and "25:00" in html.unescape(field.group(1)), bad.text
    assert 'value="25:00"' in bad.text and 'value="mon" checked' in bad.text  # kept as typed
    good = send(c, "/cai-dat/buoi-phat", **session, sessions__0__start="06:00")
    assert good.status_code == 303, good.text
    # a requirement, and the report's heading
    req = send(
        c,
        "/cai-dat/yeu-cau",
        requirements__0__id="nq57-hang-tuan",
        requirements__0__title="Tuyên truyền Nghị quyết 57",
        requirements__0__campaign="nq57",
        requirements__0__min="1",
        requirements__0__zones="all",
    )
    assert req.status_code == 303, req.text
    head = send(c, "/cai-dat/tram", issuing_body="UBND XÃ TÂN KỲ", signer_title="CHỦ TỊCH")
    assert head.status_code == 303, head.text
    data = yaml.safe_load((ctx.root / "schedules" / "station.yaml").read_text(encoding="utf-8"))
    assert [z["id"] for z in data["zones"]] == ["xa", "thon-a", "thon-b"]
    assert data["sessions"] == [
        {
            "id": "sang",
            "zones": ["thon-a", "thon-b"],
            "days": ["mon", "wed", "fri"],
            "start": "06:00",
            "max_minutes": 15,
        }
    ]
    assert data["requirements"][0]["min"] == 1 and data["report"]["signer_title"] == "CHỦ TỊCH"
    check = Cli(ctx.root)("check", "--json")
    assert check.code == 0, check.out + check.err
    assert json.loads(check.out)["ok"] is True
    plan = Cli(ctx.root)("plan", "--week", "2026-W48", "--json")
    assert plan.code == 0, plan.err


def test_removing_a_zone_a_session_needs_is_refused_with_the_reason(ctx):
    c, _ = signed_in(ctx, "quan-tri-vien")
    send(c, "/cai-dat/cum-loa", zones__1__id="thon-a", zones__1__name="Thôn A")
    assert (
        send(
            c,
            "/cai-dat/buoi-phat",
            sessions__0__id="sang",
            sessions__0__zones="thon-a",
            sessions__0__days=["mon"],
            sessions__0__start="06:00",
            sessions__0__max_minutes="10",
        ).status_code
        == 303
    )
    refused = send(c, "/cai-dat/cum-loa", zones__1__remove="1")
    assert refused.status_code == 400
    assert "station.yaml:" in refused.text  # another section's problem, with where it is
    assert "sessions.0.zones: không có cụm loa &#39;thon-a&#39;" in refused.text
    assert "thon-a" in [z.id for z in ctx.station.zones]
    dup = send(c, "/cai-dat/cum-loa", zones__2__id="thon-a", zones__2__name="Lần nữa")
    assert dup.status_code == 400
    assert re.search(r'id="e-zones\.2\.id">trùng mã cụm loa &#39;thon-a&#39;<', dup.text)


def test_only_the_admin_opens_the_settings(ctx):
    operator, csrf = signed_in(ctx, "hung")
    assert operator.get("/cai-dat").status_code == 403
    assert operator.post("/cai-dat/cum-loa", data={"csrf": csrf, "rows": "0"}).status_code == 403
    assert 'href="/cai-dat"' not in operator.get("/").text
    bare = TestClient(create_app(ctx=ctx), follow_redirects=False)
    assert bare.get("/cai-dat").headers["location"] == "/dang-nhap?next=/cai-dat"


def test_the_page_is_stacked_at_a_phones_width(ctx):
    c, _ = signed_in(ctx, "quan-tri-vien")
    css = c.get("/tep/settings.css")
    assert css.status_code == 200 and "@media (max-width: 47.99rem)" in css.text
    assert 'data-label="Tên"' in c.get("/cai-dat").text


def test_a_page_opened_before_the_file_changed_saves_nothing(ctx):
    c, _ = signed_in(ctx, "quan-tri-vien")
    page = c.get("/cai-dat").text
    data = inputs(page, "/cai-dat/cum-loa")
    data.update({"zones.1.id": ["thon-a"], "zones.1.name": ["Thôn A"]})
    path = ctx.root / "schedules" / "station.yaml"
    by_hand = path.read_text(encoding="utf-8").replace("grace_minutes: 20", "grace_minutes: 25")
    path.write_text(by_hand, encoding="utf-8")
    stale = c.post("/cai-dat/cum-loa", data=data)
    assert stale.status_code == 400
    assert "station.yaml đã thay đổi từ khi mở trang này" in stale.text
    assert path.read_text(encoding="utf-8") == by_hand


def test_an_output_added_in_the_page_is_offered_to_the_zones(ctx):
    c, _ = signed_in(ctx, "quan-tri-vien")
    page = c.get("/cai-dat").text
    assert 'name="outputs.0.settings" value="{dir: out}"' in page
    bad = send(c, "/cai-dat/dau-ra", outputs__1__name="loa", outputs__1__settings="dir: [")
    assert bad.status_code == 400 and 'id="e-outputs.1.settings"' in bad.text
    done = send(c, "/cai-dat/dau-ra", outputs__1__name="loa", outputs__1__settings="{dir: loa}")
    assert done.status_code == 303, done.text
    assert '<option value="loa">loa</option>' in c.get("/cai-dat").text
