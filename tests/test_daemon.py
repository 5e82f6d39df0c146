"""The real-time daemon: APScheduler wakes it, the database decides, crashes lose nothing.

These tests run the real ``broadcaster run`` process for a few seconds each, with the
clock shifted (BROADCASTER_CLOCK_OFFSET) so that 06:00 on Monday is seconds away.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta

import pytest
from stationkit import offset_to, played, rows

pytestmark = pytest.mark.realtime


def wait_for(predicate, timeout: float = 30.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def statuses(root) -> dict[int, str]:
    return {r["id"]: r["status"] for r in rows(root, "select id, status from airing")}


@pytest.fixture
def daemon_cli(cli):
    """The CLI on Monday 2026-11-23: 05:50 local while a test books airings, then a few
    seconds before 06:00 when the first daemon starts, so slow commands on a loaded
    machine never book into the past. The lead before 06:00 follows the machine's load:
    at least 5 s, and three times what a fresh start of the real executable takes now
    (a daemon that comes up after its slot airs late, issue 11). A test that moves the
    clock itself (a restart later) keeps its own."""
    cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:50:00")
    procs = []
    first_start = [True]

    def start(*extra: str):
        if first_start:
            first_start.pop()
            began = time.monotonic()
            cli.subprocess("--version", check=True, real=True)
            lead = max(5.0, 3 * (time.monotonic() - began))
            slot = datetime.fromisoformat("2026-11-23T06:00:00")
            cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to(
                (slot - timedelta(seconds=lead)).isoformat()
            )
        proc = cli.popen("run", "--no-autoplan", *extra)
        procs.append(proc)
        wait_for(
            lambda: (
                (cli.root / "station.db.lock").exists()
                and proc.poll() is None
                and _locked(cli.root)
            ),
            timeout=20,
        )
        return proc

    cli.start_daemon = start
    yield cli
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _locked(root) -> bool:
    import fcntl

    with open(root / "station.db.lock", "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def test_run_airs_queued_bulletins_on_time_and_stops_on_sigterm(daemon_cli):
    cli = daemon_cli
    for bid, zone in (("nq57-mot", "xa"), ("nq57-hai", "thon-a"), ("lua-dao", "thon-b")):
        cli("queue", bid, "--zone", zone, "--at", "2026-11-23 06:00", "--by", "Lan", check=True)
    daemon = cli.start_daemon()
    wait_for(lambda: set(statuses(cli.root).values()) == {"aired"}, timeout=40)
    log = rows(cli.root, "select * from as_run_log order by seq")
    assert len(log) == 3
    for entry in log:
        start = datetime.fromisoformat(entry["started_at"])
        scheduled = datetime.fromisoformat(entry["scheduled_at"])
        assert 0 <= (start - scheduled).total_seconds() < 1.5, entry["started_at"]
        assert entry["triggered_by"] == "operator:Lan"
    assert {f["zone"] for f in played(cli.root)} == {"xa", "thon-a", "thon-b"}
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=15) == 0
    assert not _locked(cli.root)


def test_one_daemon_per_database(daemon_cli):
    cli = daemon_cli
    cli.start_daemon()
    second = cli("run", "--no-autoplan")
    assert second.code == 1
    assert "another process holds this station's database" in second.err
    assert "Traceback" not in second.err
    # A simulation runs on its own copy of the database: it may run beside the daemon.
    sim = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23")
    assert sim.code == 0, sim.err


def test_emergency_interrupts_what_the_daemon_plays(daemon_cli):
    cli = daemon_cli
    _long_bulletin(cli)  # still on air when the emergency command, slow under load, arrives
    for zone in ("xa", "thon-a", "thon-b"):
        cli("queue", "dai", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
    cli.start_daemon()
    wait_for(lambda: list(statuses(cli.root).values()).count("playing") == 3)
    r = cli("emergency", "bao-lu", "--zones", "all", "--by", "Trực ban")
    assert r.code == 0, r.err
    assert "handed to the running daemon" in r.out
    wait_for(
        lambda: (
            len(
                rows(
                    cli.root,
                    "select * from as_run_log where bulletin_id='bao-lu' and outcome='aired'",
                )
            )
            == 3
        ),
        timeout=30,
    )
    cut = rows(cli.root, "select * from as_run_log where outcome='interrupted'")
    assert {c["zone_id"] for c in cut} == {"xa", "thon-a", "thon-b"}
    assert all("emergency" in c["reason"] for c in cut)
    alerts = rows(cli.root, "select * from as_run_log where bulletin_id='bao-lu'")
    assert all(a["triggered_by"] == "emergency:Trực ban" for a in alerts)


def test_kill_9_mid_airing_loses_nothing(daemon_cli):
    """kill -9 while bulletins play; restart inside the session: the cut airings are
    logged 'interrupted' and aired again, the waiting ones air late within the grace."""
    cli = daemon_cli
    for bid in ("nq57-mot", "nq57-hai"):
        for zone in ("xa", "thon-a"):
            cli("queue", bid, "--zone", zone, "--at", "2026-11-23 06:00", check=True)
    daemon = cli.start_daemon()
    wait_for(lambda: list(statuses(cli.root).values()).count("playing") == 2)
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait()
    assert list(statuses(cli.root).values()).count("playing") == 2  # state left by the crash
    cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T06:03:00")
    cli.start_daemon()
    wait_for(lambda: not ({"planned", "playing"} & set(statuses(cli.root).values())), 40)
    airings = rows(cli.root, "select * from airing order by id")
    originals = [a for a in airings if a["origin"] == "queue"]
    retries = {a["parent_id"]: a for a in airings if a["origin"] == "retry"}
    for a in originals:
        if a["status"] == "interrupted":
            assert "stopped during playout" in a["reason"]
            assert retries[a["id"]]["status"] == "aired"
        else:
            assert a["status"] == "aired"
    assert sum(a["status"] == "interrupted" for a in originals) == 2
    assert cli("log", "verify").code == 0


def test_restart_after_the_session_marks_missed_and_replans(daemon_cli):
    """Down from 06:00 to 06:40: too late for the 06:00 session (window 10 min, grace 20),
    so queued airings are 'missed' with the reason, the cut one is re-planned as a make-up
    in a later session of the week, and status says so."""
    cli = daemon_cli
    for zone in ("xa", "thon-a"):
        cli("queue", "nq57-mot", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
        cli("queue", "nq57-hai", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
    daemon = cli.start_daemon()
    wait_for(lambda: "playing" in statuses(cli.root).values())
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait()
    cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T06:40:00")
    proc = cli.start_daemon()
    wait_for(
        lambda: (
            not ({"playing"} & set(statuses(cli.root).values()))
            and rows(cli.root, "select * from airing where origin='makeup'")
        ),
        30,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    originals = rows(cli.root, "select * from airing where origin='queue'")
    assert all(a["status"] in ("aired", "missed", "interrupted") for a in originals)
    missed = [a for a in originals if a["status"] == "missed"]
    assert missed and all("not started by" in a["reason"] for a in missed)
    makeups = rows(cli.root, "select * from airing where origin='makeup' and status='planned'")
    assert makeups and all(m["scheduled_at"] > "2026-11-23 10:00" for m in makeups)
    # The daemon ran on a shifted clock (BROADCASTER_CLOCK_OFFSET): count its entries.
    status = json.loads(cli("status", "--week", "2026-W48", "--include-unreal", "--json").out)
    assert any("make-up" in s["note"] for s in status)


def test_typed_emergency_without_daemon_airs_at_once(cli):
    r = cli(
        "emergency",
        "--text",
        "Lũ đang lên nhanh, bà con di chuyển lên chỗ cao.",
        "--approved-by",
        "Chủ tịch UBND xã",
        "--zones",
        "thon-a,thon-b",
        "--by",
        "Trực ban",
    )
    assert r.code == 0, r.out + r.err
    alerts = rows(cli.root, "select * from as_run_log where outcome='aired'")
    assert {a["zone_id"] for a in alerts} == {"thon-a", "thon-b"}
    assert all(a["approved_by"] == "Chủ tịch UBND xã" for a in alerts)
    assert all(a["triggered_by"] == "emergency:Trực ban" for a in alerts)
    script = cli.root / "scripts" / f"{alerts[0]['bulletin_id']}.md"
    assert "Lũ đang lên nhanh" in script.read_text(encoding="utf-8")


def _daemon_stderr(cli, *extra: str) -> list[str]:
    """Run the daemon through one airing and ten more sweeps (0.2 s each); its stderr."""
    cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:00", "--by", "Lan", check=True)
    daemon = cli.start_daemon("--sweep-seconds", "0.2", *extra)
    try:
        wait_for(lambda: set(statuses(cli.root).values()) == {"aired"}, timeout=60)
    except AssertionError:
        daemon.kill()
        raise AssertionError(f"{statuses(cli.root)}\n{daemon.communicate()[1]}") from None
    time.sleep(2.0)
    daemon.send_signal(signal.SIGTERM)
    _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    return err.splitlines()


def test_the_daemon_logs_each_airing_outcome_not_each_sweep(daemon_cli):
    """Issue 11: APScheduler's two INFO lines per job run, the once-a-second sweep
    included, made about 170,000 lines a day. By default: one line per outcome."""
    lines = _daemon_stderr(daemon_cli)
    scheduler = [line for line in lines if "Running job" in line or "executed" in line]
    assert scheduler == []
    outcomes = [line for line in lines if "airing" in line and ": aired" in line]
    assert len(outcomes) == 1, lines
    assert len(lines) <= 4, lines  # on air, the outcome, stopping (and nothing per sweep)


def test_verbose_shows_the_schedulers_job_runs(daemon_cli):
    lines = _daemon_stderr(daemon_cli, "--verbose")
    assert sum("Running job" in line for line in lines) >= 5, lines
    assert sum(": aired" in line for line in lines) == 1


# -- issue 10: one retry rule, cancel and start as one decision, kills at slot instants ------
def test_an_airing_cut_by_sigterm_is_aired_again_like_one_cut_by_kill_9(daemon_cli):
    """SIGTERM during playout: the cut airings are logged interrupted and, as after a
    kill -9, aired again in their session when the station is back (they were never
    aired again before: SIGTERM planned no retry)."""
    cli = daemon_cli
    for zone in ("xa", "thon-a"):
        cli("queue", "nq57-mot", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
    daemon = cli.start_daemon()
    wait_for(lambda: list(statuses(cli.root).values()).count("playing") == 2)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=15) == 0
    cut = rows(cli.root, "select * from airing where origin='queue'")
    assert [a["status"] for a in cut] == ["interrupted", "interrupted"]
    cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T06:03:00")
    cli.start_daemon()
    wait_for(lambda: not ({"planned", "playing"} & set(statuses(cli.root).values())), 40)
    retries = rows(cli.root, "select * from airing where origin='retry'")
    assert sorted(r["parent_id"] for r in retries) == sorted(a["id"] for a in cut)
    assert {r["status"] for r in retries} == {"aired"}


LONG_BODY = " ".join(["Bà con chú ý lắng nghe thông báo của Ủy ban nhân dân xã."] * 8)


def _long_bulletin(cli) -> None:
    """A bulletin long enough (about half a minute) for two commands to run while it plays."""
    from stationkit import script_text

    (cli.root / "scripts" / "dai.md").write_text(
        script_text("dai", "normal", "nq57", LONG_BODY, "all"), encoding="utf-8"
    )
    cli("render", "dai", check=True)
    cli("approve", "dai", "--by", "Chủ tịch UBND xã", check=True)


def test_cancel_of_an_airing_on_air_says_so_and_stop_cuts_it(daemon_cli):
    cli = daemon_cli
    _long_bulletin(cli)
    cli("queue", "dai", "--zone", "xa", "--at", "2026-11-23 06:00", check=True)
    cli("queue", "nq57-mot", "--zone", "thon-a", "--at", "2026-11-23 06:05", check=True)
    [on_air] = rows(cli.root, "select id from airing where zone_id='xa'")
    [later] = rows(cli.root, "select id from airing where zone_id='thon-a'")
    cli.start_daemon()
    wait_for(lambda: statuses(cli.root)[on_air["id"]] == "playing")
    refused = cli("cancel", str(on_air["id"]), "--by", "Lan")
    assert refused.code == 1
    assert "is on air" in refused.err and "--stop" in refused.err
    assert "Traceback" not in refused.err
    assert rows(cli.root, "select * from as_run_log") == []
    stop = cli("cancel", str(on_air["id"]), "--stop", "--by", "Lan")
    assert stop.code == 0, stop.err
    assert "asked the running daemon to stop" in stop.out
    wait_for(lambda: statuses(cli.root)[on_air["id"]] == "interrupted", timeout=20)
    [entry] = rows(cli.root, "select * from as_run_log")
    assert entry["triggered_by"] == "operator:Lan"
    assert "stopped on air by Lan" in entry["reason"]
    assert entry["started_at"] and entry["ended_at"]
    assert not rows(cli.root, "select * from airing where parent_id=?", on_air["id"])
    manifest = (cli.root / "out" / "xa" / "manifest.jsonl").read_text(encoding="utf-8")
    assert '"event": "stopped"' in manifest
    echo = cli("cancel", str(later["id"]), "--by", "Lan")
    assert echo.code == 0, echo.err
    assert (
        f"cancelled airing {later['id']}: nq57-mot on thon-a (Cụm loa thôn A) at "
        "2026-11-23 06:05" in echo.out
    )


def test_kill_9_at_and_just_after_slot_instants(daemon_cli):
    """The crash instants that lost evidence: at the slot and a few milliseconds after,
    when outputs have started and (before) the 'playing' marks were not yet committed.
    Every start on an output has exactly one log entry; nothing fails on a name clash.
    ``bench/kill_at_slots.py`` runs fifty of these."""
    from killkit import kill_at_slots

    run = kill_at_slots(daemon_cli, [0.0, 0.02, 0.1, 0.5])
    assert run.problems == []
    assert run.kills == 4 and run.starts > 0
    assert run.outcomes["aired"] >= 12  # every slot's three airings aired, some on retry


def test_a_live_broadcast_cuts_what_plays_holds_what_is_due_and_yields_to_an_emergency(
    daemon_cli, tmp_path
):
    """Issue 16: live is above scheduled content and below emergencies. The daemon takes
    the broadcast on air: the bulletin playing in its zone is cut (and aired again in its
    session only after the broadcast), an emergency in another of its zones plays while
    the live share there is held, and every zone's entry says what went out."""
    from test_live import broadcasts, live_entries, tone

    cli = daemon_cli
    _long_bulletin(cli)
    [first] = [cli("queue", "dai", "--zone", "xa", "--at", "2026-11-23 06:00", check=True)]
    assert first.code == 0
    [cut_id] = [r["id"] for r in rows(cli.root, "select id from airing where zone_id='xa'")]
    cli.start_daemon("--sweep-seconds", "0.2")
    wait_for(lambda: statuses(cli.root)[cut_id] == "playing", timeout=60)
    mic = tone(tmp_path / "mic.wav", 120)
    speaker = cli.popen(
        "live",
        "--zones",
        "xa,thon-a",
        "--input",
        str(mic),
        "--max-minutes",
        "0.3",
        "--by",
        "Chủ tịch UBND xã",
    )
    try:
        wait_for(lambda: any(b["state"] == "on-air" for b in broadcasts(cli.root)), timeout=60)
        r = cli("emergency", "bao-lu", "--zones", "thon-a", "--by", "Trực ban")
        assert r.code == 0 and "handed to the running daemon" in r.out, r.err
        out, err = speaker.communicate(timeout=90)
    finally:
        if speaker.poll() is None:
            speaker.kill()
            speaker.wait()
    assert speaker.returncode == 0, err
    assert "handed to the running daemon" in out
    [b] = broadcasts(cli.root)
    live_end = datetime.fromisoformat(b["ended_at"])
    cut = rows(cli.root, "select * from as_run_log where airing_id = ?", cut_id)
    assert [c["outcome"] for c in cut] == ["interrupted"]
    assert cut[0]["reason"] == f"interrupted by live broadcast {b['id']}"
    entries = {e["zone_id"]: e for e in live_entries(cli.root)}
    assert set(entries) == {"xa", "thon-a"}
    assert all(e["outcome"] == "aired" for e in entries.values()), entries
    held = [g for g in json.loads(entries["thon-a"]["dropouts"]) if g["kind"] == "emergency"]
    assert len(held) == 1 and held[0]["seconds"] > 1, entries["thon-a"]["dropouts"]
    assert entries["thon-a"]["relayed_seconds"] < entries["xa"]["relayed_seconds"]
    alert = rows(cli.root, "select * from as_run_log where bulletin_id='bao-lu'")
    assert [a["outcome"] for a in alert] == ["aired"] and alert[0]["zone_id"] == "thon-a"
    # The cut bulletin is aired again in its session, after the broadcast, not during it.
    retry = wait_for(
        lambda: rows(
            cli.root,
            "select * from airing where zone_id='xa' and id != ? and started_at is not null",
            cut_id,
        ),
        timeout=60,
    )
    assert datetime.fromisoformat(retry[0]["started_at"]) >= live_end - timedelta(seconds=0.5)


def test_kill_9_during_a_live_broadcast_is_logged_at_the_restart(daemon_cli, tmp_path):
    """The daemon dies (kill -9) while a live broadcast is on air: the speaker's command
    says so in one line and exits non-zero once the time-out is well past; the restarted
    daemon logs every zone of it ``interrupted`` (its end is not known), and the chain
    holds."""
    from test_live import broadcasts, live_entries, tone

    cli = daemon_cli
    daemon = cli.start_daemon("--sweep-seconds", "0.2")
    mic = tone(tmp_path / "mic.wav", 120)
    speaker = cli.popen(
        *("live", "--zones", "xa,thon-b", "--input", str(mic), "--max-minutes", "0.05"),
        *("--by", "Chủ tịch UBND xã"),
    )
    try:
        wait_for(lambda: any(b["state"] == "on-air" for b in broadcasts(cli.root)), timeout=60)
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait()
        _out, err = speaker.communicate(timeout=120)
    finally:
        if speaker.poll() is None:
            speaker.kill()
            speaker.wait()
    assert speaker.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "did not end live broadcast" in lines[0], err
    assert live_entries(cli.root) == []  # nothing is known yet
    cli.start_daemon("--sweep-seconds", "0.2")
    found = wait_for(lambda: len(live_entries(cli.root)) == 2, timeout=30)
    assert found
    entries = live_entries(cli.root)
    assert {e["zone_id"] for e in entries} == {"xa", "thon-b"}
    assert all(e["outcome"] == "interrupted" and "crash" in e["reason"] for e in entries)
    assert [b["state"] for b in broadcasts(cli.root)] == ["done"]
    assert cli("log", "verify").code == 0
