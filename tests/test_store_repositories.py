"""The store's repository functions the application layer calls instead of writing SQL
(issue 13), each against a real SQLite database made for the test: what they find, in
which order, what they leave out, and the store's own DatabaseFailure for a query that
fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from broadcaster.core.model import AiringStatus
from broadcaster.store import airings, approvals, aslog, onair, renditions, reporting
from broadcaster.store.db import Database, copy_to_sqlite, open_readonly
from broadcaster.store.errors import DatabaseFailure, database_reason
from broadcaster.store.tables import AiringRow

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
SCRIPT = "a" * 64
AUDIO = "b" * 64


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'station.db'}")
    db.create()
    yield db
    db.dispose()


def airing(**values) -> AiringRow:
    """An airing row as the engine builds one, planned on zone xa at T0 unless told."""
    base = {
        "zone_id": "xa",
        "bulletin_id": "b1",
        "campaign": "nq57",
        "tags": ",",
        "priority": "normal",
        "origin": "plan",
        "status": "planned",
        "scheduled_at": T0,
        "window_end": T0 + timedelta(minutes=30),
        "session_id": "sang",
        "week": "2026-W48",
        "duration_seconds": 30.0,
        "created_by": "planner",
        "created_at": T0 - timedelta(days=1),
    }
    return AiringRow(**{**base, **values})


def outcome(zone: str, bulletin: str, what: str, **values) -> aslog.Outcome:
    return aslog.Outcome(zone, bulletin, what, "daemon", **values)


def add_rendition(s, bulletin_id: str, audio: str, path: str) -> None:
    renditions.add(
        s,
        bulletin_id=bulletin_id,
        script_sha256=SCRIPT,
        render_key=audio[:32] + path[-8:],
        engine="espeak",
        audio_path=path,
        audio_sha256=audio,
        duration_seconds=30.0,
        created_at=T0,
    )


# -- the store's own failure ------------------------------------------------------------


def test_a_failing_write_raises_the_stores_failure_and_changes_nothing(database):
    values = dict(
        bulletin_id="b1",
        script_sha256=SCRIPT,
        audio_sha256=AUDIO,
        approved_by="Chủ tịch",
        approved_at=T0,
    )
    with database.write() as s:
        approvals.add_approval(s, **values)
    with pytest.raises(DatabaseFailure) as caught, database.write() as s:
        airings.book(s, [airing()])
        approvals.add_approval(s, **values)  # the same content twice: UNIQUE refuses it
    assert caught.value.reason.startswith("UNIQUE constraint failed: approval.")
    assert isinstance(caught.value.__cause__, SQLAlchemyError)
    assert str(caught.value) == str(caught.value.__cause__)  # the original's text
    with database.read() as s:
        assert airings.planned_of_bulletins(s, {"b1"}) == []  # rolled back with it


def test_a_damaged_database_fails_as_the_stores_failure_on_read(tmp_path):
    path = tmp_path / "damaged.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    db = Database(f"sqlite:///{path}", readonly=True)
    try:
        with pytest.raises(DatabaseFailure) as caught, db.read() as s:
            aslog.entries_after(s, 0)
    finally:
        db.dispose()
    assert caught.value.reason
    assert database_reason(caught.value) == caught.value.reason


def test_database_reason_words_the_toolkits_errors_and_nothing_else():
    from sqlalchemy.exc import OperationalError

    raw = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked\nmore"))
    assert database_reason(raw) == "database is locked"
    assert database_reason(SQLAlchemyError("first\nsecond")) == "first"
    assert database_reason(ValueError("not ours")) is None


def test_the_faces_line_for_a_database_failure_is_unchanged(database):
    from broadcaster.app.errors import machine_error

    with pytest.raises(DatabaseFailure) as caught, database.read() as s:
        s.connection().exec_driver_sql("SELECT * FROM no_such_table")
    assert machine_error(caught.value) == "database: no such table: no_such_table"


# -- opening and copying --------------------------------------------------------------------


def test_open_readonly_is_none_without_a_file_and_leaves_no_file_behind(tmp_path, database):
    assert open_readonly(f"sqlite:///{tmp_path / 'none.db'}") is None
    with database.write() as s:
        aslog.append(s, outcome("xa", "b1", "aired"), T0)
    database.dispose()
    before = sorted(p.name for p in tmp_path.iterdir())
    readonly = open_readonly(database.url)
    assert readonly is not None
    try:
        with readonly.read() as s:
            assert [e.seq for e in aslog.entries_after(s, 0)] == [1]
        with pytest.raises(DatabaseFailure), readonly.write() as s:
            aslog.append(s, outcome("xa", "b1", "aired"), T0)
    finally:
        readonly.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_copy_to_sqlite_copies_the_station_or_makes_an_empty_one(tmp_path, database):
    with database.write() as s:
        aslog.append(s, outcome("xa", "b1", "aired"), T0)
        airings.book(s, [airing()])
    copy_to_sqlite(database.url, tmp_path / "copy.db")
    copy_to_sqlite(f"sqlite:///{tmp_path / 'never-ran.db'}", tmp_path / "empty.db")
    for name, entries in (("copy.db", 1), ("empty.db", 0)):
        db = Database(f"sqlite:///{tmp_path / name}")
        try:
            with db.read() as s:
                assert len(aslog.entries_after(s, 0)) == entries, name
                assert len(airings.planned_of_bulletins(s, {"b1"})) == entries, name
        finally:
            db.dispose()
    assert not (tmp_path / "never-ran.db").exists()


# -- approvals and airings --------------------------------------------------------------


def test_add_approval_is_flushed_and_found_by_its_content(database):
    with database.write() as s:
        made = approvals.add_approval(
            s,
            bulletin_id="b1",
            script_sha256=SCRIPT,
            audio_sha256=AUDIO,
            approved_by="Chủ tịch",
            approved_at=T0,
        )
        assert made.id is not None  # flushed: a signature can name it
    with database.read() as s:
        found = approvals.approval_of(s, "b1", SCRIPT, AUDIO)
        assert found is not None and found.approved_by == "Chủ tịch"
        assert approvals.approval_of(s, "b1", SCRIPT, "c" * 64) is None
        assert approvals.ever_approved(s, "b1")


def test_book_gives_ids_in_order_and_reload_sees_a_move(database):
    with database.write() as s:
        booked = airings.book(s, [airing(zone_id="xa"), airing(zone_id="thon-a")])
        assert [r.id for r in booked] == [1, 2]
        moved = airings.move(
            s,
            1,
            AiringStatus.CANCELLED,
            outcome=outcome("xa", "b1", "cancelled", airing_id=1),
            recorded_at=T0,
        )
        assert moved is not None
        assert booked[0].status == "planned"  # the UPDATE leaves the object stale
        assert airings.reload(s, booked[0]).status == "cancelled"


def test_in_session_keeps_the_zones_occurrence_of_the_statuses_asked(database):
    end = T0 + timedelta(minutes=10)
    with database.write() as s:
        airings.book(
            s,
            [
                airing(),  # 1: in
                airing(scheduled_at=T0 + timedelta(minutes=5), status="aired"),  # 2: in
                airing(zone_id="thon-a"),  # another zone
                airing(session_id="chieu"),  # another session
                airing(scheduled_at=end),  # the next occurrence
                airing(scheduled_at=T0 + timedelta(minutes=1), status="cancelled"),
            ],
        )
    with database.read() as s:
        found = airings.in_session(
            s, "xa", "sang", T0, end, (AiringStatus.PLANNED, AiringStatus.AIRED)
        )
        assert sorted(r.id for r in found) == [1, 2]


def test_planned_of_bulletins_soonest_first_and_only_planned(database):
    with database.write() as s:
        airings.book(
            s,
            [
                airing(bulletin_id="b1", scheduled_at=T0 + timedelta(hours=2)),  # 1
                airing(bulletin_id="b2", scheduled_at=T0),  # 2
                airing(bulletin_id="b1", scheduled_at=T0 + timedelta(hours=1)),  # 3
                airing(bulletin_id="b1", status="aired"),  # 4: not planned
                airing(bulletin_id="b3"),  # 5: not asked for
            ],
        )
    with database.read() as s:
        assert [r.id for r in airings.planned_of_bulletins(s, {"b1", "b2"})] == [2, 3, 1]
        assert airings.planned_of_bulletins(s, set()) == []


# -- stop requests and receivers' reports -----------------------------------------------


def test_request_stop_is_pending_for_an_airing_on_air(database):
    with database.write() as s:
        airings.book(s, [airing(status="playing"), airing(status="planned")])
        onair.request_stop(s, 1, "x" * 200, T0)
        onair.request_stop(s, 2, "op", T0)  # not on air: not pending for the daemon
    with database.read() as s:
        assert onair.stop_requests(s) == {1: "x" * 128}


def receiver_report(seq: int, receiver: str, result: str, at: datetime) -> dict:
    return {
        "log_seq": seq,
        "airing_id": seq,
        "zone_id": "thon-a",
        "receiver_id": receiver,
        "outcome": result,
        "scheduled_at": at,
        "recorded_at": at,
    }


def test_receiver_misses_and_the_reports_of_entries(database):
    week_end = T0 + timedelta(days=7)
    with database.write() as s:
        onair.add_receiver_reports(
            s,
            [
                receiver_report(1, "r2", "no-ack", T0 + timedelta(hours=1)),
                receiver_report(1, "r1", "played", T0 + timedelta(hours=1)),
                receiver_report(2, "r2", "failed", T0),
                receiver_report(3, "r1", "no-ack", T0 + timedelta(hours=3)),
                receiver_report(4, "r1", "no-ack", week_end),  # the next week
            ],
        )
    with database.read() as s:
        misses = onair.receiver_misses(s, T0, week_end)
        assert [(m.receiver_id, m.log_seq) for m in misses] == [("r1", 3), ("r2", 2), ("r2", 1)]
        assert all(not hasattr(m, "_sa_instance_state") for m in misses)  # plain data


# -- the log's reads --------------------------------------------------------------------


def test_entries_after_an_entry_in_order(database):
    with database.write() as s:
        for n in range(3):
            aslog.append(s, outcome("xa", f"b{n}", "aired"), T0)
    with database.read() as s:
        assert [e.bulletin_id for e in aslog.entries_after(s, 1)] == ["b1", "b2"]
        assert aslog.entries_after(s, 3) == []


def test_aired_audio_counts_what_aired_by_hash_and_bulletin(database):
    other = "c" * 64
    with database.write() as s:
        for values in (
            dict(zone="xa", what="aired", audio_sha256=AUDIO),
            dict(zone="thon-a", what="interrupted", audio_sha256=AUDIO),
            dict(zone="xa", what="aired", audio_sha256=other, clock="simulated"),
            dict(zone="xa", what="failed", audio_sha256=AUDIO),  # did not air
            dict(zone="xa", what="aired", audio_sha256=""),  # no audio recorded
            dict(zone="thon-b", what="aired", audio_sha256=AUDIO),  # a zone not asked
        ):
            zone, what = values.pop("zone"), values.pop("what")
            aslog.append(s, outcome(zone, "b1", what, scheduled_at=T0, **values), T0)
        aslog.append(
            s,
            outcome("xa", "b1", "aired", audio_sha256=AUDIO, scheduled_at=T0 - timedelta(days=1)),
            T0,
        )
    end = T0 + timedelta(days=1)
    with database.read() as s:
        zones = ["xa", "thon-a"]
        assert reporting.aired_audio(s, T0, end, zones) == [(AUDIO, "b1", 2)]
        assert sorted(reporting.aired_audio(s, T0, end, zones, only_real=False)) == [
            (AUDIO, "b1", 2),
            (other, "b1", 1),
        ]


def test_audio_paths_each_file_of_an_audio_once(database):
    with database.write() as s:
        add_rendition(s, "b1", AUDIO, "audio/b1-1.mp3")
        add_rendition(s, "b1", AUDIO, "audio/b1-2.mp3")
        add_rendition(s, "b2", AUDIO, "audio/b1-1.mp3")  # the same file, named again
        add_rendition(s, "b1", "c" * 64, "audio/other.mp3")
    with database.read() as s:
        assert sorted(renditions.audio_paths(s, AUDIO)) == ["audio/b1-1.mp3", "audio/b1-2.mp3"]
        assert renditions.audio_paths(s, "d" * 64) == []


def test_week_outcomes_with_the_airing_of_a_legacy_entry(database):
    end = T0 + timedelta(days=7)
    with database.write() as s:
        airings.book(s, [airing(campaign="nq57", status="aired")])
        judged = dict(week="2026-W48", campaigns=("nq57",))
        aslog.append(s, outcome("xa", "b1", "aired", scheduled_at=T0, **judged), T0)  # 1
        aslog.append(s, outcome("xa", "b1", "aired", airing_id=1, scheduled_at=T0), T0)  # 2
        aslog.append(s, outcome("xa", "b2", "missed", scheduled_at=T0), T0)  # 3: legacy, no row
        aslog.append(
            s, outcome("xa", "b1", "aired", scheduled_at=T0, week="2026-W47"), T0
        )  # 4: counts for another week
        aslog.append(s, outcome("xa", "b1", "aired", scheduled_at=end, **judged), T0)  # 5: after
        aslog.append(s, outcome("xa", "b1", "started", scheduled_at=T0, **judged), T0)  # 6
    with database.read() as s:
        found = reporting.week_outcomes(s, T0, end, "2026-W48", ("aired", "missed"))
        assert [(e.seq, r.id if r is not None else None) for e, r in found] == [
            (1, None),
            (2, 1),
            (3, None),
        ]


# -- the dashboard's reads ------------------------------------------------------------------


def test_the_dashboard_reads_what_is_on_air_and_what_comes_next(database):
    hour = timedelta(hours=1)
    with database.write() as s:
        airings.book(
            s,
            [
                airing(zone_id="xa", status="playing", scheduled_at=T0 - hour),
                # window closed before "now": not next, though still planned
                airing(zone_id="xa", scheduled_at=T0 - 2 * hour, window_end=T0 - hour),
                airing(zone_id="xa", scheduled_at=T0 + 2 * hour, bulletin_id="b2"),
                airing(zone_id="xa", scheduled_at=T0 + hour, bulletin_id="b3"),
                airing(zone_id="thon-a", scheduled_at=T0 + 3 * hour, status="cancelled"),
                airing(zone_id="thon-a", scheduled_at=T0 + 4 * hour, bulletin_id="b4"),
                # beyond the horizon asked for
                airing(zone_id="thon-b", scheduled_at=T0 + timedelta(days=20)),
            ],
        )
    with database.read() as s:
        assert [a.zone_id for a in airings.on_air(s)] == ["xa"]
        until = T0 + timedelta(days=14)
        first = airings.next_per_zone(s, T0, until)
        assert {z: a.bulletin_id for z, a in first.items()} == {"xa": "b3", "thon-a": "b4"}
        soon = airings.coming_up(s, T0, until, 2)
        assert [a.bulletin_id for a in soon] == ["b3", "b2"]
