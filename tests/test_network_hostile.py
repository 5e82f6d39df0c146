"""Hostile traffic on the broker (issue 12), against a real Mosquitto on 127.0.0.1: the
station's mqtt output in this process, reference receivers as processes, and an
attacker holding the receivers' shared broker login."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from netkit import BROKER_USERS, Network, ReceiverProcess, events, make_network_station, mosquitto
from stationkit import rows

from broadcaster.engine.clock import SystemClock
from broadcaster.playout.base import PlayItem
from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.output import MqttOutput

POISON = b"[" * 6000  # a few kilobytes of nesting: RecursionError in json.loads


@pytest.fixture
def broker(tmp_path):
    with mosquitto(tmp_path / "mosquitto") as b:
        yield b


class Attacker:
    """A client with the receivers' shared broker account: it reads every command and
    publishes whatever it likes on any receiver's topics."""

    def __init__(self, broker) -> None:
        self.seen: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set("receivers", BROKER_USERS["receivers"])
        self.client.on_message = lambda _c, _u, m: self.seen.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe("loa/test-xa/#", qos=1)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def station_output(root: Path) -> MqttOutput:
    import yaml

    spec = yaml.safe_load((root / "schedules" / "station.yaml").read_text())["outputs"]["hamlets"]
    output = MqttOutput(
        "hamlets", {k: v for k, v in spec.items() if k != "type"}, root, SystemClock()
    )
    assert output.connected.wait(10)
    time.sleep(0.5)  # its subscriptions granted
    return output


def item(root: Path, airing_id: int, zone: str = "z1") -> PlayItem:
    r = rows(root, "select audio_path, audio_sha256, duration_seconds from rendition limit 1")[0]
    return PlayItem(
        airing_id=airing_id,
        zone_id=zone,
        bulletin_id="nq57-mot",
        audio_path=root / r["audio_path"],
        audio_sha256=r["audio_sha256"],
        duration_seconds=r["duration_seconds"],
        scheduled_at=datetime.now(UTC),
        priority="normal",
    )


def test_a_deeply_nested_report_neither_stops_the_station_nor_is_counted(cli, broker):
    """``[[[[…`` on a report topic killed the station's MQTT thread (RecursionError in
    paho's thread): every later airing failed with "no acknowledgement". Now it is
    ignored, counted as malformed, and the next airing airs."""
    net = Network.make({"z1": 2})
    root, receivers_file = make_network_station(cli.root, net, broker)
    receivers = ReceiverProcess(receivers_file)
    attacker = Attacker(broker)
    output = station_output(root)
    try:
        for kind in ("ack", "done", "error"):
            attacker.publish(f"loa/test-xa/z1/z1-r1/{kind}", POISON)
        attacker.publish("loa/test-xa/z1/z1-r1/ack", b"\xff\xfe" + b"{" * 20_000)
        time.sleep(0.5)
        result = output.start(item(root, 9001)).wait(30)
        assert result is not None and result.ok, result
        assert {o.outcome for o in result.receivers} == {"played"}
        assert output._loop.is_alive()
        assert output.health.ignored_reports["malformed"] >= 4
        assert output.health.loop_restarts == 0
    finally:
        output.close()
        attacker.close()
        receivers.stop()
    health = json.loads((root / "state" / "mqtt-hamlets.json").read_text())
    assert health["ignored_reports"]["malformed"] >= 4


def test_forged_and_replayed_reports_for_an_offline_receiver_do_not_make_it_aired(cli, broker):
    """With the receivers' shared login an attacker forged ``ack``/``done`` for an
    offline receiver and the airing was logged aired with ``z1-r2=played``. Reports are
    now signed per receiver: unsigned, wrongly signed, another receiver's, and a replay
    of z1-r2's genuine reports of an earlier airing are all ignored (and counted)."""
    net = Network.make({"z1": 2})
    root, receivers_file = make_network_station(cli.root, net, broker)
    attacker = Attacker(broker)
    output = station_output(root)
    both = ReceiverProcess(receivers_file)
    try:
        first = output.start(item(root, 9100)).wait(30)
        assert first is not None and first.ok
        time.sleep(0.3)
        captured = {
            t.rsplit("/", 1)[-1]: p
            for t, p in attacker.seen
            if t.startswith("loa/test-xa/z1/z1-r2/") and t.endswith(("/ack", "/done"))
        }
        assert set(captured) == {"ack", "done"}
        both.stop()
        only_r1 = ReceiverProcess(receivers_file, ["z1-r1"])  # z1-r2 is offline now
        try:
            playback = output.start(item(root, 9101))
            time.sleep(0.3)
            now = time.time_ns() // 1_000_000
            fields = {"airing_id": 9101, "started_at": now, "counter": 1}
            done = {
                "airing_id": 9101,
                "started_at": now,
                "played_ms": 1000,
                "completed": True,
                "reason": "",
            }
            r1_key = bytes.fromhex(net.keys["z1-r1"])
            forgeries = [
                ("ack", protocol.report("ack", "z1-r2", now, **fields)),  # v1-style, unsigned
                ("done", protocol.report("done", "z1-r2", now, **done)),
                ("ack", protocol.report("ack", "z1-r2", now, secrets.token_bytes(32), 1, **fields)),
                ("done", protocol.report("done", "z1-r2", now, r1_key, 2, **done)),  # r1's key
                # z1-r2's own genuine reports, replayed (for the earlier airing, then edited)
                ("ack", captured["ack"]),
                ("done", captured["done"]),
                ("done", captured["done"].replace(b'"airing_id": 9100', b'"airing_id": 9101')),
            ]
            for kind, payload in forgeries:
                attacker.publish(f"loa/test-xa/z1/z1-r2/{kind}", payload)
            result = playback.wait(30)
        finally:
            only_r1.stop()
    finally:
        output.close()
        attacker.close()
    assert result is not None and not result.ok
    verdicts = {o.receiver: o.outcome for o in result.receivers}
    assert verdicts == {"z1-r1": "played", "z1-r2": "no-ack"}, result
    assert result.reason.startswith("no acknowledgement from z1-r2")
    ignored = output.health.ignored_reports
    assert ignored["unsigned"] == 2 and ignored["bad-signature"] >= 3, ignored
    assert ignored["replayed"] >= 2 or ignored["bad-signature"] >= 4, ignored


def test_a_poisoned_command_is_acknowledged_dropped_and_reported_not_redelivered(cli, broker):
    """The broker redelivered a poisoned command at every restart of the receiver, which
    died on it each time. Now it is refused as malformed (reported, logged), the broker
    has its acknowledgement, and the receiver plays the next genuine command."""
    net = Network.make({"z1": 1})
    root, receivers_file = make_network_station(cli.root, net, broker)
    attacker = Attacker(broker)
    output = station_output(root)
    receiver = ReceiverProcess(receivers_file)
    receiver.stop()  # its persistent session now holds commands while it is away
    try:
        attacker.publish("loa/test-xa/z1/z1-r1/cmd", POISON)
        attacker.publish("loa/test-xa/z1/z1-r1/cmd", b'{"sig": "' + b"\\u" * 3000 + b'"}')
        receiver = ReceiverProcess(receivers_file)
        result = output.start(item(root, 9200)).wait(30)
        assert result is not None and result.ok, result
        receiver.stop()
        receiver = ReceiverProcess(receivers_file)  # nothing comes back to kill it
        result = output.start(item(root, 9201)).wait(30)
        assert result is not None and result.ok, result
    finally:
        receiver.stop()
        output.close()
        attacker.close()
    log = events(receivers_file.parent, "z1-r1")
    refused = [e for e in log if e["event"] == "rejected"]
    assert [e["code"] for e in refused] == ["malformed", "malformed"], refused
    assert [e["airing_id"] for e in log if e["event"] == "started"] == [9200, 9201]
    errors = [p for t, p in attacker.seen if t.endswith("/z1-r1/error")]
    assert len(errors) == 2 and all(json.loads(p)["code"] == "malformed" for p in errors)


def test_a_counter_from_the_future_is_refused_and_resync_repairs_a_receiver_ahead(cli, broker):
    """A command signed with a counter ten years ahead used to lock the receiver out for
    good. It is refused now (not spent); a counter a few minutes ahead (accepted: within
    the bound) is undone by the signed ``receivers resync``."""
    net = Network.make({"z1": 1})
    root, receivers_file = make_network_station(cli.root, net, broker)
    key = bytes.fromhex(net.keys["z1-r1"])
    attacker = Attacker(broker)
    receiver = ReceiverProcess(receivers_file)
    output = station_output(root)

    def volume(counter: int, level: int) -> bytes:
        now = time.time_ns() // 1_000_000
        return protocol.Command(
            type="volume",
            station="test-xa",
            zone="z1",
            receiver="z1-r1",
            counter=counter,
            issued_at=now,
            expires_at=now + 30_000,
            volume=level,
        ).signed_payload(key)

    try:
        future = (time.time_ns() // 1000) + 10 * 365 * 86_400 * 10**6
        attacker.publish("loa/test-xa/z1/z1-r1/cmd", volume(future, 11))
        result = output.start(item(root, 9300)).wait(30)
        assert result is not None and result.ok, result  # the station's next command plays

        ahead = (time.time_ns() // 1000) + 5 * 60 * 10**6  # five minutes: within the bound
        attacker.publish("loa/test-xa/z1/z1-r1/cmd", volume(ahead, 12))
        time.sleep(0.5)
        assert cli("receivers", "volume", "33", "--zone", "z1").code == 0
        time.sleep(0.5)
        assert cli("receivers", "resync", "--zone", "z1").code == 0
        time.sleep(0.5)
        assert cli("receivers", "volume", "44", "--zone", "z1").code == 0
        time.sleep(0.8)
    finally:
        output.close()
        receiver.stop()
        attacker.close()
    log = events(receivers_file.parent, "z1-r1")
    refused = [e["code"] for e in log if e["event"] == "rejected"]
    assert refused == ["counter-ahead", "replayed"], refused
    assert [e["volume"] for e in log if e["event"] == "volume"] == [12, 44]
    assert any(e["event"] == "resynced" for e in log)


def test_a_dead_network_loop_is_restarted_and_alarmed(cli, broker):
    """Whatever kills the station's network loop (here: a handler bug let through on
    purpose), it is restarted at once, the airing after it airs, and the alarm is in
    the log and in ``broadcaster receivers``."""
    net = Network.make({"z1": 1})
    root, receivers_file = make_network_station(cli.root, net, broker)
    receiver = ReceiverProcess(receivers_file)
    attacker = Attacker(broker)
    output = station_output(root)
    try:
        handler = output.client.on_message

        def broken(*_a):
            output.client.on_message = handler  # fail once, like a bug on one message
            raise RuntimeError("handler bug")

        output.client.suppress_exceptions = False
        output.client.on_message = broken
        deadline = time.monotonic() + 10
        while output.health.loop_restarts == 0 and time.monotonic() < deadline:
            attacker.publish("loa/test-xa/z1/z1-r1/ack", b"{}")  # until it is subscribed
            time.sleep(0.3)
        assert output.health.loop_restarts == 1
        assert output.connected.wait(10)
        time.sleep(1.0)  # its subscriptions renewed
        result = output.start(item(root, 9400)).wait(30)
        assert result is not None and result.ok, result
        time.sleep(1.5)  # the health file is written at most once a second
        listing = cli("receivers", "--wait", "2")
    finally:
        output.close()
        attacker.close()
        receiver.stop()
    assert listing.code == 0, listing.err
    assert (
        "ALARM hamlets: the station's network loop died and was restarted 1 time(s)" in listing.out
    )
    assert "RuntimeError: handler bug" in listing.out
