"""Relay windows ("tiếp sóng") in the pure core: the week's windows per zone, and the
planner treating a relay inside a session as taking up its time (issue 16, first part).

Pure: stations and bulletins are built from the domain dataclasses; no disk, database or
clock. The week is ISO 2026-W48 (Mon 23/11 to Sun 29/11/2026) in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stationkit import at
from test_planner import (
    WEEK,
    YEAR,
    ZONES,
    bulletin,
    make_station,
    plan,
    playable,
    requirement,
    session,
)

from broadcaster.core.model import Airing, Origin, Priority, RelayRule, Slot, Source, Station
from broadcaster.core.planner import first_free, sequence_session
from broadcaster.core.sessions import (
    relay_seconds,
    relays_in,
    week_slots,
    zone_week_relays,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MON_SAT = frozenset(range(6))


def relay(
    rid: str = "vov1-0600",
    start: str = "06:00",
    end: str = "06:05",
    zones=ZONES,
    days=MON_SAT,
    source: str = "vov1",
) -> RelayRule:
    h0, m0 = start.split(":")
    h1, m1 = end.split(":")
    return RelayRule(
        rid, source, tuple(zones), frozenset(days), time(int(h0), int(m0)), time(int(h1), int(m1))
    )


def with_relays(station: Station, *relays: RelayRule) -> Station:
    from dataclasses import replace

    sources = {"vov1": Source("vov1", "Đài Tiếng nói Việt Nam", "http://127.0.0.1:8000/vov1")}
    return replace(station, sources=sources, relays=tuple(relays))


def ends(a: Airing) -> datetime:
    return a.scheduled_at + timedelta(seconds=a.duration_seconds)


# -- the week's windows ---------------------------------------------------------------------
def test_week_windows_per_zone_in_local_time():
    """Mon–Sat 05:00–05:30 on two zones: six windows each, 05:00 local being 22:00 UTC the
    evening before, on the right local day; the zone without the relay has none."""
    station = with_relays(
        make_station(), relay("vov1-0500", "05:00", "05:30", zones=("xa", "thon-a"))
    )
    windows = zone_week_relays(station, YEAR, WEEK)
    assert set(windows) == set(ZONES)
    assert windows["thon-b"] == []
    for zid in ("xa", "thon-a"):
        found = windows[zid]
        assert [w.local_day for w in found] == [
            date(2026, 11, 23) + timedelta(days=i) for i in range(6)
        ]
        first = found[0]
        assert first.start == datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
        assert first.end == datetime(2026, 11, 22, 22, 30, tzinfo=UTC)
        assert first.seconds == 1800
        assert (first.zone_id, first.relay_id, first.source_id) == (zid, "vov1-0500", "vov1")
        assert all(w.start.astimezone(TZ).time() == time(5, 0) for w in found)
    assert zone_week_relays(station, YEAR, WEEK, ["thon-a"]).keys() == {"thon-a"}


def test_windows_keep_their_wall_clock_all_year():
    """Asia/Ho_Chi_Minh has no daylight saving: a relay at 05:00 local is 22:00 UTC the day
    before in January, in July and in the week of the northern autumn clock change."""
    station = with_relays(make_station(), relay("vov1-0500", "05:00", "05:30"))
    for year, week in ((2026, 2), (2026, 28), (2026, 44), (2027, 13)):
        for w in zone_week_relays(station, year, week)["xa"]:
            assert w.start.astimezone(TZ).time() == time(5, 0)
            assert (w.start.astimezone(TZ).date() - w.start.date()) == timedelta(days=1)
            assert w.start.hour == 22 and w.end - w.start == timedelta(minutes=30)


def test_relay_seconds_is_the_overlap_with_the_session():
    """A relay 05:55–06:04 in a session 06:00–06:10 takes 4 minutes of it."""
    station = with_relays(make_station(), relay(start="05:55", end="06:04"))
    slot = week_slots(station, YEAR, WEEK, "xa")[0]
    windows = zone_week_relays(station, YEAR, WEEK)["xa"]
    inside = relays_in(slot, windows)
    assert len(inside) == 1
    assert relay_seconds(slot, inside) == 240
    evening = next(s for s in week_slots(station, YEAR, WEEK, "xa") if s.session_id == "chieu")
    assert relays_in(evening, windows) == []


# -- the planner ------------------------------------------------------------------------------
def _booked_by_slot(result, station) -> dict[tuple, list[Airing]]:
    slots = {(s.zone_id, s.session_id, s.start): s for s in week_slots(station, YEAR, WEEK)}
    out: dict[tuple, list[Airing]] = defaultdict(list)
    for a in result.new:
        slot = next(
            s for (z, sid, _st), s in slots.items()
            if z == a.zone_id and sid == a.session_id and s.start <= a.scheduled_at < s.end
        )  # fmt: skip
        out[(slot.zone_id, slot.session_id, slot.start)].append(a)
    return out


def _assert_clear_of_relays(result, station: Station) -> None:
    windows = zone_week_relays(station, YEAR, WEEK)
    slots = {(s.zone_id, s.session_id, s.start): s for s in week_slots(station, YEAR, WEEK)}
    for key, airings in _booked_by_slot(result, station).items():
        slot = slots[key]
        inside = relays_in(slot, windows[slot.zone_id])
        for a in airings:
            assert ends(a) <= slot.end, (a, slot)
            for w in inside:
                assert ends(a) <= w.start or a.scheduled_at >= w.end, (a, w)
        # the relay's minutes and the bulletins' share the cap
        used = sum(a.duration_seconds for a in airings) + relay_seconds(slot, inside)
        assert used <= slot.capacity_seconds + 1e-6


def test_a_relay_at_the_session_start_pushes_bulletins_after_it():
    """Session 06:00 + 10 min, relay 06:00–06:05 Mon–Sat: the morning bulletins start at
    06:05 on those days, fill at most the 5 minutes left, and never overlap the relay."""
    station = with_relays(
        make_station(sessions=[session("sang", minutes=10, fill="rotate")]), relay()
    )
    pool = [playable(bulletin(f"b{i}"), 90.0) for i in range(8)]
    result = plan(station, pool)
    assert not result.shortfalls
    _assert_clear_of_relays(result, station)
    monday = [a for a in result.new if a.zone_id == "xa" and a.scheduled_at < at(0, 12)]
    assert monday and min(a.scheduled_at for a in monday) == at(0, 6, 5)
    # 5 minutes of room: three 90 s bulletins at most (the fill keeps a make-up's room)
    assert sum(a.duration_seconds for a in monday) <= 300
    sunday = [a for a in result.new if a.zone_id == "xa" and at(6, 0) <= a.scheduled_at]
    assert sunday and min(a.scheduled_at for a in sunday) == at(6, 6, 0)  # no relay on Sunday


def test_a_relay_in_the_middle_splits_the_session_without_overrunning_it():
    """Relay 06:03–06:06 in a 10-minute session: bulletins fill around it, none overlaps it
    and none ends after 06:10, although the cap alone (7 minutes left) would take more."""
    station = with_relays(
        make_station(sessions=[session("sang", minutes=10, fill="rotate")]),
        relay(start="06:03", end="06:06"),
    )
    pool = [playable(bulletin(f"b{i}"), 100.0) for i in range(8)]
    result = plan(station, pool)
    _assert_clear_of_relays(result, station)
    monday = sorted(
        (a for a in result.new if a.zone_id == "xa" and a.scheduled_at < at(0, 12)),
        key=lambda a: a.scheduled_at,
    )
    assert monday[0].scheduled_at == at(0, 6, 0)
    assert any(a.scheduled_at >= at(0, 6, 6) for a in monday)


def test_a_relay_that_fills_the_session_leaves_the_requirement_short():
    """A relay over the whole only session: nothing can be booked, and the planner says the
    sessions are full rather than booking over the relay."""
    station = with_relays(
        make_station(sessions=[session("sang", minutes=10)]),
        relay(start="06:00", end="06:10", days=range(7)),
    )
    result = plan(station, [playable(bulletin("b1"), 60.0)])
    assert result.new == []
    assert {s.zone_id for s in result.shortfalls} == set(ZONES)
    assert all("full" in s.reason for s in result.shortfalls)


def test_relay_minutes_count_against_the_cap_for_the_minimum():
    """Cap 10 min, relay 7 min: a 4-minute bulletin no longer fits on relay days, so the
    weekly requirement is met on Sunday, the one day without the relay."""
    station = with_relays(
        make_station(sessions=[session("sang", minutes=10)], requirements=[requirement()]),
        relay(start="06:00", end="06:07"),
    )
    result = plan(station, [playable(bulletin("b1"), 240.0)])
    assert not result.shortfalls
    assert {a.zone_id for a in result.new} == set(ZONES)
    assert all(a.scheduled_at == at(6, 6, 0) for a in result.new)


def test_a_relay_on_other_zones_changes_nothing_here():
    plain = make_station(sessions=[session("sang", minutes=10, fill="rotate")])
    station = with_relays(plain, relay(zones=("thon-a",)))
    pool = [playable(bulletin(f"b{i}"), 90.0) for i in range(8)]
    with_relay = plan(station, pool)
    without = plan(plain, pool)
    mine = [(a.bulletin_id, a.scheduled_at) for a in with_relay.new if a.zone_id == "xa"]
    assert mine == [(a.bulletin_id, a.scheduled_at) for a in without.new if a.zone_id == "xa"]
    assert any(a.scheduled_at == at(0, 6, 5) for a in with_relay.new if a.zone_id == "thon-a")


def test_plan_is_idempotent_with_relays():
    """Planning again on what the first run booked adds nothing and moves nothing."""
    from test_planner import as_booked

    station = with_relays(
        make_station(sessions=[session("sang", minutes=10, fill="rotate")]),
        relay(start="06:03", end="06:06"),
    )
    pool = [playable(bulletin(f"b{i}"), 100.0) for i in range(8)]
    first = plan(station, pool)
    again = plan(station, pool, as_booked(first.new, pool))
    assert again.new == [] and again.retimed == []


def test_first_free_and_sequence_skip_blocked_spans():
    slot = Slot("xa", "sang", at(0, 6), at(0, 6, 10), date(2026, 11, 23))
    blocked = [(at(0, 6, 2), at(0, 6, 4))]
    assert first_free(slot, [], at(0, 6, 1), 90, blocked) == at(0, 6, 4)
    assert first_free(slot, [], at(0, 6, 0), 60, blocked) == at(0, 6, 0)

    def airing(seconds: float) -> Airing:
        return Airing(
            None, "xa", "b", at(0, 6), at(0, 6, 10), "sang", Priority.NORMAL, Origin.PLAN,
            duration_seconds=seconds,
        )  # fmt: skip

    a, b, c = airing(90), airing(60), airing(150)
    sequence_session(slot, [a, b, c], blocked)
    # 06:00–06:01:30, then the minute to 06:02:30 would cross the relay: 06:04, 06:05
    assert [x.scheduled_at for x in (a, b, c)] == [at(0, 6, 0), at(0, 6, 4), at(0, 6, 5)]


# -- a property: whatever the relays and durations, the caps and the relays hold ---------------
def test_any_relays_and_bulletins_keep_caps_and_relays_clear():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_planner import as_booked

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        minutes=st.integers(5, 30),
        relay_spans=st.lists(st.tuples(st.integers(-10, 30), st.integers(1, 15)), max_size=2),
        durations=st.lists(st.integers(10, 240), min_size=1, max_size=8),
        priority_first=st.booleans(),
    )
    def check(minutes, relay_spans, durations, priority_first):
        rules = []
        taken: list[tuple[int, int]] = []
        for offset, length in relay_spans:
            start = 6 * 60 + offset
            span = (start, start + length)
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue  # the loader refuses relays over each other on a zone
            taken.append(span)
            rules.append(
                relay(
                    f"r{len(rules)}",
                    f"{start // 60:02d}:{start % 60:02d}",
                    f"{span[1] // 60:02d}:{span[1] % 60:02d}",
                    days=range(7),
                )
            )
        station = with_relays(
            make_station(
                sessions=[session("sang", minutes=minutes, fill="rotate")],
                requirements=[requirement(minimum=2)],
            ),
            *rules,
        )
        pool = [
            playable(
                bulletin(
                    f"b{i}",
                    priority=Priority.PRIORITY if priority_first and i == 0 else Priority.NORMAL,
                ),
                float(seconds),
            )
            for i, seconds in enumerate(durations)
        ]
        result = plan(station, pool)
        _assert_clear_of_relays(result, station)
        again = plan(station, pool, as_booked(result.new, pool))
        assert again.new == [] and again.retimed == []

    check()
