"""The as-run log is evidence: `log verify` must catch every kind of tampering."""

from __future__ import annotations

import json

from simkit import SimCli
from stationkit import db, rows


def _simulated_log(cli) -> int:
    """A simulated log in the simulation's own database (``.simulation/``)."""
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-24", check=True)
    count = rows(SimCli(cli).root, "select count(*) as n from as_run_log")[0]["n"]
    assert count >= 6
    return count


def test_intact_log_verifies(cli):
    """An untouched log verifies and reports its length and head."""
    count = _simulated_log(cli)
    r = SimCli(cli)("log", "verify", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["ok"] and report["entries"] == count == report["stored_count"]


def test_edited_entry_is_caught(cli):
    _simulated_log(cli)
    with db(SimCli(cli).root) as conn:
        conn.execute("update as_run_log set outcome='failed', reason='x' where seq=2")
    r = SimCli(cli)("log", "verify")
    assert r.code == 1
    assert "entry 2: content edited" in r.out


def test_deleted_entry_is_caught(cli):
    _simulated_log(cli)
    with db(SimCli(cli).root) as conn:
        conn.execute("delete from as_run_log where seq=3")
    r = SimCli(cli)("log", "verify")
    assert r.code == 1
    assert "entry 3 deleted" in r.out


def test_reordered_entries_are_caught(cli):
    """Swapping two entries' places (their sequence numbers) breaks the chain."""
    _simulated_log(cli)
    with db(SimCli(cli).root) as conn:
        conn.execute("update as_run_log set seq=-1 where seq=2")
        conn.execute("update as_run_log set seq=2 where seq=3")
        conn.execute("update as_run_log set seq=3 where seq=-1")
    r = SimCli(cli)("log", "verify")
    assert r.code == 1
    assert "entry 2" in r.out and "entry 3" in r.out


def test_truncated_log_is_caught(cli):
    """Cutting off the newest entries leaves a valid chain; the separate head catches it."""
    count = _simulated_log(cli)
    with db(SimCli(cli).root) as conn:
        conn.execute("delete from as_run_log where seq >= ?", (count - 1,))
    r = SimCli(cli)("log", "verify")
    assert r.code == 1
    assert "truncated" in r.out


def test_log_lists_entries_as_json_and_csv(cli):
    _simulated_log(cli)
    r = SimCli(cli)(
        "log", "--from", "2026-11-23", "--to", "2026-11-23", "--zone", "thon-a", "--json"
    )
    assert r.code == 0, r.err
    entries = json.loads(r.out)
    assert entries and all(e["zone"] == "thon-a" for e in entries)
    for field in (
        "airing_id",
        "bulletin_id",
        "audio_sha256",
        "scheduled_at",
        "started_at",
        "ended_at",
        "outcome",
        "reason",
        "approved_by",
        "triggered_by",
    ):
        assert field in entries[0]
    aired = [e for e in entries if e["outcome"] == "aired"]
    assert aired and all(e["approved_by"] == "Chủ tịch UBND xã" for e in aired)
    assert all(len(e["audio_sha256"]) == 64 for e in aired)
    assert all(e["scheduled_at"].startswith("2026-11-23") for e in entries)
    csv_out = SimCli(cli)("log", "--csv").out.splitlines()
    assert csv_out[0].startswith("seq,airing_id,zone,bulletin_id")
    assert len(csv_out) == 1 + len(rows(SimCli(cli).root, "select seq from as_run_log"))


def test_simulated_entries_say_so_inside_the_hash(cli):
    """Every entry of a simulation carries clock=simulated and the judged fields, hashed:
    `log verify` passes but warns; blanking the clock (to pass them off as real) or
    editing a campaign or week breaks the chain."""
    _simulated_log(cli)
    sim = SimCli(cli)
    entries = rows(sim.root, "select * from as_run_log")
    assert {e["clock"] for e in entries} == {"simulated"}
    judged = [e for e in entries if e["airing_id"] is not None]
    assert all(e["week"] == "2026-W48" and e["campaigns"].startswith(",") for e in judged)
    assert all(e["origin"] and e["priority"] for e in judged)
    r = sim("log", "verify", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["unreal"] == {"simulated": len(entries)}
    assert "not the real one" in r.err
    text = sim("log", "verify").out
    assert "log intact" in text and "WARNING" in text and "simulated: " in text
    for edit in (
        "update as_run_log set clock='' where seq=1",
        "update as_run_log set campaigns=',khac,' where seq=2",
        "update as_run_log set week='2026-W47' where seq=3",
        "update as_run_log set origin='makeup' where seq=4",
    ):
        with db(sim.root) as conn:
            before = conn.execute("select * from as_run_log").fetchall()
            conn.execute(edit)
        r = sim("log", "verify")
        assert r.code == 1 and "content edited" in r.out, edit
        with db(sim.root) as conn:  # put it back for the next edit
            conn.execute("delete from as_run_log")
            marks = ",".join("?" * len(before[0]))
            conn.executemany(f"insert into as_run_log values ({marks})", before)
        assert sim("log", "verify").code == 0


def test_entries_older_than_the_judged_fields_still_verify(tmp_path):
    """A database written before campaign/week/clock existed: its entries were hashed
    without them and must still verify; the new fields are hashed only when set."""
    from datetime import UTC, datetime

    from broadcaster.store import aslog
    from broadcaster.store.db import Database

    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    database.create()
    at = datetime(2026, 11, 23, tzinfo=UTC)
    with database.write() as s:
        old = aslog.append(s, aslog.Outcome("xa", "b1", "aired", "daemon", airing_id=1), at)
        new = aslog.append(
            s,
            aslog.Outcome(
                "xa", "b1", "aired", "daemon", airing_id=2, campaigns=("nq57",), week="2026-W48"
            ),
            at,
        )
    legacy_hash = aslog.entry_hash(
        aslog.GENESIS,
        {k: getattr(old, k) for k in aslog.HASHED_FIELDS if k not in aslog.OPTIONAL_FIELDS},
    )
    assert old.entry_hash == legacy_hash  # exactly the hash of the fields of old
    assert new.campaigns == ",nq57," and new.clock == ""
    with database.read() as s:
        report = aslog.verify(s)
    assert report.ok and report.legacy == 1 and report.unreal == {}
    database.dispose()


def test_a_database_from_before_the_judged_fields_is_migrated_on_open(tmp_path):
    """Last year's database (no campaigns/week/.../clock columns) opens: the columns are
    added and its entries still verify, counted as legacy (older than the judged fields)."""
    import sqlite3
    from datetime import UTC, datetime

    from broadcaster.store import aslog
    from broadcaster.store.db import Database

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    database.create()
    at = datetime(2026, 11, 23, tzinfo=UTC)
    with database.write() as s:
        for n in (1, 2):
            aslog.append(s, aslog.Outcome("xa", "b1", "aired", "daemon", airing_id=n), at)
    database.dispose()
    conn = sqlite3.connect(path)
    conn.execute("drop index ix_log_clock")
    for column in ("campaigns", "week", "priority", "origin", "duration_seconds", "clock"):
        conn.execute(f"alter table as_run_log drop column {column}")
    conn.commit()
    conn.close()

    reopened = Database(url)
    reopened.create()
    with reopened.read() as s:
        report = aslog.verify(s)
        assert aslog.unreal_counts(s) == {}
    assert report.ok and report.count == 2 and report.legacy == 2
    reopened.dispose()
    columns = {r[1] for r in sqlite3.connect(path).execute("pragma table_info(as_run_log)")}
    assert {"campaigns", "week", "clock", "duration_seconds"} <= columns
