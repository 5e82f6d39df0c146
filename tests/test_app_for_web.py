"""What the application layer gained for the web station, in process (real SQLite, a
simulated clock): sessions kept by the server, the approvers' queue, a script as a form,
rendering by the officer, the audio of the current content, the overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.app import bulletins, editorial, overview, schedule
from broadcaster.app.actors import Actor
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action, PermissionDenied, authorize_any
from broadcaster.app.roles import Role
from broadcaster.app.sessions import SessionService
from broadcaster.app.users import AuthenticationFailed, UserService
from broadcaster.engine.clock import SimClock

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=VN).astimezone(UTC)
PASSWORD = "mat-khau-dai-1"
OFFICER = Actor("lan", frozenset({Role.OFFICER}), face="web")
APPROVER = Actor("chu-tich", frozenset({Role.APPROVER}), face="web")


@pytest.fixture
def ctx(station: Path):
    ctx = StationContext.open(station, clock=SimClock(NOW))
    yield ctx
    ctx.close()


@pytest.fixture
def sessions(ctx):
    users = UserService(ctx.db, ctx.clock)
    users.add(Actor.local_cli(), "lan", PASSWORD, [Role.OFFICER])
    return SessionService(ctx.db, ctx.clock, users, lifetime=timedelta(hours=1))


def test_a_session_lives_until_it_expires_and_only_by_its_token(ctx, sessions):
    token, signed = sessions.sign_in("lan", PASSWORD, "192.0.2.1")
    assert sessions.find(token).user.name == "lan"
    assert sessions.find(token + "x") is None and sessions.find("") is None
    assert signed.csrf_ok(signed.csrf) and not signed.csrf_ok("") and not signed.csrf_ok(None)
    # the database holds the token's digest, not the token
    ctx.clock.advance_to(NOW + timedelta(minutes=61))
    assert sessions.find(token) is None


def test_a_disabled_user_or_a_new_password_ends_sessions(ctx, sessions):
    token, signed = sessions.sign_in("lan", PASSWORD)
    other, _ = sessions.sign_in("lan", PASSWORD)
    with pytest.raises(AuthenticationFailed):
        sessions.change_password(signed, "sai-mat-khau-9", "moi-mat-khau-2")
    sessions.change_password(signed, PASSWORD, "moi-mat-khau-2")
    assert sessions.find(token) is not None and sessions.find(other) is None
    sessions.users.disable(Actor.local_cli(), "lan")
    assert sessions.find(token) is None


def test_authorize_any_needs_one_of_the_actions():
    authorize_any(APPROVER, (Action.BULLETIN_WRITE, Action.BULLETIN_APPROVE))
    with pytest.raises(PermissionDenied):
        authorize_any(OFFICER, (Action.BULLETIN_APPROVE, Action.LOG_READ))
    with pytest.raises(PermissionDenied):
        authorize_any(OFFICER, ())


def test_the_queue_the_form_and_the_audio_of_the_current_content(ctx):
    assert editorial.pending(ctx) == []
    fields, body = editorial.form_of(ctx, "nq57-mot")
    assert fields["zones"] == "all" and fields["priority"] == "normal" and body
    values = editorial.fields_from_form({**fields, "zones": "xa, thon-a", "tags": ""})
    assert values["zones"] == ["xa", "thon-a"] and "tags" not in values
    editorial.save_script(ctx, OFFICER, values, body + " Xin cảm ơn.", create=False)
    assert bulletins.current_audio(ctx, "nq57-mot") is None  # the new text has none yet
    editorial.submit(ctx, OFFICER, "nq57-mot")
    assert [r.id for r in editorial.pending(ctx)] == ["nq57-mot"]
    with pytest.raises(PermissionDenied):
        bulletins.render_one(ctx, APPROVER, "nq57-mot")
    outcome = bulletins.render_one(ctx, OFFICER, "nq57-mot")
    assert not outcome.error
    audio = bulletins.current_audio(ctx, "nq57-mot")
    assert audio is not None and audio.is_relative_to(ctx.root / "audio")


def test_the_overview_names_zones_and_requirements(ctx):
    view = overview.overview(ctx)
    assert view.week == "2026-W47"
    assert [z.zone_id for z in view.zones] == ["xa", "thon-a", "thon-b"]
    assert view.requirement_titles["nq57-tuan"].startswith("Tuyên truyền")
    assert {r.zone for r in view.status} == {"xa", "thon-a", "thon-b"}
    assert view.upcoming == []
    schedule.plan(ctx, "2026-W48", Actor.local_cli())  # next week: the next airings
    view = overview.overview(ctx)
    assert view.upcoming and all(a.scheduled_at > NOW for a in view.upcoming)
    assert view.upcoming == sorted(view.upcoming, key=lambda a: a.scheduled_at)
    assert all(z.next_airing is not None and z.on_air is None for z in view.zones)


def test_the_demo_account_gets_a_generated_password_each_time(ctx):
    users = UserService(ctx.db, ctx.clock)
    user, first = users.demo_account(Actor.local_cli())
    assert user.name == "demo" and Role.ADMIN not in user.roles and Role.APPROVER in user.roles
    assert len(first) >= 16
    users.authenticate("demo", first, face="web")
    users.disable(Actor.local_cli(), "demo")
    again, second = users.demo_account(Actor.local_cli())
    assert second != first and not again.disabled
    users.authenticate("demo", second, face="web")
    with pytest.raises(AuthenticationFailed):
        users.authenticate("demo", first, face="web")
