"""Phát trực tiếp's routes against bad and hostile requests (in process, no browser): a
made-up or someone else's broadcast, an oversized piece of audio, a start without zones
or with an impossible time-out, a zone-limited operator; never a 500, never a trace, and
nothing left on air or in the folder. The browser flow is tests/test_web_live_browser.py."""

from __future__ import annotations

import time

import test_web
from test_web import ACCOUNTS, PASSWORD, csrf_of, signed_in

from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.roles import Role
from broadcaster.app.users import UserService

ctx = test_web.ctx  # the fixtures: the small station, its accounts, the application
app = test_web.app


def _start(c, csrf: str, **form: str):
    return c.post("/truc-tiep/bat-dau", data={"csrf": csrf, **form}, headers={"X-CSRF-Token": csrf})


def test_a_start_without_zones_or_with_a_bad_time_out_is_one_message(app, ctx):
    c, csrf = signed_in(app, ACCOUNTS[Role.OPERATOR])
    page = c.get("/truc-tiep")
    assert page.status_code == 200 and "Phát trực tiếp" in page.text
    assert 'src="/tep/live.js"' in page.text
    for form, words in (
        ({}, "Hãy chọn ít nhất một cụm loa"),
        ({"zone": "xa", "minutes": "0"}, "thời gian tối đa"),
        ({"zone": "xa", "minutes": "mười"}, "thời gian tối đa"),
        ({"zone": "khong-co"}, "khong-co"),
    ):
        answer = _start(c, csrf, **form)
        assert answer.status_code == 400, (form, answer.text)
        assert words.lower() in answer.json()["error"].lower(), answer.json()
    assert not (ctx.root / "recordings").exists()


def test_made_up_foreign_and_oversized_requests_are_refused(app, ctx):
    c, csrf = signed_in(app, ACCOUNTS[Role.OPERATOR])
    headers = {"X-CSRF-Token": csrf}
    made_up = c.post("/truc-tiep/khong-co-that/am-thanh", content=b"x", headers=headers)
    assert made_up.status_code == 400 and "Traceback" not in made_up.text
    assert c.get("/truc-tiep/khong-co-that").status_code == 400
    huge = c.post("/truc-tiep/khong-co-that/am-thanh", content=b"x" * 300_000, headers=headers)
    assert huge.status_code == 413
    no_token = c.post("/truc-tiep/khong-co-that/am-thanh", content=b"x")
    assert no_token.status_code == 403  # no CSRF token: refused before anything

    answer = _start(c, csrf, zone="xa", minutes="1")
    assert answer.status_code == 200, answer.text
    feed = answer.json()["feed"]
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    users.add(Actor.local_cli(), "hung-2", PASSWORD, [Role.OPERATOR])
    other, other_csrf = signed_in(app, "hung-2")
    theirs = other.post(
        f"/truc-tiep/{feed}/am-thanh", content=b"x", headers={"X-CSRF-Token": other_csrf}
    )
    assert theirs.status_code == 400  # nobody sends into another's broadcast
    assert (
        other.post(f"/truc-tiep/{feed}/dung", headers={"X-CSRF-Token": other_csrf}).status_code
        == 400
    )
    stopped = c.post(f"/truc-tiep/{feed}/dung", headers=headers)
    assert stopped.status_code == 200 and stopped.json()["ended"] is True
    after = c.post(f"/truc-tiep/{feed}/am-thanh", content=b"x", headers=headers)
    assert after.status_code == 410
    deadline = time.monotonic() + 10
    while list((ctx.root / "recordings" / "incoming").glob("*")):
        assert time.monotonic() < deadline, "the named pipe was left behind"
        time.sleep(0.1)


def test_a_zone_limited_operator_cannot_go_live_elsewhere_and_it_is_audited(app, ctx):
    users = UserService(ctx.db, ctx.clock, known_zones=ctx.station.zone_ids)
    users.add(Actor.local_cli(), "hung-xa", PASSWORD, [Role.OPERATOR], zones=["xa"])
    c, csrf = signed_in(app, "hung-xa")
    refused = _start(c, csrf, zone="thon-a", minutes="1")
    assert refused.status_code == 403
    assert "không được phát trực tiếp" in refused.json()["error"]
    last = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (last.action, last.result, last.actor) == ("live.air", "refused", "hung-xa")
    assert not list((ctx.root / "recordings" / "incoming").glob("*"))
    page = c.get("/truc-tiep")
    assert csrf_of(page.text)  # the page itself opens for a zone-limited operator
