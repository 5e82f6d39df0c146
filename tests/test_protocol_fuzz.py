"""Fuzzing the receiver protocol's decoders with Hypothesis (issue 12): whatever arrives
on a topic, the receiver's Verifier and the station's ReportVerifier either accept it or
raise ``Rejected`` with a known code; nothing else escapes (a stray exception in the
network thread is what used to stop the station). Brief by design: a few hundred
examples per property in the suite; raise ``--hypothesis-profile=long`` by hand."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster.playout.mqtt import protocol

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
NOW = 1_795_000_000_000
CODES = {*protocol.REJECTIONS, protocol.FETCH_FAILED}

settings.register_profile(
    "suite", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("long", max_examples=50_000, deadline=None)
settings.load_profile("suite")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "v",
    "type",
    "station",
    "zone",
    "receiver",
    "counter",
    "issued_at",
    "expires_at",
    "airing_id",
    "url",
    "sha256",
    "duration_ms",
    "deadline",
    "priority",
    "volume",
    "start_at",
    "sig",
    "seq",
    "at",
    "completed",
]
_ADDRESS = ("v", "type", "station", "zone", "receiver")
near_valid = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 2, 3, "2", None]),
        "type": st.sampled_from([*protocol.COMMANDS, *protocol.REPORTS, "x"]),
        "station": st.just("tan-ky"),
        "zone": st.just("khoi-1"),
        "receiver": st.just("khoi-1-a"),
    },
    optional={name: json_values for name in FIELDS if name not in _ADDRESS},
)


def _verifier() -> protocol.Verifier:
    return protocol.Verifier("tan-ky", "khoi-1", "khoi-1-a", KEY, 0)


def _feed(payload: bytes) -> None:
    try:
        _verifier().check(payload, NOW)
    except protocol.Rejected as rejected:
        assert rejected.code in CODES
    rv = protocol.ReportVerifier({"khoi-1-a": KEY})
    for kind in protocol.REPORTS:
        try:
            rv.check("khoi-1-a", kind, payload)
        except protocol.Rejected as rejected:
            assert rejected.code in CODES


@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_anything_but_rejected(payload):
    _feed(payload)


@given(json_values)
def test_any_json_value_never_raises_anything_but_rejected(value):
    _feed(json.dumps(value).encode())


@given(near_valid, st.booleans())
def test_near_valid_commands_signed_or_not_never_crash(body, signed):
    """Well-formed enough to reach the later rules, signed with the right key so the
    type, expiry and field checks run on hostile values too."""
    try:
        payload = json.dumps(protocol.sign(body, KEY) if signed else body).encode()
    except ValueError:  # floats and nesting cannot be signed: send them unsigned
        payload = json.dumps(body).encode()
    _feed(payload)


@given(st.integers(min_value=1, max_value=60), st.sampled_from(["[", '{"a":']))
def test_nesting_of_any_depth_is_handled(depth_kb, opener):
    _feed((opener * (depth_kb * 1024 // len(opener))).encode())
