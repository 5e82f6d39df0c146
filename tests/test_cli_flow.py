"""The operator's commands end to end: render, approve, plan, queue, cancel, status."""

from __future__ import annotations

import json
import os
import subprocess
from itertools import pairwise

from stationkit import rows


def test_render_skips_unchanged_scripts_and_redoes_edited_ones(cli):
    first = json.loads(cli("render", "--json").out)
    assert first and all(o["cached"] and not o["error"] for o in first)
    path = cli.root / "scripts" / "nq57-mot.md"
    path.write_text(path.read_text(encoding="utf-8") + "Xin cảm ơn bà con.\n", encoding="utf-8")
    second = {o["bulletin_id"]: o for o in json.loads(cli("render", "--json").out)}
    assert not second["nq57-mot"]["cached"] and second["nq57-hai"]["cached"]
    old_path = next(o["path"] for o in first if o["bulletin_id"] == "nq57-mot")
    assert second["nq57-mot"]["path"] != old_path
    forced = json.loads(cli("render", "nq57-hai", "--force", "--json").out)
    assert len(forced) == 1 and not forced[0]["cached"]


def test_editing_a_script_voids_its_approval(cli):
    def state(bid):
        data = json.loads(cli("check", "--json").out)
        return {b["id"]: b["approval"] for b in data["bulletins"]}[bid]

    assert state("nq57-mot") == "approved"
    path = cli.root / "scripts" / "nq57-mot.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Nghị quyết 57 ", "Nghị quyết 57-NQ/TW "),
        encoding="utf-8",
    )
    # Edited after approval: said at once, before and after the new text is rendered
    # (it used to read "not-rendered", which check passed without a word).
    assert state("nq57-mot") == "changed-since-approval"
    cli("render", "nq57-mot", check=True)
    assert state("nq57-mot") == "changed-since-approval"
    r = cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:00")
    assert r.code == 1 and "not approved" in r.err
    cli("approve", "nq57-mot", "--by", "Phó Chủ tịch", check=True)
    assert state("nq57-mot") == "approved"


def test_approve_needs_rendered_audio(bare_station):
    from stationkit import Cli

    r = Cli(bare_station)("approve", "nq57-mot", "--by", "A")
    assert r.code == 1
    assert "render" in r.err and "Traceback" not in r.err


def test_plan_books_the_week_once(cli):
    r = cli("plan", "--week", "2026-W48", "--json")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["unsatisfied"] == []
    by_zone = {}
    for a in plan["created"]:
        by_zone.setdefault(a["zone"], []).append(a)
    assert set(by_zone) == {"xa", "thon-a", "thon-b"}
    for airings in by_zone.values():
        assert len({a["bulletin_id"] for a in airings}) == len(airings)  # rotated
        first = min(airings, key=lambda a: a["scheduled_at"])
        assert first["bulletin_id"] == "lua-dao"  # priority first in its session
        assert first["scheduled_at"] == "2026-11-23 06:00:00"
    again = json.loads(cli("plan", "--week", "2026-W48", "--json").out)
    assert again["created"] == []


def test_plan_names_zones_it_cannot_satisfy(cli):
    yaml_path = cli.root / "schedules" / "station.yaml"
    yaml_path.write_text(
        yaml_path.read_text(encoding="utf-8").replace("campaign: nq57", "campaign: so-hoa"),
        encoding="utf-8",
    )
    r = cli("plan", "--week", "2026-W48", "--json")
    plan = json.loads(r.out)
    assert {u["zone_id"] for u in plan["unsatisfied"]} == {"xa", "thon-a", "thon-b"}
    assert all("campaign 'so-hoa'" in u["reason"] for u in plan["unsatisfied"])
    strict = cli("plan", "--week", "2026-W48", "--strict")
    assert strict.code == 1 and "cannot satisfy xa" in strict.err


def test_plan_refuses_a_past_week(cli):
    r = cli("plan", "--week", "2026-W40")
    assert r.code == 2 and "already over" in r.err


def test_queue_checks_its_input(cli):
    cases = {
        ("nq57-mot", "xa", "2026-11-23 23:00"): "quiet hours",
        ("nq57-mot", "xa", "2026-11-01 06:00"): "in the past",
        ("nq57-mot", "nowhere", "2026-11-23 06:00"): "unknown zone",
        ("nope", "xa", "2026-11-23 06:00"): "no bulletin 'nope'",
        ("nq57-mot", "xa", "tomorrow"): "not a local time",
    }
    for (bid, zone, at), message in cases.items():
        r = cli("queue", bid, "--zone", zone, "--at", at)
        assert r.code in (1, 2) and message in r.err, (bid, zone, at, r.err)
        assert "Traceback" not in r.err
    assert rows(cli.root, "select * from airing") == []


def test_queue_then_cancel_is_logged(cli):
    r = cli("queue", "nq57-mot", "--zone", "thon-a", "--at", "2026-11-23 17:00", "--by", "Lan")
    assert r.code == 0, r.err
    airing = rows(cli.root, "select * from airing")[0]
    assert airing["scheduled_at"].startswith("2026-11-23 10:00") and airing["session_id"] == "chieu"
    r = cli("cancel", str(airing["id"]), "--by", "Lan")
    assert r.code == 0, r.err
    log = rows(cli.root, "select * from as_run_log")
    assert [(e["outcome"], e["triggered_by"]) for e in log] == [("cancelled", "operator:Lan")]
    again = cli("cancel", str(airing["id"]))
    assert again.code == 1 and "cancelled" in again.err


def test_status_json_has_the_documented_fields(cli):
    cli("plan", "--week", "2026-W48", check=True)
    status = json.loads(cli("status", "--week", "2026-W48", "--json").out)
    assert len(status) == 3
    for row in status:
        assert {"zone", "requirement", "required", "aired", "planned", "state"} <= set(row)
        assert row["state"] == "on-track" and row["planned"] == row["required"] == 2
    text = cli("status", "--week", "2026-W48").out
    assert "as-run log: 0 entries" in text


def test_demo_on_the_sample_commune(sample_station):
    """The README's main job: renders, approves, plans, simulates a week with a cluster
    down two days, recovers it with make-ups, and every zone ends 'met'."""
    from stationkit import Cli

    cli = Cli(sample_station)
    # the demo renders the 13 sample bulletins: the time limit only guards against a hang
    r = cli.subprocess("demo", "--week", "2026-W48", check=True, timeout=900)
    assert "make-up" in r.out and "chain intact" in r.out
    assert (sample_station / ".demo" / "station.db").is_file()
    assert not (sample_station / "station.db").exists()
    # issue 11: the last line said "broadcaster ...", which is not on PATH after `make
    # demo`; the command it prints now works as typed, from where the demo ran
    command = r.out.strip().splitlines()[-1].partition("see it with: ")[2]
    assert command, r.out
    env = {
        k: v for k, v in os.environ.items() if k not in ("BROADCASTER_STATION", "BROADCASTER_DB")
    }
    env["PATH"] = "/usr/bin:/bin"  # the venv's bin is not on a newcomer's PATH
    shown = subprocess.run(command, shell=True, capture_output=True, text=True, env=env)
    assert shown.returncode == 0, (command, shown.stderr)
    assert shown.stdout.strip(), command


def test_shipped_json_schemas_match_the_models():
    """The schemas editors use (broadcaster/schemas/) are regenerated from the models."""
    from pathlib import Path

    from broadcaster.config.schema import json_schemas

    folder = Path(__file__).resolve().parent.parent / "broadcaster" / "schemas"
    for name, schema in json_schemas().items():
        assert json.loads((folder / name).read_text(encoding="utf-8")) == schema, name


def _book_directly(root, bulletin_id: str, zone: str, local: str, seconds: float) -> None:
    """Put an operator's airing of ``seconds`` in the store, as a queue before the checks
    existed could have (to fill a session without rendering long audio)."""
    from datetime import timedelta

    from broadcaster.app.context import StationContext
    from broadcaster.core.model import Airing, Origin, Priority
    from broadcaster.core.timeutil import parse_local_datetime
    from broadcaster.engine.planning import new_row

    ctx = StationContext.open(root)
    at = parse_local_datetime(local, ctx.station.tz)
    with ctx.db.write() as s:
        s.add(
            new_row(
                Airing(
                    None,
                    zone,
                    bulletin_id,
                    at,
                    at.replace(minute=10),
                    "sang",
                    Priority.NORMAL,
                    Origin.QUEUE,
                    duration_seconds=seconds,
                    created_by="test",
                ),
                ctx.bulletin(bulletin_id),
                ctx.station,
                at - timedelta(days=1),
            )
        )
    ctx.close()


def test_queue_refuses_beyond_the_session_cap_naming_what_is_booked(cli):
    """9 min 59 s of the 10-minute 06:00 session are booked: one more bulletin is refused
    with what is booked, and nothing is added."""
    _book_directly(cli.root, "nq57-hai", "xa", "2026-11-23 06:00", 599.0)
    r = cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:05")
    assert r.code == 1, (r.out, r.err)
    assert "06:00 is full: 9 min 59 s of 10 min" in r.err
    assert "06:00 nq57-hai" in r.err and "Traceback" not in r.err
    assert len(rows(cli.root, "select * from airing")) == 1


def test_queue_warns_when_the_bulletin_is_already_in_the_session(cli):
    """Queued at 06:00 where the plan already booked it: a warning, the operator's airing
    keeps 06:00, and the planner's airings of the session move after it, without overlap."""
    cli("plan", "--week", "2026-W48", check=True)
    booked = rows(
        cli.root,
        "select bulletin_id from airing where zone_id='xa' and scheduled_at like "
        "'2026-11-22 23:0%' order by scheduled_at",
    )
    bid = booked[-1]["bulletin_id"]
    r = cli("queue", bid, "--zone", "xa", "--at", "2026-11-23 06:00")
    assert r.code == 0, r.err
    assert f"'{bid}' is already in the 06:00 session on xa" in r.err
    assert "at 2026-11-23 06:00:00" in r.out
    session = rows(
        cli.root,
        "select scheduled_at, duration_seconds from airing where zone_id='xa' "
        "and session_id='sang' and scheduled_at < '2026-11-23 00:00' order by scheduled_at",
    )
    assert len(session) == len(booked) + 1
    from datetime import datetime, timedelta

    spans = [
        (
            t := datetime.fromisoformat(s["scheduled_at"]),
            t + timedelta(seconds=s["duration_seconds"]),
        )
        for s in session
    ]
    assert all(a[1] <= b[0] for a, b in pairwise(spans)), spans


def test_schedule_list_shows_the_ids_cancel_takes(cli):
    """schedule list: every airing of the week with its id, filtered by zone and state;
    the id listed is the one cancel acts on."""
    cli("plan", "--week", "2026-W48", check=True)
    listed = json.loads(cli("schedule", "list", "--week", "2026-W48", "--json").out)
    stored = rows(cli.root, "select id, zone_id, bulletin_id from airing order by id")
    assert sorted((a["id"], a["zone"], a["bulletin_id"]) for a in listed) == [
        (r["id"], r["zone_id"], r["bulletin_id"]) for r in stored
    ]
    thon_a = json.loads(
        cli("schedule", "list", "--week", "2026-W48", "--zone", "thon-a", "--json").out
    )
    assert thon_a and {a["zone"] for a in thon_a} == {"thon-a"}
    target = thon_a[-1]
    assert cli("cancel", str(target["id"]), "--by", "Lan").code == 0
    cancelled = json.loads(
        cli("schedule", "list", "--week", "2026-W48", "--state", "cancelled", "--json").out
    )
    assert [(a["id"], a["zone"], a["bulletin_id"]) for a in cancelled] == [
        (target["id"], "thon-a", target["bulletin_id"])
    ]
    text = cli("schedule", "list", "--week", "2026-W48", "--zone", "thon-a").out
    assert "airing" in text and str(target["id"]) in text
    bad = cli("schedule", "list", "--state", "gone")
    assert bad.code == 2 and "--state" in bad.err and "Traceback" not in bad.err


def test_log_prints_the_airing_id_beside_the_seq(cli):
    """Log entry 1 is airing 2: the table shows both, labelled, so the right one is cancelled."""
    cli.env["COLUMNS"] = "200"
    for zone in ("xa", "thon-a"):
        cli("queue", "nq57-mot", "--zone", zone, "--at", "2026-11-23 17:00", check=True)
    second = rows(cli.root, "select id from airing where zone_id='thon-a'")[0]["id"]
    cli("cancel", str(second), check=True)
    text = cli("log").out
    header = next(line for line in text.splitlines() if "seq" in line)
    assert "airing" in header
    [entry] = [line for line in text.splitlines() if "cancelled" in line]
    cells = [c.strip() for c in entry.split("│") if c.strip()]
    assert cells[:3] == ["1", str(second), "thon-a"]


def test_deleted_audio_is_left_out_of_planning_and_said_in_check_and_status(cli):
    """The approved audio of nq57-mot is deleted: check and status say it will not be
    planned, plan leaves it out, and a simulated day has no failed airing and no make-up
    (before: every booking of it failed at the gate and set off make-ups of itself)."""
    [audio] = rows(
        cli.root,
        "select r.audio_path from rendition r join approval a on a.bulletin_id = r.bulletin_id "
        "and a.audio_sha256 = r.audio_sha256 where r.bulletin_id='nq57-mot'",
    )
    (cli.root / audio["audio_path"]).unlink()

    check = json.loads(cli("check", "--json").out)
    assert {b["id"]: b["approval"] for b in check["bulletins"]}["nq57-mot"] == "audio-missing"
    assert "approved audio file is missing" in cli("check").err

    plan = json.loads(cli("plan", "--week", "2026-W48", "--json").out)
    assert [u["bulletin_id"] for u in plan["not_planned"]] == ["nq57-mot"]
    assert plan["created"] and "nq57-mot" not in {a["bulletin_id"] for a in plan["created"]}
    cli.env["COLUMNS"] = "200"
    assert "not planned: scripts/nq57-mot.md" in cli("status", "--week", "2026-W48").out

    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23", "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["outcomes"].get("failed", 0) == 0, summary
    assert summary["makeups_planned"] == 0
