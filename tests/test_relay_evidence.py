"""The evidence of relays (issue 16, part 2) in the store: the log's relay fields are
hashed only when set (entries written before them verify as they did), editing a relay's
seconds or dropouts breaks the chain, a zone's window is begun once and closed once, and
a simulation on a station with relays writes no relay entry and opens no stream."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simkit import sim_root
from stationkit import Cli, rows

from broadcaster.store import aslog, relays
from broadcaster.store.chain import GENESIS, entry_hash
from broadcaster.store.db import Database

T0 = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # 05:30 on Monday 23/11, station time


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'station.db'}")
    db.create()
    return db


def _relay_outcome(**extra: object) -> aslog.Outcome:
    fields: dict = {
        "zone_id": "xa",
        "bulletin_id": "relay:vov1-sang",
        "outcome": "aired",
        "triggered_by": "daemon:relay",
        "scheduled_at": T0,
        "started_at": T0,
        "ended_at": T0 + timedelta(minutes=30),
        "week": "2026-W48",
        "origin": "relay",
        "duration_seconds": 1800,
        "source": "vov1",
        "relayed_seconds": 1760.5,
        "dropouts": json.dumps([{"at": T0.isoformat(), "seconds": 39.5, "kind": "down"}]),
    }
    fields.update(extra)
    return aslog.Outcome(**fields)


def test_a_bulletin_entry_hashes_as_before_the_relay_fields(tmp_path: Path):
    db = _db(tmp_path)
    with db.write() as s:
        entry = aslog.append(
            s,
            aslog.Outcome(
                zone_id="xa", bulletin_id="nq57-mot", outcome="aired", triggered_by="daemon"
            ),
            T0,
        )
        values = {
            n: getattr(entry, n)
            for n in aslog.HASHED_FIELDS
            if n not in ("source", "relayed_seconds", "dropouts")
        }
        for name in aslog.OPTIONAL_FIELDS:
            if not values.get(name):
                values.pop(name, None)
        assert entry.entry_hash == entry_hash(GENESIS, values)


def test_editing_a_relay_entry_breaks_the_chain(tmp_path: Path):
    db = _db(tmp_path)
    with db.write() as s:
        aslog.append(s, _relay_outcome(), T0 + timedelta(minutes=30))
        aslog.append(
            s, _relay_outcome(zone_id="thon-a", outcome="failed"), T0 + timedelta(minutes=30)
        )
    with db.read() as s:
        assert aslog.verify(s).ok
    for column, value in (("relayed_seconds", 1800.0), ("dropouts", ""), ("source", "dai-tinh")):
        conn = sqlite3.connect(tmp_path / "station.db")
        original = conn.execute(f"select {column} from as_run_log where seq=1").fetchone()[0]
        conn.execute(f"update as_run_log set {column}=? where seq=1", (value,))
        conn.commit()
        with db.read() as s:
            report = aslog.verify(s)
        assert report.problems == ["entry 1: content edited (hash mismatch)"], column
        conn.execute(f"update as_run_log set {column}=? where seq=1", (original,))
        conn.commit()
        conn.close()


def test_a_window_is_begun_once_and_closed_once(tmp_path: Path):
    db = _db(tmp_path)
    window = {
        "zone_id": "xa",
        "relay_id": "vov1-sang",
        "source_id": "vov1",
        "window_start": T0,
        "window_end": T0 + timedelta(minutes=30),
    }
    with db.write() as s:
        run, adopted = relays.begin(s, **window, started_at=T0)
        assert run is not None and not adopted
        run_id = run.id
    with db.write() as s:  # a restart inside the window finds it on air: it relays on
        again, adopted = relays.begin(s, **window, started_at=T0 + timedelta(minutes=5))
        assert again is not None and again.id == run_id and adopted
    with db.read() as s:
        assert [r.id for r in relays.playing(s)] == [run_id]
    with db.write() as s:
        assert relays.close(s, run_id, _relay_outcome(), T0 + timedelta(minutes=30)) is not None
    with db.write() as s:
        assert relays.close(s, run_id, _relay_outcome(), T0 + timedelta(minutes=30)) is None
        assert relays.begin(s, **window, started_at=T0) == (None, False)
    with db.read() as s:
        assert relays.playing(s) == []
        assert relays.closed_since(s, T0) == {("xa", "vov1-sang", T0)}
        assert aslog.verify(s).count == 1


EXTRA = """\
sources:
  - {id: vov1, name: VOV1, url: "http://127.0.0.1:9/vov1.mp3"}
relays:
  - {id: vov1-sang, source: vov1, zones: all, days: [mon], start: "05:30", end: "05:45"}
"""


def test_a_simulation_with_relays_writes_no_relay_entry(cli: Cli):
    path = cli.root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", EXTRA + "requirements:\n", 1), "utf-8")
    r = cli("simulate", "--from", "2026-11-23", "--to", "2026-11-23", "--json")
    assert r.code == 0, r.err
    assert rows(sim_root(cli.root), "select * from as_run_log where origin='relay'") == []
    assert rows(sim_root(cli.root), "select * from relay_run") == []
    assert rows(cli.root, "select * from as_run_log") == []  # the station's own log untouched


def _desk(cli: Cli, now: datetime):
    """The daemon's relay desk on the test station at ``now`` (a fixed clock)."""
    from broadcaster.app import schedule
    from broadcaster.app.context import StationContext
    from broadcaster.engine.relaying import RelayDesk

    class Fixed:
        kind = "shifted:+0s"

        def now(self) -> datetime:
            return now

    path = cli.root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    if "sources:" not in text:
        path.write_text(text.replace("requirements:\n", EXTRA + "requirements:\n", 1), "utf-8")
    ctx = StationContext.open(cli.root, clock=Fixed())
    engine = schedule.engine_for(ctx, ctx.outputs(ctx.clock))
    return ctx, RelayDesk(engine, ctx.clock)


def test_a_crash_in_a_window_is_found_at_the_restart(cli: Cli):
    """A run left 'playing' by a crash: closed 'interrupted' once its window is over;
    resumed (adopted) while it is open, its entry then saying what went before is not
    counted."""
    ctx, desk = _desk(cli, T0 + timedelta(minutes=20))  # 05:50: the window is over
    with ctx.db.write() as s:
        relays.begin(
            s,
            zone_id="xa",
            relay_id="vov1-sang",
            source_id="vov1",
            window_start=T0,
            window_end=T0 + timedelta(minutes=15),
            started_at=T0,
        )
    assert desk.recover(T0 + timedelta(minutes=20)) == 1
    entry = rows(cli.root, "select * from as_run_log where origin='relay'")
    assert [(e["zone_id"], e["outcome"], e["relayed_seconds"]) for e in entry] == [
        ("xa", "interrupted", 0.0)
    ]
    assert "crash or power loss" in entry[0]["reason"]

    ctx, desk = _desk(cli, T0 + timedelta(minutes=14, seconds=58))  # 2 s left in it
    with ctx.db.write() as s:
        relays.begin(
            s,
            zone_id="thon-a",
            relay_id="vov1-sang",
            source_id="vov1",
            window_start=T0,
            window_end=T0 + timedelta(minutes=15),
            started_at=T0,
        )
    assert desk.recover(desk.clock.now()) == 0  # open: left for the sweep
    assert desk.sweep(desk.clock.now()) == 2  # thon-a adopted, thon-b begun; xa is closed
    assert all(r.adopted == (z == "thon-a") for (z, _r, _s), r in desk.running.items())
    desk.stop("the station daemon was stopped")
    entries = {e["zone_id"]: e for e in rows(cli.root, "select * from as_run_log")}
    assert set(entries) == {"xa", "thon-a", "thon-b"}
    assert entries["thon-a"]["outcome"] == "interrupted"
    assert "crash or power loss" in entries["thon-a"]["reason"]
    assert "crash" not in entries["thon-b"]["reason"]
    assert "the station daemon was stopped" in entries["thon-b"]["reason"]


def test_check_warns_of_a_relay_on_an_output_that_cannot_carry_it(cli: Cli):
    from types import SimpleNamespace

    from netkit import Network, make_network_station

    make_network_station(cli.root, Network.make({"z1": 1}), SimpleNamespace(port=1883))
    path = cli.root / "schedules" / "station.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", EXTRA + "requirements:\n", 1), "utf-8")
    r = cli("check")
    assert "zone 'z1' takes this relay, but its output 'hamlets' (mqtt) cannot carry" in (
        r.out + r.err
    ), r.out + r.err
    assert "relays.0.zones" in r.out + r.err
