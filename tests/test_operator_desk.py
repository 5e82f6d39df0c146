"""The application layer under the operator's pages (app/operator_desk): the week as a
calendar, the bulletins that may be queued or aired, an emergency handed to the running
daemon (a real station lock held as the daemon holds it), and opening a zone action's page
as a zone-limited operator. A real station (the small rendered one), its SQLite database
and a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.app import operator_desk, schedule
from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action, PermissionDenied, authorize_any
from broadcaster.app.roles import Role
from broadcaster.core.errors import FieldProblem
from broadcaster.engine.clock import SimClock
from broadcaster.engine.lock import StationLock

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=VN).astimezone(UTC)  # a Sunday noon
OPERATOR = Actor("hung", frozenset({Role.OPERATOR}), face="web")


@pytest.fixture
def ctx(station: Path):
    ctx = StationContext.open(station, clock=SimClock(NOW))
    yield ctx
    ctx.close()


def test_the_week_is_per_zone_and_day_with_sessions_and_loose_airings(ctx):
    schedule.queue(ctx, "nq57-ba", "thon-a", datetime(2026, 11, 24, 6, 0, tzinfo=VN), OPERATOR)
    schedule.queue(ctx, "lua-dao", "thon-a", datetime(2026, 11, 24, 12, 0, tzinfo=VN), OPERATOR)
    cal = operator_desk.week_calendar(ctx, "2026-W48")
    assert (cal.week, cal.previous, cal.next, cal.airings) == (
        "2026-W48",
        "2026-W47",
        "2026-W49",
        2,
    )
    assert [z.zone_id for z in cal.zones] == ["xa", "thon-a", "thon-b"]
    tuesday = cal.zones[1].days[1]
    assert tuesday.day.isoformat() == "2026-11-24"
    assert [s.session_id for s in tuesday.sessions] == ["sang", "chieu"]
    (morning,) = [s for s in tuesday.sessions if s.airings]
    assert [a.record.bulletin_id for a in morning.airings] == ["nq57-ba"]
    assert morning.airings[0].title == "Bản tin nq57-ba" and not morning.airings[0].makeup
    assert [a.record.bulletin_id for a in tuesday.loose] == ["lua-dao"]  # outside a session
    only = operator_desk.week_calendar(ctx, "2026-W48", "thon-b")
    assert [z.zone_id for z in only.zones] == ["thon-b"] and only.airings == 0
    assert operator_desk.week_calendar(ctx, None).week == "2026-W47"  # this week
    with pytest.raises(FieldProblem) as caught:
        operator_desk.week_calendar(ctx, "tuan-sau")
    assert caught.value.field == "week"


def test_the_weeks_ics_and_the_bulletins_to_choose(ctx):
    schedule.queue(ctx, "nq57-ba", "xa", datetime(2026, 11, 23, 6, 0, tzinfo=VN), OPERATOR)
    ics = operator_desk.week_ics(ctx, "2026-W48").decode()
    assert ics.startswith("BEGIN:VCALENDAR") and "nq57-ba" in ics
    assert "nq57-ba" not in operator_desk.week_ics(ctx, "2026-W49").decode()
    assert {b.id for b in operator_desk.approved_bulletins(ctx)} >= {"nq57-mot", "bao-lu"}
    assert [b.id for b in operator_desk.approved_bulletins(ctx, emergency_only=True)] == ["bao-lu"]


def test_an_emergency_is_handed_to_the_daemon_that_holds_the_station(ctx):
    daemon = StationLock(ctx.root, ctx.db_url)
    daemon.acquire("daemon")  # what a running daemon holds
    try:
        started = operator_desk.start_emergency(ctx, ctx.bulletin("bao-lu"), ["thon-a"], OPERATOR)
    finally:
        daemon.release()
    assert started.handed_to and started.handed_to.startswith("daemon")
    (row,) = schedule.outcomes_of(ctx, list(started.airing_ids))
    assert (row.zone_id, row.origin, row.status) == ("thon-a", "emergency", "planned")
    entry = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (entry.action, entry.result) == ("emergency.air", "ok")
    assert "handed to daemon" in entry.detail
    progress = operator_desk.emergency_progress(ctx, list(started.airing_ids))
    assert not progress.done and progress.zones[0].zone_name == "Cụm loa thôn A"
    assert progress.zones[0].receivers == ()  # a zone with no networked receivers


def test_a_refused_emergency_books_nothing(ctx):
    limited = Actor("tuan", frozenset({Role.OPERATOR}), face="web", zones=frozenset({"thon-a"}))
    with pytest.raises(PermissionDenied):
        operator_desk.start_emergency(ctx, ctx.bulletin("bao-lu"), ["thon-a", "xa"], limited)
    assert [a for a in schedule.list_airings(ctx, "2026-W47") if a.origin == "emergency"] == []
    entry = AuditTrail(ctx.db, ctx.clock).entries()[-1]
    assert (entry.actor, entry.action, entry.result) == ("tuan", "emergency.air", "refused")


def test_a_zone_limited_operator_may_open_a_zone_actions_page():
    """Opening a page is not acting on every zone; an operator with no zone at all may
    not, nor may another role."""
    limited = Actor("tuan", frozenset({Role.OPERATOR}), face="web", zones=frozenset({"thon-a"}))
    authorize_any(limited, [Action.SCHEDULE_QUEUE])
    authorize_any(limited, [Action.EMERGENCY_AIR, Action.LOG_READ])
    nowhere = Actor("an", frozenset({Role.OPERATOR}), face="web", zones=frozenset())
    with pytest.raises(PermissionDenied):
        authorize_any(nowhere, [Action.SCHEDULE_QUEUE])
    with pytest.raises(PermissionDenied):
        authorize_any(Actor("mai", frozenset({Role.REPORTER}), face="web"), [Action.EMERGENCY_AIR])


def test_the_calendar_shows_each_relay_window_in_the_order_of_the_day(station: Path):
    path = station / "schedules" / "station.yaml"
    relays = (
        "sources:\n"
        '  - {id: vov1, name: "VOV1", url: "http://127.0.0.1:9/vov1.mp3"}\n'
        "relays:\n"
        '  - {source: vov1, zones: [thon-a], days: [tue], start: "05:00", end: "05:30"}\n'
    )
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", relays + "requirements:\n", 1), "utf-8")
    ctx = StationContext.open(station, clock=SimClock(NOW))
    try:
        cal = operator_desk.week_calendar(ctx, "2026-W48")
    finally:
        ctx.close()
    tuesday = cal.zones[1].days[1]
    (relay,) = tuesday.relays
    assert (relay.source_name, relay.start.astimezone(VN).strftime("%H:%M")) == ("VOV1", "05:00")
    assert tuesday.blocks[0] is relay  # before the 06:00 session
    assert [b.session_id for b in tuesday.blocks[1:]] == ["sang", "chieu"]
    assert not cal.zones[2].days[1].relays  # thôn B relays nothing


def test_every_zone_is_shown_a_page_of_zones_at_a_time(ctx, monkeypatch):
    monkeypatch.setattr(operator_desk, "ZONES_PER_PAGE", 2)
    first = operator_desk.week_calendar(ctx, "2026-W48")
    assert [z.zone_id for z in first.zones] == ["xa", "thon-a"]
    assert (first.zone_page, first.zone_pages, first.zones_in_all) == (0, 2, 3)
    second = operator_desk.week_calendar(ctx, "2026-W48", page=1)
    assert [z.zone_id for z in second.zones] == ["thon-b"] and second.first_zone_number == 3
    assert operator_desk.week_calendar(ctx, "2026-W48", page=99).zone_page == 1  # the last
    with pytest.raises(FieldProblem) as caught:
        operator_desk.week_calendar(ctx, "2026-W48", "khong-co")
    assert caught.value.field == "zone"


def test_the_progress_names_what_the_emergency_cut_in_each_zone(ctx):
    """What the engine logs when an emergency pre-empts a playing airing (the reason
    engine/lanes writes) is what the progress shows, per zone; another cut is not."""
    from datetime import timedelta

    from broadcaster.core.model import AiringStatus
    from broadcaster.engine.lanes import cut_by_emergency
    from broadcaster.store import airings, aslog

    at = NOW + timedelta(minutes=1)
    playing = {
        zone: schedule.queue(ctx, "nq57-ba", zone, at, OPERATOR).row.id for zone in ("xa", "thon-a")
    }
    with ctx.db.write() as s:
        airings.start_many(s, [(i, at) for i in playing.values()])
    ctx.clock.advance_to(at + timedelta(seconds=5))
    daemon = StationLock(ctx.root, ctx.db_url)
    daemon.acquire("daemon")
    try:
        started = operator_desk.start_emergency(ctx, ctx.bulletin("bao-lu"), ["thon-a"], OPERATOR)
    finally:
        daemon.release()
    (alert,) = started.airing_ids
    cut_at = at + timedelta(seconds=6)

    def end(airing_id: int, zone: str, bulletin: str, outcome: str, reason: str) -> None:
        with ctx.db.write() as s:
            entry = aslog.Outcome(
                airing_id=airing_id,
                zone_id=zone,
                bulletin_id=bulletin,
                outcome=outcome,
                triggered_by="daemon",
                scheduled_at=at,
                started_at=at,
                ended_at=cut_at,
                reason=reason,
            )
            assert airings.move(
                s, airing_id, AiringStatus(outcome), outcome=entry, recorded_at=cut_at
            )

    end(playing["thon-a"], "thon-a", "nq57-ba", "interrupted", cut_by_emergency(alert))
    end(playing["xa"], "xa", "nq57-ba", "interrupted", "the station daemon was stopped")
    with ctx.db.write() as s:
        airings.start_many(s, [(alert, cut_at)])
    end(alert, "thon-a", "bao-lu", "aired", "")
    progress = operator_desk.emergency_progress(ctx, [alert])
    assert progress.done
    (zone,) = progress.zones
    assert zone.zone_id == "thon-a" and zone.cut == ("Bản tin nq57-ba",)
