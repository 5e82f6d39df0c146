"""Relays carried by MQTT receivers themselves (protocol version 3), through the real
``broadcaster run`` and real reference receivers, against a real Mosquitto and a real
Icecast carrying a test "VOV" (ffmpeg's sine) on 127.0.0.1, in one one-minute window
reached by the daemon's shifted clock:

- zone ``z1``: both receivers get a signed ``relay``, pull the stream themselves (the
  station pulls nothing), report start and end: the entry is ``aired`` with their
  seconds, each receiver's verdict and seconds are recorded;
- zone ``z2``: one receiver's process is killed mid-window: its part is recorded as not
  relayed (``no-end``, 0 s) and the window ``failed``;
- forged reports (unsigned, signed by another receiver, absurd seconds) change nothing
  and are counted; each receiver stops at the window's end by its own clock; no ffmpeg
  is left behind.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from netkit import (
    BROKER_USERS,
    Network,
    ReceiverProcess,
    events,
    icecast,
    make_network_station,
    mosquitto,
    stop,
)
from relaykit import probe_seconds, upstreams
from stationkit import VN, Cli, offset_to, rows
from test_relay_daemon import DaemonClock, _pulls_of

from broadcaster.playout.mqtt import protocol

pytestmark = pytest.mark.realtime

WINDOW = (datetime(2026, 11, 23, 5, 30, tzinfo=VN), datetime(2026, 11, 23, 5, 31, tzinfo=VN))


def _parent(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return 0


def _add_relay(root, port: int) -> None:
    path = root / "schedules" / "station.yaml"
    extra = f"""\
sources:
  - {{id: vov1, name: VOV1, url: "http://127.0.0.1:{port}/vov1.mp3"}}
relays:
  - {{id: vov1-sang, source: vov1, zones: [z1, z2], days: [mon], start: "05:30", end: "05:31", min_share: 0.5}}
"""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", extra + "requirements:\n", 1), "utf-8")


def _forge(broker_port: int, net: Network, field_dir) -> None:
    """What a client holding the station's broker login can publish: an unsigned end,
    one signed by another receiver's key, and one with the right key claiming more
    seconds than the window has."""
    import paho.mqtt.client as mqtt

    counter = next(
        e["counter"]
        for e in events(field_dir, "z1-r1")
        if e["event"] == "command" and e["type"] == "relay"
    )
    now = time.time_ns() // 1_000_000
    common = {"relay_id": "vov1-sang", "counter": counter, "started_at": now, "ended_at": now}
    unsigned = protocol.report("relay-ended", "z1-r1", now, None, 0, relayed_ms=60_000, **common)
    other_key = bytes.fromhex(net.keys["z1-r2"])
    wrong = protocol.report(
        "relay-ended", "z1-r1", now, other_key, time.time_ns() // 1000, relayed_ms=60_000, **common
    )
    key = bytes.fromhex(net.keys["z1-r1"])
    absurd = protocol.report(
        "relay-ended", "z1-r1", now, key, time.time_ns() // 1000, relayed_ms=10**9, **common
    )
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    c.username_pw_set("station", BROKER_USERS["station"])
    c.connect("127.0.0.1", broker_port)
    c.loop_start()
    try:
        for payload in (unsigned, wrong, absurd):
            c.publish("loa/test-xa/z1/z1-r1/relay-ended", payload, qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def test_receivers_relay_a_window_report_it_and_a_killed_one_counts_as_not_relayed(
    cli: Cli, tmp_path
):
    with (
        mosquitto(tmp_path / "mosquitto") as broker,
        icecast() as server,
        upstreams(server.port, "/vov1.mp3"),
    ):
        net = Network.make({"z1": 2, "z2": 2})
        root, receivers_file = make_network_station(
            cli.root, net, broker, start_timeout=5, per_day=False
        )
        _add_relay(root, server.port)
        assert cli("check").code == 0
        field_dir = receivers_file.parent
        steady = ReceiverProcess(receivers_file, only=["z1-r1", "z1-r2", "z2-r1"])
        doomed = ReceiverProcess(receivers_file, only=["z2-r2"])
        daemon = None
        try:
            began = time.monotonic()
            cli.subprocess("--version", check=True, real=True)
            lead = max(8.0, 3 * (time.monotonic() - began))
            start = WINDOW[0].replace(tzinfo=None) - timedelta(seconds=lead)
            cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to(start.isoformat())
            clock = DaemonClock(cli.env["BROADCASTER_CLOCK_OFFSET"])
            daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
            clock.wait_until(WINDOW[0] + timedelta(seconds=8))
            assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
            # Each receiver process pulls by itself, once for all its receivers: the
            # steady one's three share a pull, the doomed one has its own; none by the
            # station.
            pulls = _pulls_of(server.port)
            parents = [_parent(p) for p in pulls]
            assert set(parents) == {steady.proc.pid, doomed.proc.pid}, (pulls, parents)
            assert len(pulls) <= 3, parents  # not one per receiver (a reconnect may overlap)
            _forge(broker.port, net, field_dir)
            clock.wait_until(WINDOW[0] + timedelta(seconds=25))
            doomed.kill()
            clock.wait_until(WINDOW[1] + timedelta(seconds=2))
            deadline = time.monotonic() + 30
            found = []
            while len(found) < 2:
                assert time.monotonic() < deadline, found
                time.sleep(0.3)
                found = rows(root, "select * from as_run_log where origin='relay' order by seq")
            assert _pulls_of(server.port) == []  # every receiver stopped at the end
        finally:
            if daemon is not None:
                stop(daemon)
            steady.stop()
            doomed.kill()
    log = {e["zone_id"]: dict(e) for e in found}
    window_end_wall = (WINDOW[1] - clock.offset).astimezone(UTC)

    z1 = log["z1"]
    assert z1["outcome"] == "aired", z1
    assert z1["bulletin_id"] == "relay:vov1-sang" and z1["source"] == "vov1"
    assert z1["receivers"] == "z1-r1=relayed,z1-r2=relayed", z1
    assert 45 <= z1["relayed_seconds"] <= 60.5, z1
    details = rows(root, "select * from receiver_report where log_seq=? order by 4", z1["seq"])
    assert [(d["receiver_id"], d["outcome"]) for d in details] == [
        ("z1-r1", "relayed"),
        ("z1-r2", "relayed"),
    ]
    assert all(45 <= d["played_seconds"] <= 60.5 for d in details), [dict(d) for d in details]
    assert min(d["played_seconds"] for d in details) == z1["relayed_seconds"]

    z2 = log["z2"]
    assert z2["outcome"] == "failed", z2
    assert z2["receivers"] == "z2-r1=relayed,z2-r2=no-end", z2
    assert z2["relayed_seconds"] == 0, z2
    assert "no end-of-relay report from z2-r2" in z2["reason"], z2["reason"]
    lost = rows(
        root, "select * from receiver_report where log_seq=? and receiver_id='z2-r2'", z2["seq"]
    )
    assert [(d["outcome"], d["played_seconds"]) for d in lost] == [("no-end", 0.0)]

    # What each surviving receiver sounded: the window, recorded into its played folder,
    # ended by its own clock at the window's end.
    for receiver in ("z1-r1", "z1-r2", "z2-r1"):
        log_lines = events(field_dir, receiver)
        kinds = [e["event"] for e in log_lines if e["event"].startswith("relay-")]
        assert kinds == ["relay-accepted", "relay-started", "relay-ended"], kinds
        ended = next(e for e in log_lines if e["event"] == "relay-ended")
        at = datetime.fromtimestamp(ended["at"] / 1000, UTC)
        assert abs((at - window_end_wall).total_seconds()) < 2, (receiver, at)
        wav = next((field_dir / "played" / receiver).glob("*-relay-vov1-sang.wav"))
        assert 50 <= probe_seconds(wav) <= 60.5, (receiver, probe_seconds(wav))

    # The forged reports were ignored and counted.
    health = json.loads((root / "state" / "mqtt-hamlets.json").read_text(encoding="utf-8"))
    ignored = health["ignored_reports"]
    assert ignored.get("unsigned", 0) >= 1 and ignored.get("bad-signature", 0) >= 1, health
    assert ignored.get("malformed", 0) >= 1, health
    verify = cli("log", "verify")
    assert verify.code == 0, verify.out + verify.err
