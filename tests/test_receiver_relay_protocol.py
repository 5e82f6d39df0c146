"""The ``relay`` command and its reports (protocol version 3): signing, parsing and the
station's check of the figures a receiver claims (pure: no broker, no clock)."""

from __future__ import annotations

import json

import pytest

from broadcaster.playout.mqtt import protocol

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
NOW = 1_795_000_000_000
START, END = NOW + 60_000, NOW + 120_000


def relay(counter: int = 10, **changes) -> protocol.Command:
    fields = dict(
        type="relay",
        station="tan-ky",
        zone="khoi-1",
        receiver="khoi-1-a",
        counter=counter,
        issued_at=NOW,
        expires_at=END,
        url="http://127.0.0.1:8000/vov1.mp3",
        backup_url="http://127.0.0.1:8000/vov1-backup.mp3",
        relay_id="vov1-sang",
        start_at=START,
        end_at=END,
    )
    fields.update(changes)
    return protocol.Command(**fields)


def verifier(last: int = 0) -> protocol.Verifier:
    return protocol.Verifier("tan-ky", "khoi-1", "khoi-1-a", KEY, last)


def test_the_relay_worked_example_of_the_protocol_document():
    """Byte for byte what docs/RECEIVER-PROTOCOL.md shows, so vendors can check theirs;
    a relay is version 3, every other command is still version 2."""
    body = relay().body()
    assert protocol.canonical(body) == (
        b'{"backup_url":"http://127.0.0.1:8000/vov1-backup.mp3","counter":10,'
        b'"end_at":1795000120000,"expires_at":1795000120000,"issued_at":1795000000000,'
        b'"receiver":"khoi-1-a","relay_id":"vov1-sang","start_at":1795000060000,'
        b'"station":"tan-ky","type":"relay","url":"http://127.0.0.1:8000/vov1.mp3",'
        b'"v":3,"zone":"khoi-1"}'
    )
    assert protocol.sign(body, KEY)["sig"] == (
        "5ad603760eb96b56f56e5dc76a9e26c22f6de3a7166577a7dc964451024d63f2"
    )
    stop = protocol.Command("stop", "tan-ky", "khoi-1", "khoi-1-a", 11, NOW, NOW + 1)
    assert stop.body()["v"] == 2  # version-2 receivers keep obeying everything else


def test_a_signed_relay_verifies_with_its_window_and_urls():
    got = verifier().check(relay().signed_payload(KEY), NOW)
    assert (got["type"], got["relay_id"], got["start_at"], got["end_at"]) == (
        "relay",
        "vov1-sang",
        START,
        END,
    )
    # No backup URL is fine; joining a window already open is fine until its end.
    assert verifier().check(relay(backup_url=None).signed_payload(KEY), START + 30_000)


def _sign_raw(body: dict) -> bytes:
    return json.dumps(protocol.sign(body, KEY)).encode()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"relay_id": None}, protocol.MALFORMED),
        ({"relay_id": "Không slug"}, protocol.MALFORMED),
        ({"url": "file:///etc/passwd"}, protocol.MALFORMED),
        ({"backup_url": "ftp://x/y"}, protocol.MALFORMED),
        ({"end_at": START}, protocol.MALFORMED),  # empty window
        (
            {"end_at": START + 7 * 3600 * 1000, "expires_at": START + 7 * 3600 * 1000},
            protocol.MALFORMED,
        ),  # absurdly long
        ({"start_at": None}, protocol.MALFORMED),
        ({"expires_at": NOW - 1}, protocol.EXPIRED),
    ],
)
def test_bad_relays_are_refused_with_a_code(changes, code):
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(relay(**changes).signed_payload(KEY), NOW)
    assert caught.value.code == code, caught.value.detail


def test_a_relay_must_say_version_3_and_be_signed_by_this_receivers_key():
    body = relay().body()
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(_sign_raw({**body, "v": 2}), NOW)
    assert caught.value.code == protocol.MALFORMED
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(relay().signed_payload(b"\x01" * 32), NOW)
    assert caught.value.code == protocol.BAD_SIGNATURE
    unsigned = json.dumps(body).encode()
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(unsigned, NOW)
    assert caught.value.code == protocol.UNSIGNED
    payload = relay(counter=10).signed_payload(KEY)
    v = verifier()
    v.check(payload, NOW)
    with pytest.raises(protocol.Rejected) as caught:
        verifier(last=10).check(payload, NOW)  # an old relay replayed
    assert caught.value.code == protocol.REPLAYED


def test_a_version_2_receiver_refuses_a_relay_rather_than_misreading_it(monkeypatch):
    """What the protocol doc promises for an older fleet: a receiver with version 2's
    rules (no ``relay``, no ``v: 3``) refuses it as ``malformed`` (an error report the
    station counts as not relayed) and goes on obeying version-2 commands."""
    monkeypatch.setattr(protocol, "ACCEPTED_VERSIONS", (1, 2))
    monkeypatch.setattr(protocol, "COMMANDS", ("play", "stop", "volume", "prefetch", "resync"))
    old = verifier()
    with pytest.raises(protocol.Rejected) as caught:
        old.check(relay(counter=10).signed_payload(KEY), NOW)
    assert caught.value.code == protocol.MALFORMED
    stop = protocol.Command("stop", "tan-ky", "khoi-1", "khoi-1-a", 11, NOW, NOW + 30_000)
    assert old.check(stop.signed_payload(KEY), NOW)["type"] == "stop"


def relay_report(kind: str, seq: int = 5, key: bytes | None = KEY, /, **fields) -> bytes:
    return protocol.report(
        kind, "khoi-1-a", NOW, key, seq, relay_id="vov1-sang", counter=10, **fields
    )


def test_relay_reports_are_signed_version_3_and_verified_like_the_others():
    rv = protocol.ReportVerifier({"khoi-1-a": KEY})
    started = rv.check(
        "khoi-1-a", "relay-started", relay_report("relay-started", 5, started_at=START)
    )
    assert started["v"] == 3 and started["started_at"] == START
    ended = rv.check(
        "khoi-1-a",
        "relay-ended",
        relay_report("relay-ended", 6, started_at=START, ended_at=END, relayed_ms=58_000),
    )
    assert protocol.relay_report_error("relay-ended", ended, 60_000) == ""
    forged = json.loads(relay_report("relay-ended", 7, relayed_ms=58_000))
    forged["relayed_ms"] = 60_000
    for payload, code in [
        (json.dumps(forged).encode(), protocol.BAD_SIGNATURE),
        (relay_report("relay-ended", 8, None, relayed_ms=1), protocol.UNSIGNED),
        (relay_report("relay-ended", 6, relayed_ms=1), protocol.REPLAYED),
    ]:
        with pytest.raises(protocol.Rejected) as caught:
            rv.check("khoi-1-a", "relay-ended", payload)
        assert caught.value.code == code
    with pytest.raises(protocol.Rejected) as caught:  # the topic says another receiver
        rv.check("khoi-1-b", "relay-ended", relay_report("relay-ended", 9, relayed_ms=1))
    assert caught.value.code == protocol.WRONG_TARGET


@pytest.mark.parametrize(
    ("kind", "fields", "bad"),
    [
        ("relay-ended", {"relayed_ms": 58_000}, False),
        ("relay-ended", {"relayed_ms": 65_001}, True),  # more than the window and slack
        ("relay-ended", {"relayed_ms": -1}, True),
        ("relay-ended", {"relayed_ms": "58000"}, True),
        ("relay-ended", {}, True),
        ("relay-dropout", {"began_at": START + 5_000, "lasted_ms": 12_000}, False),
        ("relay-dropout", {"began_at": START, "lasted_ms": 10**9}, True),
        ("relay-dropout", {"lasted_ms": 1_000}, True),
        ("relay-started", {"started_at": START}, False),
        ("relay-started", {}, True),
        ("relay-silence", {"began_at": START + 5_000, "lasted_ms": 10_000}, False),
        ("relay-silence", {"began_at": START, "lasted_ms": -1}, True),
        ("relay-silence", {"lasted_ms": 10_000}, True),
    ],
)
def test_the_station_refuses_absurd_relay_figures(kind, fields, bad):
    body = json.loads(relay_report(kind, **fields))
    assert bool(protocol.relay_report_error(kind, body, 60_000)) is bad
    no_counter = {k: v for k, v in body.items() if k != "counter"}
    assert protocol.relay_report_error(kind, no_counter, 60_000)


# -- version 4: dead air heard by the receivers -------------------------------------------
def test_a_relay_may_carry_the_stations_dead_air_thresholds_as_integers():
    got = verifier().check(relay(silence_dbfs=-50, silence_ms=10_000).signed_payload(KEY), NOW)
    assert got["v"] == 3  # still a version-3 relay: an older receiver ignores the two fields
    assert protocol.silence_of(got) == (-50.0, 10.0)
    assert protocol.silence_of(verifier().check(relay().signed_payload(KEY), NOW)) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"silence_dbfs": -50},  # one without the other
        {"silence_ms": 10_000},
        {"silence_dbfs": 0, "silence_ms": 10_000},  # not quiet at all
        {"silence_dbfs": -50, "silence_ms": 10},  # a blink is not dead air
        {"silence_dbfs": -50, "silence_ms": 4_000_000},
        {"silence_dbfs": "-50", "silence_ms": 10_000},
        {"silence_dbfs": True, "silence_ms": 10_000},
    ],
)
def test_bad_dead_air_thresholds_make_the_relay_malformed(changes):
    body = relay().body()
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(_sign_raw({**body, **changes}), NOW)
    assert caught.value.code == protocol.MALFORMED, caught.value.detail


def test_a_relay_silence_report_is_version_4_and_a_dropout_may_be_of_kind_silence():
    rv = protocol.ReportVerifier({"khoi-1-a": KEY})
    heard = rv.check(
        "khoi-1-a",
        "relay-silence",
        relay_report("relay-silence", 5, began_at=START + 5_000, lasted_ms=10_000),
    )
    assert heard["v"] == protocol.SILENCE_VERSION == 4
    over = rv.check(
        "khoi-1-a",
        "relay-dropout",
        relay_report("relay-dropout", 6, began_at=START + 5_000, lasted_ms=15_000, kind="silence"),
    )
    assert (over["v"], over["kind"]) == (3, "silence")  # a field named kind is a field
