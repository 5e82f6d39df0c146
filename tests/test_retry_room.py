"""A retry that cannot fit in its session (issue 11): an airing cut short near the end of
its session is not booked again past the session's end, where it and the airings after
it could only be logged 'missed' for a grace they never had; make-ups go to later
sessions instead. Through the CLI and the real engine on the simulated clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from simkit import sim_root
from sqlmodel import select
from stationkit import rows

from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, Origin, Priority
from broadcaster.core.timeutil import parse_local_datetime
from broadcaster.engine.planning import new_row
from broadcaster.engine.station_engine import StationEngine
from broadcaster.store.tables import LogEntry


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_retry_with_no_room_left_is_not_booked_past_its_session(cli):
    """nq57-mot (6 s) is queued on xa at 06:09:50 (the 06:00 session ends at 06:10); an
    emergency at 06:09:52 cuts it, and the alert itself plays until about 06:09:58. A
    retry after it would end past 06:10: none is booked in that session, nothing on xa
    is logged missed for a grace, and a make-up of the requirement airs later."""
    cli(
        "queue",
        "nq57-mot",
        "--zone",
        "xa",
        "--at",
        "2026-11-23 06:09:50",
        "--by",
        "Trực ban",
        check=True,
    )
    r = cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-23",
        "--emergency",
        "bao-lu@2026-11-23 06:09:52",
    )
    assert r.code == 0, r.err
    root = sim_root(cli.root)
    log = rows(root, "select * from as_run_log where zone_id='xa' order by seq")
    cut = [e for e in log if e["outcome"] == "interrupted"]
    assert [e["bulletin_id"] for e in cut] == ["nq57-mot"], log
    assert not [e for e in log if "grace" in e["reason"]], log
    for a in rows(root, "select * from airing where zone_id='xa'"):
        if a["origin"] == "retry":
            began = _utc(a["started_at"] or a["scheduled_at"])
            end = began + timedelta(seconds=a["duration_seconds"])
            assert end <= _utc(a["window_end"]), dict(a)  # it played within its session
    later = rows(
        root,
        "select * from airing where zone_id='xa' and origin='makeup' and status='aired'"
        " and scheduled_at >= '2026-11-23 03:10'",
    )
    assert later, rows(
        root, "select id, bulletin_id, origin, status, scheduled_at from airing where zone_id='xa'"
    )


def test_an_airing_the_session_ran_out_for_is_missed_for_that_reason(bare_station, tmp_path):
    """An airing booked at 06:09:30 in the session that ends at 06:10, still not started
    at 06:10:05: its 20 minutes of grace had not run out, the session had. The log says
    so, not "grace 20 min" (issue 11: the 13th airing of an overfull session)."""
    ctx = StationContext.open(bare_station, f"sqlite:///{tmp_path / 'own.db'}")
    tz = ctx.station.tz
    at = parse_local_datetime("2026-11-23 06:09:30", tz)
    airing = Airing(
        None,
        "xa",
        "nq57-mot",
        at,
        parse_local_datetime("2026-11-23 06:10", tz),
        "sang",
        Priority.NORMAL,
        Origin.PLAN,
        duration_seconds=30.0,
    )
    row = new_row(airing, ctx.bulletin("nq57-mot"), ctx.station, at - timedelta(days=1))
    with ctx.db.write() as s:
        s.add(row)
        s.flush()
        airing_id = row.id
    engine = StationEngine(ctx.root, ctx.station, ctx.db, {})
    assert engine.begin(airing_id, parse_local_datetime("2026-11-23 06:10:05", tz)) is None
    with ctx.db.read() as s:
        entry = s.exec(select(LogEntry).where(LogEntry.airing_id == airing_id)).one()
    assert entry.outcome == "missed"
    assert "grace" not in entry.reason
    assert "end of its session at 2026-11-23 06:10" in entry.reason, entry.reason
    ctx.close()
