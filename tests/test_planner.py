"""Unit tests of the weekly planner, ``broadcaster.core.planner.plan_week``.

Pure: stations, bulletins and airings are built from the domain dataclasses; no disk,
no database, no clock. The week under test is ISO 2026-W48 (Mon 23/11 to Sun 29/11/2026)
in Asia/Ho_Chi_Minh (UTC+7).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stationkit import at

from broadcaster.core.model import (
    Airing,
    AiringStatus,
    Bulletin,
    Origin,
    Priority,
    QuietHours,
    Requirement,
    SessionRule,
    Station,
    Zone,
)
from broadcaster.core.planner import BookedAiring, PlanResult, Playable, plan_week

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR, WEEK = 2026, 48
MONDAY = date(2026, 11, 23)
ZONES = ("xa", "thon-a", "thon-b")
EVERY_DAY = range(7)


# -- builders -----------------------------------------------------------------------------


WEEK_START = at(0, 0, 0)


def session(
    sid: str,
    zones: Iterable[str] = ZONES,
    start: str = "06:00",
    minutes: int = 10,
    days: Iterable[int] = EVERY_DAY,
    fill: str = "minimum",
) -> SessionRule:
    """A session rule. ``fill`` defaults to ``minimum`` here: most tests look at the
    guaranteed airings alone; the fill tests ask for ``rotate``, the station default."""
    h, m = start.split(":")
    return SessionRule(sid, tuple(zones), frozenset(days), time(int(h), int(m)), minutes, fill)


def requirement(
    rid: str = "nq57-tuan",
    campaign: str = "nq57",
    minimum: int = 1,
    per: str = "week",
    zones: Iterable[str] = ZONES,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Requirement:
    return Requirement(
        rid, f"Requirement {rid}", campaign, minimum, per, tuple(zones), date_from, date_to
    )


def make_station(
    zones: Iterable[str] = ZONES,
    sessions: Iterable[SessionRule] | None = None,
    requirements: Iterable[Requirement] | None = None,
) -> Station:
    return Station(
        id="test-xa",
        name="Đài truyền thanh xã Thử Nghiệm",
        timezone="Asia/Ho_Chi_Minh",
        tts=("espeak",),
        grace_minutes=20,
        quiet_hours=(QuietHours(time(21, 30), time(5, 0)),),
        outputs={},
        zones=tuple(Zone(z, f"Zone {z}", "cluster", "files") for z in zones),
        sessions=tuple(
            sessions
            if sessions is not None
            else (session("sang", start="06:00"), session("chieu", start="17:00"))
        ),
        requirements=tuple(requirements if requirements is not None else (requirement(),)),
    )


def bulletin(
    bid: str,
    campaign: str = "nq57",
    priority: Priority = Priority.NORMAL,
    zones: Iterable[str] = ZONES,
    valid_from: date | None = date(2026, 1, 1),
    valid_until: date | None = date(2027, 12, 31),
    tags: Iterable[str] = (),
) -> Bulletin:
    return Bulletin(
        id=bid,
        title=f"Bản tin {bid}",
        campaign=campaign,
        tags=tuple(tags),
        priority=priority,
        valid_from=valid_from,
        valid_until=valid_until,
        zone_ids=tuple(zones),
        language="vi",
        body="Nghị quyết 57 về khoa học và công nghệ.",
        source_path=f"scripts/{bid}.md",
        script_sha256="0" * 64,
    )


def playable(b: Bulletin, seconds: float = 60.0) -> Playable:
    return Playable(b, seconds)


def plan(
    station: Station,
    playables: list[Playable],
    booked: list[BookedAiring] | None = None,
    not_before: datetime = WEEK_START,
) -> PlanResult:
    return plan_week(station, YEAR, WEEK, playables, booked or [], not_before)


def as_booked(airings: list[Airing], playables: list[Playable]) -> list[BookedAiring]:
    """What the store would hand back after saving the plan (ids assigned)."""
    campaigns = {
        p.bulletin.id: frozenset((p.bulletin.campaign, *p.bulletin.tags)) for p in playables
    }
    out = []
    for i, a in enumerate(airings, start=1):
        a.id = i
        out.append(BookedAiring(a, campaigns[a.bulletin_id]))
    return out


def by_zone(airings: list[Airing]) -> dict[str, list[Airing]]:
    grouped: dict[str, list[Airing]] = defaultdict(list)
    for a in sorted(airings, key=lambda a: (a.scheduled_at, a.bulletin_id)):
        grouped[a.zone_id].append(a)
    return grouped


def local_day(a: Airing) -> date:
    return a.scheduled_at.astimezone(TZ).date()


# -- requirements are met, early -----------------------------------------------------------
def test_every_zone_meets_a_once_a_week_requirement():
    """With content and room, each zone gets exactly the one airing it needs, no shortfall."""
    pool = [playable(bulletin("nq57-mot")), playable(bulletin("nq57-hai"))]
    result = plan(make_station(), pool)

    assert result.shortfalls == []
    assert Counter(a.zone_id for a in result.new) == {z: 1 for z in ZONES}
    for a in result.new:
        assert a.origin == Origin.PLAN
        assert a.status == AiringStatus.PLANNED
        assert a.duration_seconds == 60.0


def test_airings_land_in_the_earliest_sessions_of_the_week():
    """Airings go as early as possible (Monday's morning session), leaving later ones free."""
    pool = [playable(bulletin("nq57-mot")), playable(bulletin("nq57-hai"))]
    station = make_station(requirements=[requirement(minimum=2)])
    result = plan(station, pool)

    for zone, airings in by_zone(result.new).items():
        assert [a.scheduled_at for a in airings] == [at(0, 6), at(0, 6, 1)], zone
        assert {a.session_id for a in airings} == {"sang"}
        assert all(a.window_end == at(0, 6, 10) for a in airings)


def test_session_caps_are_respected_with_real_durations():
    """A 2-minute session holds one 70 s bulletin, not two: the rest spill to later days."""
    pool = [playable(bulletin(b), 70.0) for b in ("nq57-mot", "nq57-hai", "nq57-ba")]
    station = make_station(
        sessions=[session("sang", minutes=2)], requirements=[requirement(minimum=3)]
    )
    result = plan(station, pool)

    assert result.shortfalls == []
    per_session = Counter((a.zone_id, local_day(a)) for a in result.new)
    assert max(per_session.values()) == 1
    for airings in by_zone(result.new).values():
        assert [local_day(a) for a in airings] == [MONDAY + timedelta(days=d) for d in range(3)]


# -- priority bulletins -------------------------------------------------------------------
def test_priority_bulletin_airs_once_per_zone_and_first_in_its_session():
    """A priority bulletin is booked once in every zone and opens the session; the normal
    bulletin sharing the session starts right after it, offset by its real duration."""
    urgent = playable(bulletin("lua-dao", campaign="canh-giac", priority=Priority.PRIORITY), 45.0)
    normal = playable(bulletin("nq57-mot"), 60.0)
    result = plan(make_station(), [normal, urgent])

    assert result.shortfalls == []
    assert Counter((a.zone_id, a.bulletin_id) for a in result.new) == {
        **{(z, "lua-dao"): 1 for z in ZONES},
        **{(z, "nq57-mot"): 1 for z in ZONES},
    }
    for zone, airings in by_zone(result.new).items():
        first, second = airings
        assert (first.bulletin_id, first.priority) == ("lua-dao", Priority.PRIORITY), zone
        assert first.scheduled_at == at(0, 6)
        assert second.bulletin_id == "nq57-mot"
        assert second.scheduled_at == at(0, 6) + timedelta(seconds=45)


def test_priority_bulletin_moves_an_already_booked_normal_airing_back():
    """A priority bulletin added to a session re-times the stored normal airing after it,
    and reports it in ``retimed`` (it has an id, so the store must update it)."""
    normal = playable(bulletin("nq57-mot"), 60.0)
    station = make_station(zones=["xa"], sessions=[session("sang", zones=["xa"])])
    first = plan(station, [normal])
    booked = as_booked(first.new, [normal])
    assert booked[0].airing.scheduled_at == at(0, 6)

    urgent = playable(bulletin("lua-dao", priority=Priority.PRIORITY, zones=["xa"]), 30.0)
    second = plan(station, [normal, urgent], booked)

    assert [(a.bulletin_id, a.scheduled_at) for a in second.new] == [("lua-dao", at(0, 6))]
    assert [(a.id, a.scheduled_at) for a in second.retimed] == [(1, at(0, 6, 0, 30))]


def test_priority_bulletins_are_not_booked_again_once_booked():
    """'One airing per zone per week': a zone that already has the priority bulletin
    booked does not get it a second time."""
    urgent = playable(bulletin("lua-dao", campaign="canh-giac", priority=Priority.PRIORITY))
    station = make_station(requirements=[])
    first = plan(station, [urgent])
    assert len(first.new) == len(ZONES)

    again = plan(station, [urgent], as_booked(first.new, [urgent]))
    assert again.new == []


# -- rotation and idempotence ---------------------------------------------------------------
def test_content_rotates_within_a_zone_and_zones_start_at_different_bulletins():
    """Three bulletins, three zones, three airings a week: each zone airs all three, and the
    first slot of the week does not carry the same bulletin everywhere."""
    ids = ("nq57-mot", "nq57-hai", "nq57-ba")
    pool = [playable(bulletin(b)) for b in ids]
    result = plan(make_station(requirements=[requirement(minimum=3)]), pool)

    assert result.shortfalls == []
    zones = by_zone(result.new)
    assert set(zones) == set(ZONES)
    for zone, airings in zones.items():
        assert sorted(a.bulletin_id for a in airings) == sorted(ids), zone
    openers = {airings[0].bulletin_id for airings in zones.values()}
    assert len(openers) > 1, "every zone starts the week with the same bulletin"


def test_planning_is_idempotent_given_its_own_output():
    """Feeding the plan back as already booked yields nothing new and nothing to re-time."""
    pool = [
        playable(bulletin("nq57-mot")),
        playable(bulletin("nq57-hai"), 75.0),
        playable(bulletin("lua-dao", priority=Priority.PRIORITY), 40.0),
    ]
    station = make_station(
        requirements=[
            requirement(minimum=2),
            requirement("nq57-ngay", per="day", date_from=date(2026, 11, 26)),
        ]
    )
    first = plan(station, pool)
    assert first.new and first.shortfalls == []

    second = plan(station, pool, as_booked(first.new, pool))
    assert second.new == []
    assert second.retimed == []
    assert second.shortfalls == []


def test_not_before_in_the_middle_of_the_week_books_nothing_earlier():
    """Planning on Wednesday at noon books from Wednesday's evening session onwards."""
    now = at(2, 12)
    pool = [playable(bulletin("nq57-mot")), playable(bulletin("nq57-hai"))]
    result = plan(make_station(requirements=[requirement(minimum=2)]), pool, not_before=now)

    assert result.shortfalls == []
    assert result.new
    assert all(a.scheduled_at >= now for a in result.new)
    assert min(a.scheduled_at for a in result.new) == at(2, 17)


def test_airings_already_aired_count_towards_the_requirement():
    """An airing already aired earlier in the week counts: nothing more is booked for it."""
    normal = playable(bulletin("nq57-mot"))
    station = make_station(zones=["xa"], sessions=[session("sang", zones=["xa"])])
    aired = Airing(
        id=7,
        zone_id="xa",
        bulletin_id="nq57-mot",
        scheduled_at=at(0, 6),
        window_end=at(0, 6, 10),
        session_id="sang",
        priority=Priority.NORMAL,
        origin=Origin.PLAN,
        status=AiringStatus.AIRED,
        duration_seconds=60.0,
    )
    result = plan(station, [normal], [BookedAiring(aired, frozenset({"nq57"}))], at(1, 12))
    assert result.new == []
    assert result.shortfalls == []


# -- shortfalls -------------------------------------------------------------------------------
def test_zone_without_sessions_is_reported_as_a_shortfall():
    """A zone no session covers cannot meet the rule; the shortfall says why, in words."""
    station = make_station(
        zones=["xa", "thon-a", "thon-moi"],
        sessions=[session("sang", zones=["xa", "thon-a"])],
        requirements=[requirement(zones=["xa", "thon-a", "thon-moi"])],
    )
    result = plan(station, [playable(bulletin("nq57-mot", zones=["xa", "thon-a", "thon-moi"]))])

    assert {a.zone_id for a in result.new} == {"xa", "thon-a"}
    [short] = result.shortfalls
    assert (short.zone_id, short.requirement_id, short.missing) == ("thon-moi", "nq57-tuan", 1)
    assert short.reason == "the zone has no session on 23/11–29/11"


def test_campaign_without_any_bulletin_is_reported_as_a_shortfall():
    """A requirement whose campaign has no usable bulletin is a shortfall in every zone."""
    station = make_station(requirements=[requirement("cds-tuan", campaign="chuyen-doi-so")])
    result = plan(station, [playable(bulletin("nq57-mot"))])

    assert result.new == []
    assert sorted(s.zone_id for s in result.shortfalls) == sorted(ZONES)
    for s in result.shortfalls:
        assert s.requirement_id == "cds-tuan"
        assert s.missing == 1
        assert "chuyen-doi-so" in s.reason
        assert "no approved, rendered bulletin" in s.reason


def test_full_sessions_are_reported_as_a_shortfall():
    """Bulletins longer than every session's cap cannot be booked: 'full', not silence."""
    station = make_station(zones=["xa"], sessions=[session("sang", zones=["xa"], minutes=1)])
    result = plan(station, [playable(bulletin("nq57-mot", zones=["xa"]), 70.0)])

    assert result.new == []
    [short] = result.shortfalls
    assert short.zone_id == "xa"
    assert short.missing == 1
    assert "full" in short.reason
    assert "23/11–29/11" in short.reason


def test_shortfall_counts_what_is_still_missing_when_sessions_fill_up():
    """Five airings needed, one 1-minute session a day for three days: 3 booked, 2 missing."""
    station = make_station(
        zones=["xa"],
        sessions=[session("sang", zones=["xa"], minutes=1, days=[0, 1, 2])],
        requirements=[requirement(minimum=5, zones=["xa"])],
    )
    pool = [playable(bulletin(b, zones=["xa"]), 50.0) for b in ("nq57-mot", "nq57-hai")]
    result = plan(station, pool)

    assert len(result.new) == 3
    [short] = result.shortfalls
    assert short.missing == 2
    assert "full" in short.reason


def test_no_session_left_after_not_before_is_reported():
    """Planning after the week's last session explains that nothing is left after 'now'."""
    station = make_station(zones=["xa"], sessions=[session("sang", zones=["xa"])])
    result = plan(station, [playable(bulletin("nq57-mot", zones=["xa"]))], not_before=at(6, 18))

    assert result.new == []
    [short] = result.shortfalls
    assert short.reason == "no session left on 23/11–29/11 after 29/11 18:00"


# -- per-day requirements, emergency and validity -------------------------------------------
def test_per_day_requirement_gets_one_airing_on_each_day_in_range():
    """'Daily from Wednesday to Friday' books exactly one airing on each of those days."""
    wed, fri = date(2026, 11, 25), date(2026, 11, 27)
    station = make_station(
        requirements=[requirement("cao-diem", per="day", date_from=wed, date_to=fri)]
    )
    pool = [playable(bulletin("nq57-mot")), playable(bulletin("nq57-hai"))]
    result = plan(station, pool)

    assert result.shortfalls == []
    for zone, airings in by_zone(result.new).items():
        assert [local_day(a) for a in airings] == [wed, wed + timedelta(1), fri], zone
        assert all(a.scheduled_at.astimezone(TZ).time() == time(6, 0) for a in airings)


def test_emergency_bulletins_are_never_planned():
    """Emergencies air on an operator's order only; the planner does not book them even
    when they are the only content of a required campaign."""
    alarm = playable(bulletin("bao-lu", campaign="nq57", priority=Priority.EMERGENCY))
    result = plan(make_station(), [alarm])

    assert result.new == []
    assert len(result.shortfalls) == len(ZONES)

    normal = playable(bulletin("nq57-mot"))
    result = plan(make_station(requirements=[requirement(minimum=3)]), [alarm, normal])
    assert {a.bulletin_id for a in result.new} == {"nq57-mot"}


def test_bulletin_expired_before_the_week_is_not_used():
    """A bulletin whose valid_until is before the week is skipped; the valid one is used,
    and without a valid one the shortfall says none is valid in the week."""
    expired = playable(bulletin("nq57-cu", valid_until=date(2026, 11, 22)))
    current = playable(bulletin("nq57-moi"))
    result = plan(make_station(requirements=[requirement(minimum=2)]), [expired, current])
    assert {a.bulletin_id for a in result.new} == {"nq57-moi"}

    result = plan(make_station(), [expired])
    assert result.new == []
    assert len(result.shortfalls) == len(ZONES)
    assert all(
        s.reason == "no bulletin of campaign 'nq57' is valid on 23/11–29/11"
        for s in result.shortfalls
    )


def test_bulletin_valid_from_mid_week_is_not_booked_before_that_day():
    """valid_from on Thursday: the planner waits for Thursday's first session."""
    later = playable(bulletin("nq57-moi", valid_from=date(2026, 11, 26)))
    result = plan(make_station(), [later])

    assert result.shortfalls == []
    assert {a.scheduled_at for a in result.new} == {at(3, 6)}


def test_bulletins_only_go_to_their_own_zones():
    """A bulletin meant for one hamlet is not booked on the other zones."""
    local_only = playable(bulletin("thon-a-rieng", zones=["thon-a"]))
    result = plan(make_station(), [local_only])

    assert [a.zone_id for a in result.new] == ["thon-a"]
    assert sorted(s.zone_id for s in result.shortfalls) == ["thon-b", "xa"]


def test_priority_bulletin_in_a_required_campaign_still_airs_once_per_zone():
    """Three airings of nq57 a week from {priority lua-dao, normal nq57-mot}: the priority
    bulletin airs once per zone and the normal one fills the rest."""
    urgent = playable(bulletin("lua-dao", priority=Priority.PRIORITY))
    normal = playable(bulletin("nq57-mot"))
    result = plan(make_station(requirements=[requirement(minimum=3)]), [urgent, normal])

    assert result.shortfalls == []
    for zone in ZONES:
        aired = Counter(a.bulletin_id for a in result.new if a.zone_id == zone)
        assert aired == {"lua-dao": 1, "nq57-mot": 2}, zone


def test_new_airing_does_not_overlap_an_airing_queued_inside_the_session():
    """An operator queued a 2-minute bulletin at 06:01 in the 06:00 session; the planner's
    airing in that session must not start while the queued one is still playing."""
    station = make_station(zones=["xa"], sessions=[session("sang", zones=["xa"])])
    queued = Airing(
        id=1,
        zone_id="xa",
        bulletin_id="thong-bao",
        scheduled_at=at(0, 6, 1),
        window_end=at(0, 6, 10),
        session_id="sang",
        priority=Priority.NORMAL,
        origin=Origin.QUEUE,
        duration_seconds=120.0,
        created_by="operator",
    )
    pool = [playable(bulletin("nq57-mot", zones=["xa"]), 120.0)]
    result = plan(station, pool, [BookedAiring(queued, frozenset({"thong-bao"}))])

    [new] = result.new
    new_end = new.scheduled_at + timedelta(seconds=new.duration_seconds)
    queued_end = queued.scheduled_at + timedelta(seconds=queued.duration_seconds)
    assert new_end <= queued.scheduled_at or new.scheduled_at >= queued_end, (
        f"new airing {new.scheduled_at:%H:%M:%S}–{new_end:%H:%M:%S} overlaps the queued one "
        f"{queued.scheduled_at:%H:%M:%S}–{queued_end:%H:%M:%S} (UTC)"
    )


# -- fill: rotate (a session is a programme) -------------------------------------------------
def rotate_station(**kwargs) -> Station:
    """Two 10-minute sessions a day, both ``fill: rotate`` (the station default)."""
    sessions = kwargs.pop(
        "sessions",
        (
            session("sang", start="06:00", fill="rotate"),
            session("chieu", start="17:00", fill="rotate"),
        ),
    )
    return make_station(sessions=sessions, **kwargs)


def per_slot(airings: list[Airing]) -> dict[tuple[str, datetime], list[Airing]]:
    """Airings grouped by zone and session occurrence (its window's end identifies it)."""
    grouped: dict[tuple[str, datetime], list[Airing]] = defaultdict(list)
    for a in airings:
        grouped[(a.zone_id, a.window_end)].append(a)
    return grouped


SIX = ("nq57-mot", "nq57-hai", "nq57-ba", "cds-mot", "cds-hai", "cds-ba")


def six_bulletins(seconds: float = 120.0) -> list[Playable]:
    """Six 2-minute bulletins, three of the required campaign: more than a session holds."""
    return [
        playable(bulletin(b, campaign="nq57" if b.startswith("nq57") else "cds"), seconds)
        for b in SIX
    ]


def test_rotate_fills_every_session_up_to_its_cap_keeping_room_for_a_makeup():
    """10-minute sessions and 2-minute bulletins: each session gets four (8 min), keeping
    2 min, the longest required-campaign bulletin, free for a make-up."""
    result = plan(rotate_station(), six_bulletins())

    assert result.shortfalls == []
    slots = per_slot(result.new)
    assert len(slots) == 14 * len(ZONES)  # every session of every zone has a programme
    for key, airings in slots.items():
        assert sum(a.duration_seconds for a in airings) == 480.0, key
    # Laid out back to back from the session's start.
    for airings in slots.values():
        starts = sorted(a.scheduled_at for a in airings)
        assert [(s - starts[0]).total_seconds() for s in starts] == [0, 120, 240, 360]


def test_rotate_never_books_a_bulletin_twice_in_a_session():
    """Two bulletins and room for ten: each session carries each bulletin once, no more."""
    pool = [playable(bulletin("nq57-mot"), 30.0), playable(bulletin("nq57-hai"), 30.0)]
    result = plan(rotate_station(), pool)

    for key, airings in per_slot(result.new).items():
        assert sorted(a.bulletin_id for a in airings) == ["nq57-hai", "nq57-mot"], key


def test_rotate_is_fair_every_bulletin_airs_and_counts_stay_even():
    """Six bulletins, four a session: over the week every bulletin airs in every zone, and
    no bulletin airs more than one time more often than another (least recently first)."""
    result = plan(rotate_station(), six_bulletins())

    for zone in ZONES:
        counts = Counter(a.bulletin_id for a in result.new if a.zone_id == zone)
        assert set(counts) == set(SIX), zone
        assert max(counts.values()) - min(counts.values()) <= 1, (zone, counts)


def test_rotate_starts_with_what_the_zone_aired_least_recently():
    """History from the store: on xa, nq57-mot and nq57-hai aired last week, the others
    long ago or never; the first session of this week opens with the others."""
    station = rotate_station(zones=["xa"], sessions=[session("sang", zones=["xa"], fill="rotate")])
    history = {
        "xa": {
            "nq57-mot": at(-1, 17),
            "nq57-hai": at(-2, 6),
            "nq57-ba": at(-30, 6),
        }
    }
    pool = six_bulletins()
    result = plan_week(station, YEAR, WEEK, pool, [], WEEK_START, last_aired=history)
    monday = sorted((a for a in result.new if local_day(a) == MONDAY), key=lambda a: a.scheduled_at)
    assert "nq57-mot" not in {a.bulletin_id for a in monday}
    assert "nq57-hai" not in {a.bulletin_id for a in monday}
    # The next session brings the two most recently aired back before the rest again.
    tuesday = {a.bulletin_id for a in result.new if local_day(a) == MONDAY + timedelta(1)}
    assert {"nq57-mot", "nq57-hai"} <= tuesday


def test_rotate_puts_priority_bulletins_first_in_every_session():
    """A priority bulletin goes into every filled session and opens it."""
    urgent = playable(bulletin("lua-dao", campaign="canh-giac", priority=Priority.PRIORITY), 45.0)
    result = plan(rotate_station(), [urgent, *six_bulletins()])

    for key, airings in per_slot(result.new).items():
        first = min(airings, key=lambda a: a.scheduled_at)
        assert first.bulletin_id == "lua-dao", key
        assert sum(a.bulletin_id == "lua-dao" for a in airings) == 1, key


def test_rotate_is_idempotent_given_its_own_output():
    """Planning again over a filled week books nothing and moves nothing."""
    pool = six_bulletins()
    station = rotate_station()
    first = plan(station, pool)
    second = plan(station, pool, as_booked(first.new, pool))

    assert second.new == [] and second.retimed == [] and second.shortfalls == []


def test_makeup_runs_book_the_minimum_only_in_the_room_kept_for_them():
    """After a fill, every airing of the required campaign failed (the zone was down
    whenever it was on): a make-up run books exactly the one missing airing, in the next
    session, which the reserve left room for, and fills nothing."""
    station = rotate_station(zones=["xa"], sessions=[session("sang", zones=["xa"], fill="rotate")])
    pool = [playable(bulletin("nq57-mot", zones=["xa"]), 120.0)] + [
        playable(bulletin(f"cds-{i}", campaign="cds", zones=["xa"]), 120.0) for i in range(5)
    ]
    booked = as_booked(plan(station, pool).new, pool)
    for b in booked:
        if b.airing.bulletin_id == "nq57-mot" or local_day(b.airing) == MONDAY:
            b.airing.status = AiringStatus.FAILED
    result = plan_week(
        station, YEAR, WEEK, pool, booked, at(0, 12), origin=Origin.MAKEUP, zone_ids=["xa"]
    )

    [makeup] = result.new
    assert (makeup.bulletin_id, makeup.origin) == ("nq57-mot", Origin.MAKEUP)
    assert local_day(makeup) == MONDAY + timedelta(1)
    tuesday = [
        b.airing
        for b in booked
        if local_day(b.airing) == MONDAY + timedelta(1) and b.airing.status != "failed"
    ]
    assert sum(a.duration_seconds for a in [*tuesday, makeup]) <= 600.0


def test_fill_minimum_sessions_carry_only_the_guaranteed_airings():
    """fill: minimum on the evening session: it gets nothing; the morning one is filled."""
    station = rotate_station(
        sessions=(
            session("sang", start="06:00", fill="rotate"),
            session("chieu", start="17:00", fill="minimum"),
        )
    )
    result = plan(station, six_bulletins())

    assert {a.session_id for a in result.new} == {"sang"}
    assert len(result.new) == 7 * 4 * len(ZONES)


def test_rotate_respects_validity_and_zones():
    """The fill uses only bulletins valid that day and meant for the zone."""
    later = playable(bulletin("nq57-moi", valid_from=date(2026, 11, 26)), 60.0)
    local_only = playable(bulletin("thon-a-rieng", zones=["thon-a"]), 60.0)
    result = plan(rotate_station(), [later, local_only])

    assert all(
        local_day(a) >= date(2026, 11, 26) for a in result.new if a.bulletin_id == "nq57-moi"
    )
    assert {a.zone_id for a in result.new if a.bulletin_id == "thon-a-rieng"} == {"thon-a"}


def test_zone_week_slots_match_a_scan_of_every_rule():
    """The index by zone gives the same slots as expanding every rule and filtering."""
    from broadcaster.core.sessions import week_slots, zone_week_slots

    station = make_station(
        zones=["xa", "thon-a", "thon-b", "thon-c"],
        sessions=[
            session("sang", zones=["xa", "thon-a"], days=[0, 2, 4]),
            session("chieu", zones=["thon-a", "thon-b"], start="17:00"),
            session("toi", zones=["xa"], start="19:00", days=[6]),
        ],
    )
    everything = week_slots(station, YEAR, WEEK)
    indexed = zone_week_slots(station, YEAR, WEEK)
    for zone in station.zone_ids:
        assert indexed[zone] == [s for s in everything if s.zone_id == zone], zone
        assert week_slots(station, YEAR, WEEK, zone) == indexed[zone]
    assert indexed["thon-c"] == []
