"""Dead air heard by MQTT receivers in a relay they pull themselves (issue 16, "the levels
receivers report"; protocol version 4), through the real ``broadcaster run``, a real
reference receiver, Mosquitto and Icecast on 127.0.0.1. The upstream "VOV" (ffmpeg's
aevalsrc) carries a tone, then 15 s of digital silence, then the tone again, inside a
one-minute window reached by the daemon's shifted clock.

- the station's ``relay`` tells the receiver what dead air is (the station's threshold
  and minimum); the receiver says ``relay-silence`` while the air is still dead and lists
  the span as a ``silence`` dropout once it is over;
- the station raises the alert for that receiver (an ``air_alert`` row, closed with its
  length), the window's entry lists the silence, and the dead air is not counted as
  relayed (by the receiver's ``relayed_ms``, hence the entry's seconds).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
from netkit import Network, ReceiverProcess, events, icecast, make_network_station, mosquitto, stop
from stationkit import Cli, offset_to, rows
from test_relay_daemon import DaemonClock, _pulls_of
from test_silence_daemon import LEAD, SILENT, WINDOW, _upstream

pytestmark = pytest.mark.realtime


def _add_relay_with_silence(root, port: int) -> None:
    path = root / "schedules" / "station.yaml"
    extra = f"""\
sources:
  - {{id: vov1, name: VOV1, url: "http://127.0.0.1:{port}/vov1.mp3"}}
relays:
  - {{id: vov1-sang, source: vov1, zones: [z1], days: [mon], start: "05:30", end: "05:31", min_share: 0.5}}
silence:
  threshold_dbfs: -50
  min_seconds: 10
"""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", extra + "requirements:\n", 1), "utf-8")


def test_dead_air_a_receiver_hears_is_alerted_listed_and_not_counted(cli: Cli, tmp_path):
    upstream = None
    with mosquitto(tmp_path / "mosquitto") as broker, icecast() as server:
        net = Network.make({"z1": 1})
        root, receivers_file = make_network_station(
            cli.root, net, broker, start_timeout=5, per_day=False
        )
        _add_relay_with_silence(root, server.port)
        assert cli("check").code == 0
        field_dir = receivers_file.parent
        receiver = ReceiverProcess(receivers_file)
        daemon = None
        try:
            began = time.monotonic()
            cli.subprocess("--version", check=True, real=True)
            lead = max(10.0, 3 * (time.monotonic() - began))
            start = WINDOW[0].replace(tzinfo=None) - timedelta(seconds=lead)
            cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to(start.isoformat())
            clock = DaemonClock(cli.env["BROADCASTER_CLOCK_OFFSET"])
            daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
            clock.wait_until(WINDOW[0] - timedelta(seconds=LEAD))
            upstream = _upstream(server.port)
            upstream_t0 = clock.now()
            # While the air is dead, the alert is already there (the silence is not over).
            clock.wait_until(upstream_t0 + timedelta(seconds=SILENT[0] + 13))
            ongoing = rows(root, "select * from air_alert")
            clock.wait_until(WINDOW[1] + timedelta(seconds=2))
            deadline = time.monotonic() + 30
            while not rows(root, "select seq from as_run_log where origin='relay'"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert _pulls_of(server.port) == []  # the receiver stopped at the end
        finally:
            if upstream is not None:
                stop(upstream)
            if daemon is not None:
                stop(daemon)
            receiver.stop()
    err = daemon.stderr.read() if daemon is not None and daemon.stderr else ""

    said = [e for e in events(field_dir, "z1-r1") if e["event"].startswith("relay-")]
    assert said, (events(field_dir, "z1-r1")[-6:], err[-3000:])
    kinds = [e["event"] for e in said]
    time.sleep(0.5)
    out = [receiver.lines.get_nowait() for _ in range(receiver.lines.qsize())]
    assert kinds == ["relay-accepted", "relay-started", "relay-silence", "relay-ended"], (
        kinds,
        out,
    )
    assert said[-1]["dead_air_ms"] >= 12_000, said[-1]

    [entry] = rows(root, "select * from as_run_log where origin='relay'")
    assert entry["outcome"] == "aired", (dict(entry), err)
    gaps = json.loads(entry["dropouts"])
    silences = [g for g in gaps if g["kind"] == "silence"]
    assert len(silences) == 1 and silences[0]["receiver"] == "z1-r1", gaps
    assert 13 <= silences[0]["seconds"] <= 17, silences
    at = datetime.fromisoformat(silences[0]["at"])
    expected = upstream_t0 + timedelta(seconds=SILENT[0])
    assert timedelta(seconds=-2) <= at - expected <= timedelta(seconds=6), (at, expected)
    # Dead air is not the programme: the receiver counted it out of what it relayed.
    assert entry["relayed_seconds"] <= 60 - 12, dict(entry)
    [played] = rows(root, "select * from receiver_report where log_seq=?", entry["seq"])
    assert played["played_seconds"] == entry["relayed_seconds"]

    [alert] = rows(root, "select * from air_alert")
    assert alert["zone_id"] == "z1" and alert["what"] == "relay:vov1-sang (z1-r1)", dict(alert)
    assert alert["source"] == "vov1" and alert["ended_at"] is not None, dict(alert)
    assert alert["seconds"] == silences[0]["seconds"], (dict(alert), silences)
    assert cli("log", "verify").code == 0
    assert [(a["what"], a["ended_at"]) for a in ongoing] == [("relay:vov1-sang (z1-r1)", None)]
