"""The operator's commands end to end: render, approve, plan, queue, cancel, status."""

from __future__ import annotations

import json
import os
import subprocess

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
    assert state("nq57-mot") == "not-rendered"
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
