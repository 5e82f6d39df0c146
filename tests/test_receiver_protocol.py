"""Signing and verification of receiver commands (pure: no broker, no clock)."""

from __future__ import annotations

import json

import pytest

from broadcaster.playout.mqtt import protocol

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
NOW = 1_795_000_000_000


def play(counter: int = 10, **changes) -> protocol.Command:
    fields = dict(
        type="play",
        station="tan-ky",
        zone="khoi-1",
        receiver="khoi-1-a",
        counter=counter,
        issued_at=NOW,
        expires_at=NOW + 30_000,
        airing_id=42,
        url="http://127.0.0.1:8080/audio/ab.mp3",
        sha256="ab" * 32,
        duration_ms=12_500,
        deadline=NOW + 30_000,
        priority="normal",
    )
    fields.update(changes)
    return protocol.Command(**fields)


def verifier(last: int = 0) -> protocol.Verifier:
    return protocol.Verifier("tan-ky", "khoi-1", "khoi-1-a", KEY, last)


def test_canonical_string_is_sorted_compact_utf8_without_sig():
    body = {"type": "play", "zone": "xóm-a", "counter": 3, "sig": "x", "a": None, "b": True}
    assert protocol.canonical(body) == (
        '{"a":null,"b":true,"counter":3,"type":"play","zone":"xóm-a"}'.encode()
    )


def test_known_vector_so_other_implementations_can_check_theirs():
    """The worked example of docs/RECEIVER-PROTOCOL.md, byte for byte (also checked with
    ``openssl dgst -sha256 -mac HMAC -macopt hexkey:...``)."""
    body = play().body()
    assert protocol.canonical(body) == (
        b'{"airing_id":42,"counter":10,"deadline":1795000030000,"duration_ms":12500,'
        b'"expires_at":1795000030000,"issued_at":1795000000000,"priority":"normal",'
        b'"receiver":"khoi-1-a","sha256":"' + b"ab" * 32 + b'","station":"tan-ky",'
        b'"type":"play","url":"http://127.0.0.1:8080/audio/ab.mp3","v":2,"zone":"khoi-1"}'
    )
    assert protocol.sign(body, KEY)["sig"] == (
        "a829345c23a1a5c67cc509c3e027f62696462eae5300e894016c1c990443f64d"
    )


def test_floats_and_nested_values_are_not_signable():
    with pytest.raises(ValueError):
        protocol.canonical({"volume": 0.5})
    with pytest.raises(ValueError):
        protocol.canonical({"x": [1]})


def test_a_signed_command_verifies_and_spends_its_counter():
    v = verifier()
    body = v.check(play().signed_payload(KEY), NOW + 1)
    assert body["airing_id"] == 42 and v.last_counter == 10


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xff\xfe", protocol.MALFORMED),
        (b"[1, 2]", protocol.MALFORMED),
        (json.dumps(play().body()).encode(), protocol.UNSIGNED),
        (play(receiver="khoi-1-b").signed_payload(KEY), protocol.WRONG_TARGET),
        (play().signed_payload(b"\x01" * 32), protocol.BAD_SIGNATURE),
        (play(expires_at=NOW - 1).signed_payload(KEY), protocol.EXPIRED),
        (play(deadline=NOW - 1).signed_payload(KEY), protocol.EXPIRED),
        (play(priority="urgent").signed_payload(KEY), protocol.MALFORMED),
        (play(type="volume", volume=101).signed_payload(KEY), protocol.MALFORMED),
    ],
)
def test_rejections(payload, code):
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(payload, NOW)
    assert caught.value.code == code


def test_any_edited_field_breaks_the_signature():
    signed = json.loads(play().signed_payload(KEY))
    for field, value in (
        ("sha256", "cd" * 32),
        ("deadline", NOW + 10**9),
        ("priority", "emergency"),
    ):
        forged = {**signed, field: value}
        with pytest.raises(protocol.Rejected) as caught:
            verifier().check(json.dumps(forged).encode(), NOW)
        assert caught.value.code == protocol.BAD_SIGNATURE


def test_replayed_and_older_counters_are_refused():
    v = verifier()
    payload = play(counter=10).signed_payload(KEY)
    v.check(payload, NOW)
    for again, code in (
        (payload, protocol.DUPLICATE),
        (play(counter=9).signed_payload(KEY), protocol.REPLAYED),
    ):
        with pytest.raises(protocol.Rejected) as caught:
            v.check(again, NOW)
        assert caught.value.code == code
    assert v.check(play(counter=11).signed_payload(KEY), NOW)["counter"] == 11


def test_an_expired_command_still_spends_its_counter():
    """Authentic but late: refused, and a later replay of it is refused as a replay."""
    v = verifier()
    late = play(counter=20, expires_at=NOW - 5).signed_payload(KEY)
    with pytest.raises(protocol.Rejected):
        v.check(late, NOW)
    v.check(play(counter=21).signed_payload(KEY), NOW)
    with pytest.raises(protocol.Rejected) as caught:
        v.check(late, NOW - 10)
    assert caught.value.code == protocol.REPLAYED


def test_keys_must_be_long_hex():
    assert protocol.parse_key("ab" * 16) == b"\xab" * 16
    for bad in ("abc", "zz" * 16, "ab" * 15):
        with pytest.raises(ValueError):
            protocol.parse_key(bad)


def test_audio_hash_check():
    data = b"audio bytes"
    import hashlib

    assert protocol.audio_ok(data, hashlib.sha256(data).hexdigest())
    assert not protocol.audio_ok(data + b"!", hashlib.sha256(data).hexdigest())


def test_a_cued_play_carries_a_signed_start_before_its_deadline():
    v = verifier()
    body = v.check(play(start_at=NOW + 20_000).signed_payload(KEY), NOW)
    assert body["start_at"] == NOW + 20_000
    signed = json.loads(play(counter=11, start_at=NOW + 20_000).signed_payload(KEY))
    with pytest.raises(protocol.Rejected) as caught:  # moving the start is forgery
        v.check(json.dumps({**signed, "start_at": NOW + 1}).encode(), NOW)
    assert caught.value.code == protocol.BAD_SIGNATURE
    for bad in (NOW + 30_001, "soon"):  # after the deadline, or not an instant
        with pytest.raises(protocol.Rejected) as caught:
            verifier().check(play(start_at=bad).signed_payload(KEY), NOW)
        assert caught.value.code == protocol.MALFORMED


def test_a_play_without_start_at_signs_exactly_as_before():
    """``start_at`` is optional and left out when absent, so version-1 receivers that
    predate it verify immediate plays unchanged (the worked example still holds)."""
    assert "start_at" not in play().body()


def test_prefetch_is_verified_like_any_command_and_needs_url_and_hash():
    def prefetch(counter: int, **changes) -> protocol.Command:
        fields = dict(
            type="prefetch",
            station="tan-ky",
            zone="khoi-1",
            receiver="khoi-1-a",
            counter=counter,
            issued_at=NOW,
            expires_at=NOW + 30_000,
            url="http://127.0.0.1:8080/audio/ab.mp3",
            sha256="ab" * 32,
        )
        fields.update(changes)
        return protocol.Command(**fields)

    v = verifier()
    assert v.check(prefetch(5).signed_payload(KEY), NOW)["type"] == "prefetch"
    with pytest.raises(protocol.Rejected) as caught:
        v.check(prefetch(6, sha256=None).signed_payload(KEY), NOW)
    assert caught.value.code == protocol.MALFORMED
    with pytest.raises(protocol.Rejected) as caught:
        v.check(prefetch(7, expires_at=NOW - 1).signed_payload(KEY), NOW)
    assert caught.value.code == protocol.EXPIRED


# -- hostile payloads, counters ahead, resync, signed reports (issue 12) --------------------
def test_deeply_nested_json_is_refused_before_the_parser_recurses():
    """A few kilobytes of ``[[[[`` made json.loads raise RecursionError, which killed the
    network thread on both sides. Now it is one ``malformed`` refusal, like any junk."""
    for payload in (b"[" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b"[" * 200_000):
        with pytest.raises(protocol.Rejected) as caught:
            verifier().check(payload, NOW)
        assert caught.value.code == protocol.MALFORMED
        with pytest.raises(protocol.Undecodable):
            protocol.decode(payload)


def test_brackets_inside_strings_do_not_count_as_nesting():
    body = protocol.decode(b'{"detail": "[[[[[[[[[[{{{{{{{{\\"]]]]"}')
    assert body["detail"].startswith("[[[[")


@pytest.mark.parametrize(
    "payload",
    [b"x" * (protocol.MAX_PAYLOAD + 1), b'{"a": NaN}', b'{"a": Infinity}', b"1" * 5000, b""],
)
def test_oversized_and_non_json_payloads_are_undecodable(payload):
    with pytest.raises(protocol.Undecodable):
        protocol.decode(payload)


def test_a_counter_far_ahead_is_refused_and_not_spent():
    """One command signed by a station whose clock jumped ten years ahead used to become
    the receiver's counter, and every later command was 'replayed' forever."""
    v = verifier()
    ten_years_us = (NOW + 10 * 365 * 86_400_000) * 1000
    with pytest.raises(protocol.Rejected) as caught:
        v.check(play(counter=ten_years_us).signed_payload(KEY), NOW)
    assert caught.value.code == protocol.COUNTER_AHEAD
    assert v.last_counter == 0
    # The next honest command (wall-clock microseconds) is obeyed.
    assert v.check(play(counter=NOW * 1000).signed_payload(KEY), NOW)["counter"] == NOW * 1000
    # Within the bound is fine (clocks are never exactly equal).
    ahead = (NOW + protocol.MAX_AHEAD_MS - 1000) * 1000
    assert v.check(play(counter=ahead).signed_payload(KEY), NOW)["counter"] == ahead


def test_issued_at_far_ahead_is_refused_too():
    with pytest.raises(protocol.Rejected) as caught:
        verifier().check(play(issued_at=NOW + 2 * protocol.MAX_AHEAD_MS).signed_payload(KEY), NOW)
    assert caught.value.code == protocol.COUNTER_AHEAD


def resync(counter: int, issued_at: int = NOW, **changes) -> protocol.Command:
    fields = dict(
        type="resync",
        station="tan-ky",
        zone="khoi-1",
        receiver="khoi-1-a",
        counter=counter,
        issued_at=issued_at,
        expires_at=issued_at + 30_000,
    )
    fields.update(changes)
    return protocol.Command(**fields)


def test_a_signed_resync_brings_the_counter_back_and_cannot_be_replayed():
    """A receiver holding a counter from the future (older firmware, a restored state)
    obeys a signed resync; the same resync replayed, an older one, one issued far from
    its clock, or a forged one are refused."""
    v = verifier(last=(NOW + 5 * 60_000) * 1000)  # 5 minutes ahead: within the bound
    with pytest.raises(protocol.Rejected) as caught:
        v.check(play(counter=NOW * 1000).signed_payload(KEY), NOW)
    assert caught.value.code == protocol.REPLAYED
    r = resync(NOW * 1000 - 1).signed_payload(KEY)
    assert v.check(r, NOW)["type"] == "resync"
    assert v.last_counter == NOW * 1000 - 1 and v.last_resync == NOW
    assert v.check(play(counter=NOW * 1000).signed_payload(KEY), NOW)["counter"] == NOW * 1000
    for bad, code in (
        (r, protocol.REPLAYED),  # the same resync again
        (resync(NOW * 1000 - 5, issued_at=NOW - 1).signed_payload(KEY), protocol.REPLAYED),
        (
            resync(
                1, issued_at=NOW - protocol.RESYNC_WINDOW_MS - 1, expires_at=NOW + 1
            ).signed_payload(KEY),
            protocol.EXPIRED,
        ),
        (resync(1, issued_at=NOW + 1).signed_payload(b"\x07" * 32), protocol.BAD_SIGNATURE),
    ):
        with pytest.raises(protocol.Rejected) as caught:
            v.check(bad, NOW + 1)
        assert caught.value.code == code
    assert v.last_counter == NOW * 1000


def report(kind="ack", receiver="khoi-1-a", key=KEY, seq=5, **fields):
    return protocol.report(kind, receiver, NOW, key, seq, airing_id=42, **fields)


def test_signed_reports_verify_and_forged_or_replayed_ones_do_not():
    """The station counts a report only when the receiver's own key signed it, with a
    sequence number above the last: the shared broker login vouches for nothing."""
    keys = {"khoi-1-a": KEY, "khoi-1-b": b"\x02" * 32}
    rv = protocol.ReportVerifier(keys)
    assert rv.check("khoi-1-a", "ack", report(seq=5))["airing_id"] == 42
    forged = json.loads(report(seq=6))
    forged["airing_id"] = 43
    cases = [
        ("khoi-1-a", "ack", report(seq=5), protocol.REPLAYED),
        ("khoi-1-a", "ack", report(seq=4), protocol.REPLAYED),
        ("khoi-1-a", "ack", json.dumps(forged).encode(), protocol.BAD_SIGNATURE),
        ("khoi-1-a", "ack", report(key=None), protocol.UNSIGNED),
        ("khoi-1-a", "done", report(seq=7), protocol.WRONG_TARGET),  # type is not the topic's
        ("khoi-1-b", "ack", report(seq=8), protocol.WRONG_TARGET),  # receiver not the topic's
        ("khoi-1-b", "ack", report(receiver="khoi-1-b", seq=9), protocol.BAD_SIGNATURE),
        ("khoi-1-x", "ack", report(receiver="khoi-1-x", seq=9), protocol.WRONG_TARGET),
        ("khoi-1-a", "ack", b"[" * 4000, protocol.MALFORMED),
    ]
    for receiver, kind, payload, code in cases:
        with pytest.raises(protocol.Rejected) as caught:
            rv.check(receiver, kind, payload)
        assert caught.value.code == code, (payload[:60], caught.value.code)
    # b's own key signs b's report.
    assert rv.check("khoi-1-b", "ack", report(receiver="khoi-1-b", key=b"\x02" * 32, seq=1))


def test_a_legacy_fleet_may_be_let_in_unsigned_but_only_by_setting():
    rv = protocol.ReportVerifier({"khoi-1-a": KEY}, require_signature=False)
    assert rv.check("khoi-1-a", "ack", report(key=None))["airing_id"] == 42


def test_the_same_command_delivered_twice_is_a_duplicate_not_a_replay():
    """MQTT QoS 1 is at least once: after a reconnect the broker or the client may send
    the last command again. It is ignored quietly (not reported as a refusal)."""
    v = verifier()
    payload = play(counter=10).signed_payload(KEY)
    v.check(payload, NOW)
    with pytest.raises(protocol.Rejected) as caught:
        v.check(payload, NOW)
    assert caught.value.code == protocol.DUPLICATE
