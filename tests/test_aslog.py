"""The as-run log is evidence: `log verify` must catch every kind of tampering."""

from __future__ import annotations

import json

from stationkit import db, rows


def _simulated_log(cli) -> int:
    cli("simulate", "--from", "2026-11-23", "--to", "2026-11-24", check=True)
    count = rows(cli.root, "select count(*) as n from as_run_log")[0]["n"]
    assert count >= 6
    return count


def test_intact_log_verifies(cli):
    """An untouched log verifies and reports its length and head."""
    count = _simulated_log(cli)
    r = cli("log", "verify", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["ok"] and report["entries"] == count == report["stored_count"]


def test_edited_entry_is_caught(cli):
    _simulated_log(cli)
    with db(cli.root) as conn:
        conn.execute("update as_run_log set outcome='failed', reason='x' where seq=2")
    r = cli("log", "verify")
    assert r.code == 1
    assert "entry 2: content edited" in r.out


def test_deleted_entry_is_caught(cli):
    _simulated_log(cli)
    with db(cli.root) as conn:
        conn.execute("delete from as_run_log where seq=3")
    r = cli("log", "verify")
    assert r.code == 1
    assert "entry 3 deleted" in r.out


def test_reordered_entries_are_caught(cli):
    """Swapping two entries' places (their sequence numbers) breaks the chain."""
    _simulated_log(cli)
    with db(cli.root) as conn:
        conn.execute("update as_run_log set seq=-1 where seq=2")
        conn.execute("update as_run_log set seq=2 where seq=3")
        conn.execute("update as_run_log set seq=3 where seq=-1")
    r = cli("log", "verify")
    assert r.code == 1
    assert "entry 2" in r.out and "entry 3" in r.out


def test_truncated_log_is_caught(cli):
    """Cutting off the newest entries leaves a valid chain; the separate head catches it."""
    count = _simulated_log(cli)
    with db(cli.root) as conn:
        conn.execute("delete from as_run_log where seq >= ?", (count - 1,))
    r = cli("log", "verify")
    assert r.code == 1
    assert "truncated" in r.out


def test_log_lists_entries_as_json_and_csv(cli):
    _simulated_log(cli)
    r = cli("log", "--from", "2026-11-23", "--to", "2026-11-23", "--zone", "thon-a", "--json")
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
    csv_out = cli("log", "--csv").out.splitlines()
    assert csv_out[0].startswith("seq,airing_id,zone,bulletin_id")
    assert len(csv_out) == 1 + len(rows(cli.root, "select seq from as_run_log"))
