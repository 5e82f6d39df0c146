"""Plays cued ahead of their slot, and emergency audio kept on the receivers.

Real Mosquitto (with passwords) on 127.0.0.1 and reference receivers as processes. The
assertions are about order and evidence (what started when, by the receiver's own log),
never about how fast this machine is.
"""

from __future__ import annotations

import time

import pytest
from netkit import (
    Listener,
    Network,
    ReceiverProcess,
    events,
    make_network_station,
    mosquitto,
    stop,
)
from stationkit import offset_to, rows

from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.audio_server import AudioServer


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def wait_for(predicate, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def by_airing(log: list[dict], event: str) -> dict[int, dict]:
    return {e["airing_id"]: e for e in log if e["event"] == event}


@pytest.fixture
def broker(tmp_path):
    with mosquitto(tmp_path / "mosquitto") as b:
        yield b


def test_receiver_starts_a_cued_play_at_its_start_holds_the_next_and_drops_a_stopped_one(
    cli, broker
):
    """A plays from its ``start_at``; B, cued for a moment while A still plays, waits for
    A to end instead of cutting it; C, stopped before its start, never plays. The audio
    is fetched once: B takes it from the cache."""
    net = Network.make({"z1": 1})
    root, receivers_file = make_network_station(cli.root, net, broker)
    key = bytes.fromhex(net.keys["z1-r1"])
    rendition = rows(root, "select audio_path, audio_sha256 from rendition")[0]
    audio = AudioServer("127.0.0.1", 0)
    audio.start()
    url = audio.publish(root / rendition["audio_path"], rendition["audio_sha256"])

    def play(counter: int, airing: int, start_at: int, duration_ms: int) -> bytes:
        now = wall_ms()
        return protocol.Command(
            type="play",
            station="test-xa",
            zone="z1",
            receiver="z1-r1",
            counter=counter,
            issued_at=now,
            expires_at=start_at + 60_000,
            airing_id=airing,
            url=url,
            sha256=rendition["audio_sha256"],
            duration_ms=duration_ms,
            deadline=start_at + 60_000,
            priority="normal",
            start_at=start_at,
        ).signed_payload(key)

    receiver = ReceiverProcess(receivers_file, pace=1)
    listener = Listener(broker)
    try:
        now = wall_ms()
        start = {1: now + 1500, 2: now + 2000, 3: now + 120_000}
        listener.send("z1-r1", play(10, 1, start[1], 2500))
        listener.send("z1-r1", play(11, 2, start[2], 500))
        listener.send("z1-r1", play(12, 3, start[3], 500))
        stop_c = protocol.Command(
            type="stop",
            station="test-xa",
            zone="z1",
            receiver="z1-r1",
            counter=13,
            issued_at=wall_ms(),
            expires_at=wall_ms() + 30_000,
            airing_id=3,
        )
        listener.send("z1-r1", stop_c.signed_payload(key))
        done: dict[int, dict] = {}
        while 2 not in done:
            report = listener.next("done")
            done[report["airing_id"]] = report
    finally:
        listener.close()
        receiver.stop()
        audio.close()

    log = events(receivers_file.parent, "z1-r1")
    started = by_airing(log, "started")
    assert set(started) == {1, 2}
    assert set(by_airing(log, "cued")) >= {1, 2}
    assert started[1]["started_at"] >= start[1] and started[1]["cued"] is True
    assert started[2]["started_at"] >= start[2]
    # A was not cut by B: it completed, and B started only once A had ended.
    assert done[1]["completed"] is True
    assert started[2]["started_at"] >= by_airing(log, "done")[1]["at"]
    assert done[2]["completed"] is True
    # C was dropped unplayed, and the station was told so.
    assert done[3]["completed"] is False and done[3]["played_ms"] == 0
    assert done[3]["started_at"] is None
    assert 3 in by_airing(log, "cancelled")
    # One download for both plays of the same audio.
    assert started[1]["downloaded"] is True and started[2]["downloaded"] is False


def test_daemon_cues_airings_ahead_withdraws_a_cancelled_one_and_airs_an_emergency_from_cache(
    cli, tmp_path
):
    """Through the real daemon: the 06:00 airing on z1 is sent ahead and started by the
    receivers at the slot; the one on z2, cancelled by an operator after it was cued, is
    withdrawn from the receivers; the emergency template's audio is put on every
    receiver when the daemon starts, so the emergency plays without a download."""
    with mosquitto(tmp_path / "mosquitto") as broker:
        net = Network.make({"z1": 2, "z2": 2})
        root, receivers_file = make_network_station(
            cli.root, net, broker, start_timeout=5, per_day=False
        )
        field_dir = receivers_file.parent
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:50:00")
        booked = {}
        for zone in net.zones:
            cli("queue", "nq57-mot", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
            booked[zone] = rows(
                root, "select id from airing where zone_id=? order by id desc", zone
            )[0]["id"]
        receivers = ReceiverProcess(receivers_file)
        # The slot is 20 s ahead, within the output's lead time (45 s): cued at once.
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:59:40")
        daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
        try:
            wait_for(
                lambda: all(
                    booked[net.zone_of(r)] in by_airing(events(field_dir, r), "cued")
                    for r in net.keys
                )
            )
            assert cli("cancel", str(booked["z2"]), "--by", "Trực ban").code == 0
            wait_for(
                lambda: all(
                    booked["z2"] in by_airing(events(field_dir, r), "cancelled")
                    for r in net.zones["z2"]
                )
            )
            wait_for(
                lambda: rows(
                    root,
                    "select * from as_run_log where airing_id=? and outcome='aired'",
                    booked["z1"],
                ),
                timeout=60,
            )
            r = cli("emergency", "bao-lu", "--zones", "all", "--by", "Trực ban")
            assert r.code == 0, r.err
            wait_for(
                lambda: (
                    len(
                        rows(
                            root,
                            "select * from as_run_log where bulletin_id='bao-lu' "
                            "and outcome='aired'",
                        )
                    )
                    == 2
                )
            )
        finally:
            stop(daemon)
            receivers.stop()

    # z1: started by every receiver at the slot, on their own clock, from the cue.
    for receiver in net.zones["z1"]:
        log = events(field_dir, receiver)
        cued = by_airing(log, "cued")[booked["z1"]]
        started = by_airing(log, "started")[booked["z1"]]
        assert cued["at"] < cued["start_at"] <= started["started_at"]
        assert started["cued"] is True
    reports = rows(root, "select * from receiver_report where airing_id=?", booked["z1"])
    assert {r["outcome"] for r in reports} == {"played"} and len(reports) == 2
    # z2: cancelled in the log, dropped by its receivers, never played.
    assert rows(root, "select status from airing where id=?", booked["z2"])[0][0] == "cancelled"
    for receiver in net.zones["z2"]:
        assert booked["z2"] not in by_airing(events(field_dir, receiver), "started")
    # The emergency: prefetched at daemon start, then played from the cache everywhere.
    alerts = rows(root, "select * from as_run_log where bulletin_id='bao-lu'")
    sha = alerts[0]["audio_sha256"]
    alert_ids = {a["airing_id"] for a in alerts}
    for receiver in net.keys:
        log = events(field_dir, receiver)
        prefetched = [e for e in log if e["event"] == "prefetched" and e["sha256"] == sha]
        played = [e for e in log if e["event"] == "started" and e["airing_id"] in alert_ids]
        assert prefetched and played
        assert prefetched[0]["at"] <= played[0]["at"]
        assert played[0]["downloaded"] is False and played[0]["cued"] is False
