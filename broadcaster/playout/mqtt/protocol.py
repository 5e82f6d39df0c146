"""The receiver protocol's wire format, shared by the station and the reference receiver.

One module on both sides so the canonical signing string cannot drift between them; a
vendor implements the same rules from docs/RECEIVER-PROTOCOL.md. Everything here is pure
(no network, no clock of its own): instants come in as parameters, in milliseconds since
the Unix epoch on the *wall clock*, because a receiver checks expiry against its own
(NTP-synchronised) clock, never against the station's possibly simulated one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1
TOPIC_ROOT = "loa"
COMMANDS = ("play", "stop", "volume", "prefetch")
REPORTS = ("ack", "done", "error", "status", "heartbeat")
PRIORITIES = ("normal", "priority", "emergency")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

# Rejection codes a receiver reports on its ``error`` topic (and logs).
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad-signature"
REPLAYED = "replayed"
EXPIRED = "expired"
HASH_MISMATCH = "hash-mismatch"
WRONG_TARGET = "wrong-target"
MALFORMED = "malformed"
FETCH_FAILED = "fetch-failed"
PLAYER_FAILED = "player-failed"
BUSY = "busy"
REJECTIONS = (UNSIGNED, BAD_SIGNATURE, REPLAYED, EXPIRED, HASH_MISMATCH, WRONG_TARGET, MALFORMED)


def is_slug(value: str) -> bool:
    return bool(_SLUG.match(value))


def topic(station: str, zone: str, receiver: str, kind: str) -> str:
    """``loa/<station>/<zone>/<receiver>/<kind>``: ids are slugs, so no escaping is needed."""
    return f"{TOPIC_ROOT}/{station}/{zone}/{receiver}/{kind}"


def parse_topic(name: str) -> tuple[str, str, str, str] | None:
    """(station, zone, receiver, kind) of a protocol topic, or None."""
    parts = name.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_ROOT:
        return None
    return parts[1], parts[2], parts[3], parts[4]


def canonical(body: dict[str, Any]) -> bytes:
    """The signing string: the message without ``sig`` as canonical JSON.

    Keys sorted, no whitespace, UTF-8, and only strings, integers, booleans and null
    allowed as values, so every language produces the same bytes (no float formatting).
    """
    for key, value in body.items():
        if isinstance(value, float | dict | list):
            raise ValueError(f"field '{key}': only strings, integers, booleans and null are signed")
    return json.dumps(
        {k: v for k, v in body.items() if k != "sig"},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def sign(body: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The body with its ``sig``: lowercase hex HMAC-SHA256 of the canonical string."""
    signed = {k: v for k, v in body.items() if k != "sig"}
    signed["sig"] = hmac.new(key, canonical(signed), hashlib.sha256).hexdigest()
    return signed


def signature_ok(body: dict[str, Any], key: bytes) -> bool:
    given = body.get("sig")
    if not isinstance(given, str):
        return False
    try:
        expected = hmac.new(key, canonical(body), hashlib.sha256).hexdigest()
    except ValueError:
        return False
    return hmac.compare_digest(given, expected)


def parse_key(text: str) -> bytes:
    """A per-receiver key as written in a keys file: at least 32 hex digits (128 bits)."""
    text = text.strip()
    if len(text) < 32 or len(text) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", text):
        raise ValueError("a key is at least 32 hexadecimal digits (openssl rand -hex 32)")
    return bytes.fromhex(text)


@dataclass(frozen=True)
class Command:
    """A command as the station builds it, before signing."""

    type: str
    station: str
    zone: str
    receiver: str
    counter: int
    issued_at: int  # ms, wall clock
    expires_at: int  # ms, wall clock: not to be acted on after this
    airing_id: int | None = None
    url: str | None = None
    sha256: str | None = None
    duration_ms: int | None = None
    deadline: int | None = None  # ms, wall clock: a play must not *start* after this
    priority: str | None = None
    volume: int | None = None
    start_at: int | None = None  # ms, wall clock: a cued play starts then, by the receiver's clock

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "type": self.type,
            "station": self.station,
            "zone": self.zone,
            "receiver": self.receiver,
            "counter": self.counter,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        }
        extra = {
            "airing_id": self.airing_id,
            "url": self.url,
            "sha256": self.sha256,
            "duration_ms": self.duration_ms,
            "deadline": self.deadline,
            "priority": self.priority,
            "volume": self.volume,
            "start_at": self.start_at,
        }
        body.update({k: v for k, v in extra.items() if v is not None})
        return body

    def signed_payload(self, key: bytes) -> bytes:
        return json.dumps(sign(self.body(), key), ensure_ascii=False).encode("utf-8")


class Rejected(Exception):
    """A command the receiver must not obey; ``code`` is one of :data:`REJECTIONS`."""

    def __init__(self, code: str, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.body = body or {}


@dataclass
class Verifier:
    """The receiver's half of the rules: identity, signature, replay, expiry.

    ``last_counter`` must survive restarts (the reference receiver keeps it in its state
    file), or a command captured before a reboot could be replayed after it.
    """

    station: str
    zone: str
    receiver: str
    key: bytes
    last_counter: int = 0

    def check(self, payload: bytes, now_ms: int) -> dict[str, Any]:
        """The verified body; raise :class:`Rejected` with the first rule it breaks."""
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Rejected(MALFORMED, "not UTF-8 JSON") from None
        if not isinstance(body, dict):
            raise Rejected(MALFORMED, "not a JSON object")
        if "sig" not in body:
            raise Rejected(UNSIGNED, "the command carries no signature", body)
        if (body.get("station"), body.get("zone"), body.get("receiver")) != (
            self.station,
            self.zone,
            self.receiver,
        ):
            raise Rejected(WRONG_TARGET, "addressed to another receiver", body)
        if not signature_ok(body, self.key):
            raise Rejected(BAD_SIGNATURE, "HMAC does not match this receiver's key", body)
        counter = body.get("counter")
        if not isinstance(counter, int) or isinstance(counter, bool):
            raise Rejected(MALFORMED, "counter is not an integer", body)
        if counter <= self.last_counter:
            raise Rejected(
                REPLAYED, f"counter {counter} is not above the last seen {self.last_counter}", body
            )
        # Authentic and new: whatever happens next, this counter is spent.
        self.last_counter = counter
        if body.get("v") != PROTOCOL_VERSION or body.get("type") not in COMMANDS:
            raise Rejected(MALFORMED, "unknown version or command type", body)
        expires = body.get("expires_at")
        if not isinstance(expires, int) or now_ms > expires:
            raise Rejected(EXPIRED, f"expired at {expires} (now {now_ms})", body)
        if body["type"] == "play":
            deadline = body.get("deadline")
            if not isinstance(deadline, int) or now_ms > deadline:
                raise Rejected(EXPIRED, f"start deadline {deadline} passed (now {now_ms})", body)
            for name in ("url", "sha256", "airing_id", "duration_ms", "priority"):
                if body.get(name) is None:
                    raise Rejected(MALFORMED, f"play without '{name}'", body)
            if body["priority"] not in PRIORITIES:
                raise Rejected(MALFORMED, "unknown priority", body)
            start_at = body.get("start_at")
            if start_at is not None and (not _is_int(start_at) or start_at > deadline):
                raise Rejected(MALFORMED, "start_at is an instant (ms) before the deadline", body)
        if body["type"] == "prefetch":
            for name in ("url", "sha256"):
                if not isinstance(body.get(name), str):
                    raise Rejected(MALFORMED, f"prefetch without '{name}'", body)
        if body["type"] == "volume":
            volume = body.get("volume")
            if not isinstance(volume, int) or not 0 <= volume <= 100:
                raise Rejected(MALFORMED, "volume is an integer 0..100", body)
        return body


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def audio_ok(data: bytes, sha256: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(data).hexdigest(), sha256.lower())


def report(kind: str, receiver: str, at_ms: int, **fields: Any) -> bytes:
    """A receiver's report (ack, done, error, status, heartbeat): plain JSON, unsigned.

    Reports are not signed: the broker's per-receiver credentials (and ACLs) say who may
    publish on a receiver's topics; a station wanting more can require TLS client
    certificates. See docs/RECEIVER-PROTOCOL.md.
    """
    return json.dumps(
        {"v": PROTOCOL_VERSION, "type": kind, "receiver": receiver, "at": at_ms, **fields},
        ensure_ascii=False,
    ).encode("utf-8")
