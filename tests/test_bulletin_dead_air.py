"""Dead air in a bulletin on air (issue 16, "silence on air"): the approved file's quiet
runs, measured by ffmpeg's decode and the relays' own detector, placed on the airing's
clock. Real ffmpeg, the real alerts' worker writing ``air_alert`` rows in a real station
database; the airings are real time (a few seconds)."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from stationkit import rows

from broadcaster.app.context import StationContext
from broadcaster.engine.bulletin_silence import BulletinDeadAir, decode, quiet_runs
from broadcaster.engine.clock import SystemClock
from broadcaster.engine.silence_alerts import SilenceAlerts

pytestmark = pytest.mark.realtime

QUIET = (1.0, 7.0)  # seconds of the file that are digital silence
MIN = 3.0


def _bulletin_with_a_hole(path: Path) -> Path:
    expr = f"if(between(t,{QUIET[0]},{QUIET[1]}),0,0.5*sin(2*PI*440*t))"
    subprocess.run(
        [
            *("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", f"aevalsrc='{expr}':s=22050:c=mono:d=8"),
            *("-c:a", "libmp3lame", "-b:a", "64k", str(path)),
        ],
        check=True,
    )
    return path


def test_the_quiet_runs_of_a_file_are_found_where_they_are(tmp_path):
    runs = quiet_runs(decode(_bulletin_with_a_hole(tmp_path / "b.mp3")), -50, MIN)
    [(offset, seconds)] = runs
    assert abs(offset - QUIET[0]) < 0.3 and abs(seconds - (QUIET[1] - QUIET[0])) < 0.4, runs
    assert quiet_runs(decode(tmp_path / "b.mp3"), -50, 7.0) == []  # shorter than that minimum


@pytest.fixture
def ctx(station: Path):
    context = StationContext.open(station, clock=SystemClock())
    yield context
    context.close()


@pytest.fixture
def watched(ctx, tmp_path):
    """(the watch, the alerts' worker, the file with its hole); both stopped in the test."""
    clock = SystemClock()
    alerts = SilenceAlerts(ctx.db, ctx.station, ctx.root, clock, "test")
    yield (
        BulletinDeadAir(alerts, -50, MIN, clock),
        alerts,
        _bulletin_with_a_hole(tmp_path / "b.mp3"),
    )
    alerts.stop()


def test_dead_air_on_air_is_alerted_while_dead_and_cut_with_the_airing(ctx, watched):
    watch, alerts, audio = watched
    started = watch.clock.now()
    watch.on_air(7, "xa", "nq57-mot", audio, "a" * 64, started)
    watch.on_air(8, "thon-a", "nq57-mot", audio, "a" * 64, started)  # the same audio
    time.sleep(QUIET[0] + MIN + 1.0)  # the silence has lasted the minimum on air
    ongoing = rows(ctx.root, "select zone_id, what, source, ended_at from air_alert order by 1")
    # The emergency cuts zone xa in the middle of the silence; thon-a airs to the end.
    watch.off_air(7, started + timedelta(seconds=QUIET[0] + MIN + 1.5))
    watch.off_air(8, started + timedelta(seconds=8))
    watch.stop()
    alerts.stop()
    assert [tuple(r) for r in ongoing] == [
        ("thon-a", "bulletin:nq57-mot", "airing 8", None),
        ("xa", "bulletin:nq57-mot", "airing 7", None),
    ]
    done = {r["zone_id"]: r for r in rows(ctx.root, "select * from air_alert")}
    assert set(done) == {"xa", "thon-a"}  # one alert each, raised once
    assert abs(done["xa"]["seconds"] - (MIN + 1.5)) < 0.4, dict(done["xa"])
    assert abs(done["thon-a"]["seconds"] - (QUIET[1] - QUIET[0])) < 0.4, dict(done["thon-a"])
    at = started + timedelta(seconds=QUIET[0])
    for row in done.values():
        assert row["ended_at"] is not None
        stored = datetime.fromisoformat(row["started_at"]).replace(tzinfo=UTC)
        assert abs((stored - at).total_seconds()) < 0.4, dict(row)


def test_a_bulletin_cut_before_its_silence_lasted_the_minimum_raises_nothing(ctx, watched):
    watch, alerts, audio = watched
    started = watch.clock.now()
    watch.on_air(9, "xa", "nq57-mot", audio, "b" * 64, started)
    time.sleep(1.0)
    watch.off_air(9, started + timedelta(seconds=QUIET[0] + MIN - 1))
    time.sleep(MIN + 0.5)  # its alert would have been due by now
    watch.stop()
    alerts.stop()
    assert rows(ctx.root, "select * from air_alert") == []
