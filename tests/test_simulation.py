"""A week of the station on the simulated clock, through the CLI and the real engine."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from simkit import SimCli, sim_root
from stationkit import played, rows, script_text

from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, Origin, Priority
from broadcaster.core.timeutil import parse_local_datetime
from broadcaster.engine.planning import new_row


def _status(cli, week="2026-W48") -> list[dict]:
    """Status of the simulation's own database, counting its simulated entries."""
    r = SimCli(cli)("status", "--week", week, "--include-unreal", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_week_meets_every_requirement(cli):
    """Plan, then simulate Mon–Sun: every zone airs campaign content and is 'met'."""
    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-29", "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["outcomes"].get("failed", 0) == 0
    status = _status(cli)
    assert {s["zone"] for s in status} == {"xa", "thon-a", "thon-b"}
    assert all(s["state"] == "met" and s["aired"] >= s["required"] for s in status), status
    # Planned early in the week, leaving room to recover.
    aired = rows(sim_root(cli.root), "select scheduled_at from airing where status='aired'")
    assert min(r["scheduled_at"] for r in aired).startswith("2026-11-22 23:00")
    # What played is what the log says aired, file by file.
    files = played(sim_root(cli.root))
    logged = rows(
        sim_root(cli.root), "select airing_id, audio_sha256 from as_run_log where outcome='aired'"
    )
    assert sorted((f["airing"], f["sha256"]) for f in files) == sorted(
        (r["airing_id"], r["audio_sha256"]) for r in logged
    )
    assert SimCli(cli)("log", "verify").code == 0


def test_cluster_down_two_days_recovers_with_makeups(cli):
    """thon-a is unreachable Mon–Tue: its airings fail, make-ups are planned in later
    sessions of the same week, and one of them airs on Wednesday."""
    r = cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-29",
        "--fail",
        "thon-a@2026-11-23/2026-11-24",
    )
    assert r.code == 0, r.err
    failed = rows(
        sim_root(cli.root), "select * from as_run_log where zone_id='thon-a' and outcome='failed'"
    )
    # Two bulletins a week are required: each of the four sessions of Mon–Tue fails both.
    assert len(failed) == 8
    assert {f["scheduled_at"][:13] for f in failed} == {
        "2026-11-22 23",
        "2026-11-23 10",
        "2026-11-23 23",
        "2026-11-24 10",
    }
    assert all("unreachable" in f["reason"] for f in failed)
    makeups = rows(
        sim_root(cli.root), "select * from airing where zone_id='thon-a' and origin='makeup'"
    )
    assert makeups and any(m["status"] == "aired" for m in makeups)
    first_aired = rows(
        sim_root(cli.root),
        "select min(scheduled_at) as t from airing where zone_id='thon-a' and status='aired'",
    )[0]["t"]
    assert first_aired.startswith("2026-11-24 23:00")  # Wednesday 06:00 local
    status = {s["zone"]: s for s in _status(cli)}
    assert status["thon-a"]["state"] == "met" and status["thon-a"]["failed"] == 8
    assert status["thon-b"]["failed"] == 0


def test_status_shows_makeup_while_zone_is_at_risk(cli):
    """Mid-week, after the failures, status says the zone relies on a make-up."""
    cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-23",
        "--fail",
        "thon-a@2026-11-23/2026-11-23",
        check=True,
    )
    cli.env["BROADCASTER_NOW"] = "2026-11-24T00:00:00+07:00"
    status = {s["zone"]: s for s in _status(cli)}
    assert status["thon-a"]["state"] == "at-risk"
    assert "make-up" in status["thon-a"]["note"]
    assert status["thon-b"]["state"] == "met"


def test_emergency_interrupts_a_playing_bulletin(cli):
    """An emergency at 06:00:02 cuts the bulletin playing since 06:00 on every zone; the
    cut airing is logged 'interrupted' and aired again in the same session."""
    r = cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-23",
        "--emergency",
        "bao-lu@2026-11-23 06:00:02",
    )
    assert r.code == 0, r.err
    for zone in ("xa", "thon-a", "thon-b"):
        log = rows(
            sim_root(cli.root), "select * from as_run_log where zone_id=? order by seq", zone
        )
        outcomes = [(e["bulletin_id"], e["outcome"]) for e in log]
        assert outcomes[0][1] == "interrupted"
        assert "emergency" in log[0]["reason"]
        assert log[0]["ended_at"].startswith("2026-11-22 23:00:02")
        assert ("bao-lu", "aired") in outcomes
        interrupted_bulletin = outcomes[0][0]
        assert (interrupted_bulletin, "aired") in outcomes[1:]  # retried after the alert
        assert any(e["triggered_by"].startswith("emergency:") for e in log)


def test_unapproved_and_edited_bulletins_never_reach_an_output(cli):
    """Edited after approval: its booked airings fail at playout with the reason, and no
    output ever receives its audio. Same for a bulletin that was never approved."""
    root = cli.root
    # Edit one approved script after approval and add a new, never-approved one.
    path = root / "scripts" / "lua-dao.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("lừa đảo", "lừa đảo qua mạng"), encoding="utf-8"
    )
    (root / "scripts" / "moi.md").write_text(
        script_text("moi", "priority", "nq57", "Bản tin mới chưa duyệt.", "all"), encoding="utf-8"
    )
    cli("render", check=True)
    # Book both directly in the database, bypassing every check but the playout gate.
    ctx = StationContext.open(root)
    at = parse_local_datetime("2026-11-23 06:00", ctx.station.tz)
    with ctx.db.write() as s:
        for bid in ("lua-dao", "moi"):
            b = ctx.bulletin(bid)
            for zone in ctx.station.zone_ids:
                s.add(
                    new_row(
                        Airing(
                            None,
                            zone,
                            bid,
                            at,
                            at + timedelta(minutes=10),
                            "sang",
                            Priority.PRIORITY,
                            Origin.QUEUE,
                            created_by="test",
                        ),
                        b,
                        ctx.station,
                        at,
                    )
                )
    ctx.close()
    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-29", "--no-autoplan")
    assert r.code == 0, r.err
    refused = rows(
        sim_root(root), "select * from as_run_log where bulletin_id in ('lua-dao','moi')"
    )
    assert len(refused) == 6 and all(e["outcome"] == "failed" for e in refused)
    edited = [e for e in refused if e["bulletin_id"] == "lua-dao"]
    assert all("changed after approval" in e["reason"] for e in edited)
    assert all(e["reason"] == "not approved" for e in refused if e["bulletin_id"] == "moi")
    assert not [f for f in played(sim_root(root)) if f["bulletin"] in ("lua-dao", "moi")]
    # check --json shows both states to the operator.
    states = {b["id"]: b["approval"] for b in json.loads(cli("check", "--json").out)["bulletins"]}
    assert states["lua-dao"] == "changed-since-approval" and states["moi"] == "unapproved"


def _evidence(root) -> tuple:
    """The station's evidence as a reader sees it: every log row, the chain head, every
    airing row, the database file's bytes, and the output folder's listing."""
    log = [tuple(r) for r in rows(root, "select * from as_run_log order by seq")]
    head = [tuple(r) for r in rows(root, "select * from log_chain_head")]
    airings = [tuple(r) for r in rows(root, "select * from airing order by id")]
    digest = hashlib.sha256((root / "station.db").read_bytes()).hexdigest()
    out = (
        sorted(str(p.relative_to(root)) for p in (root / "out").rglob("*"))
        if (root / "out").exists()
        else None
    )
    return log, head, airings, digest, out


def test_a_simulated_week_leaves_the_station_untouched(cli):
    """Issue 10: a simulated week runs on a copy in .simulation/ and says where; the
    station's own log, chain head, airings, database file and out/ stay byte-identical."""
    cli("plan", "--week", "2026-W48", check=True)
    first = rows(cli.root, "select id from airing order by scheduled_at desc limit 1")[0]["id"]
    cli("cancel", str(first), "--by", "Trực ban", check=True)  # a real log entry to keep
    before = _evidence(cli.root)
    assert len(before[0]) == 1
    r = cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-29",
        "--fail",
        "thon-a@2026-11-23/2026-11-24",
        "--json",
    )
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    sim = sim_root(cli.root)
    assert summary["database"] == f"sqlite:///{sim / 'station.db'}"
    assert summary["out_dir"] == str(sim / "out") and summary["clock"] == "simulated"
    assert summary["outcomes"]["aired"] > 0 and summary["outcomes"]["failed"] > 0
    assert _evidence(cli.root) == before
    # The copy started from the station's state (its plan and the cancellation) and holds
    # the simulated week, every entry of it saying so in its hash.
    log = rows(sim, "select * from as_run_log order by seq")
    assert tuple(log[0]) == before[0][0]
    assert {e["clock"] for e in log[1:]} == {"simulated"}
    assert played(sim) and SimCli(cli)("log", "verify").code == 0
    text = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23").out
    assert str(sim / "station.db") in text and "not touched" in text
    assert _evidence(cli.root) == before


def test_simulate_into_a_folder_it_did_not_make_is_refused(cli, tmp_path):
    """--into never wipes a folder that is not a simulation's own."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23", "--into", str(mine))
    assert r.code == 2 and "not a simulation's folder" in r.err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23", "--continue")
    assert r.code == 2 and "--continue" in r.err
