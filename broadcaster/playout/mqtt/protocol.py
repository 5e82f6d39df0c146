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
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 2
#: Version 3 adds ``relay`` (and its reports) and nothing else: only a ``relay`` command
#: carries ``v: 3``, every other command is still sent as version 2, so a version-2
#: receiver keeps obeying them and refuses a relay (unknown type) with an ``error``.
RELAY_VERSION = 3
#: Command versions a receiver accepts: 2 is 1 plus signed reports, ``resync`` and the
#: bound on counters ahead; 3 is 2 plus ``relay``; an older command means what it meant.
ACCEPTED_VERSIONS = (1, 2, 3)
#: Version 4 adds dead air heard by the receivers in a relay, and nothing else: a
#: ``relay`` (still ``v: 3``) may carry ``silence_dbfs`` and ``silence_ms`` (integers:
#: only those are signed; an older receiver ignores them); a receiver that knows them
#: reports ``relay-silence`` (``v: 4``) and lists the span as a ``relay-dropout`` of
#: kind ``silence``.
SILENCE_VERSION = 4
#: The dead-air thresholds a ``relay`` may carry (whole dBFS, ms): anything else is refused.
SILENCE_DBFS_RANGE = (-100, -10)
SILENCE_MS_RANGE = (1000, 3_600_000)  # the station's own bounds
TOPIC_ROOT = "loa"
COMMANDS = ("play", "stop", "volume", "prefetch", "resync", "relay")
RELAY_REPORTS = ("relay-started", "relay-dropout", "relay-ended", "relay-silence")
REPORTS = ("ack", "done", "error", "status", "heartbeat", *RELAY_REPORTS)
#: Longest relay window a receiver accepts (ms): a day's longest relay is a few hours.
MAX_RELAY_MS = 6 * 3600 * 1000
#: How far past the window's end a ``relay-ended`` may claim to have relayed (ms).
RELAY_SLACK_MS = 5 * 1000
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
COUNTER_AHEAD = "counter-ahead"
DUPLICATE = "duplicate"  # the last command again (QoS 1 redelivers): ignored, not reported
INTERNAL = "internal-error"
REJECTIONS = (
    UNSIGNED,
    BAD_SIGNATURE,
    REPLAYED,
    EXPIRED,
    HASH_MISMATCH,
    WRONG_TARGET,
    MALFORMED,
    COUNTER_AHEAD,
)

#: Largest message either side parses: commands and reports are a few hundred bytes.
MAX_PAYLOAD = 16 * 1024
#: Deepest nesting of JSON arrays and objects parsed (commands and reports are flat).
MAX_DEPTH = 4
#: How far ahead of the receiver's clock a counter or ``issued_at`` may be (ms). Counters
#: are wall-clock microseconds, so an honest station is never ahead by more than its
#: clock error; a station clock that jumped years ahead must not spend the counter space.
MAX_AHEAD_MS = 10 * 60 * 1000
#: How far from the receiver's clock a ``resync`` may have been issued (ms).
RESYNC_WINDOW_MS = 5 * 60 * 1000
#: A report older than this before the play it answers was sent is a replay (ms).
REPORT_SKEW_MS = 30 * 1000

_JSON_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class Undecodable(ValueError):
    """A payload that is not a small, shallow, UTF-8 JSON object."""


def decode(payload: bytes) -> dict[str, Any]:
    """The payload as a JSON object, or :class:`Undecodable` with why not.

    Anything on the network may be hostile: a few kilobytes of ``[[[[`` make the json
    module recurse until ``RecursionError``, which in a network thread ends the loop. So
    the size and the nesting are bounded before parsing, strings are skipped when
    counting brackets, and NaN/Infinity (not JSON) are refused. Never raises anything
    else.
    """
    if not isinstance(payload, bytes | bytearray):
        raise Undecodable("not bytes")
    if len(payload) > MAX_PAYLOAD:
        raise Undecodable(f"larger than {MAX_PAYLOAD} bytes")
    depth = 0
    for match in _JSON_STRUCTURE.finditer(payload):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise Undecodable(f"nested deeper than {MAX_DEPTH}")
        elif token in (b"]", b"}"):
            depth -= 1
    try:
        text = bytes(payload).decode("utf-8")
        body = json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Undecodable("not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise Undecodable("not a JSON object")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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
    if not isinstance(given, str) or not given.isascii():
        return False
    try:
        expected = hmac.new(key, canonical(body), hashlib.sha256).hexdigest()
    except (ValueError, TypeError):
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
    end_at: int | None = None  # ms, wall clock: a relay stops then, by the receiver's clock
    relay_id: str | None = None
    backup_url: str | None = None
    silence_dbfs: int | None = None  # a relay: dead air is below this level (version 4)
    silence_ms: int | None = None  # ... for at least this long

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "v": RELAY_VERSION if self.type == "relay" else PROTOCOL_VERSION,
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
            "end_at": self.end_at,
            "relay_id": self.relay_id,
            "backup_url": self.backup_url,
            "silence_dbfs": self.silence_dbfs,
            "silence_ms": self.silence_ms,
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
    file), or a command captured before a reboot could be replayed after it; so must
    ``last_resync`` (the ``issued_at`` of the last ``resync`` obeyed).
    """

    station: str
    zone: str
    receiver: str
    key: bytes
    last_counter: int = 0
    last_resync: int = 0
    max_ahead_ms: int = MAX_AHEAD_MS
    last_sig: str = ""  # of the last command obeyed: its redelivery is a duplicate

    def check(self, payload: bytes, now_ms: int) -> dict[str, Any]:
        """The verified body; raise :class:`Rejected` with the first rule it breaks."""
        try:
            body = decode(payload)
        except Undecodable as exc:
            raise Rejected(MALFORMED, str(exc)) from None
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
        if not _is_int(counter):
            raise Rejected(MALFORMED, "counter is not an integer", body)
        ahead = now_ms * 1000 + self.max_ahead_ms * 1000
        issued = body.get("issued_at")
        if counter > ahead or (_is_int(issued) and issued > now_ms + self.max_ahead_ms):
            # Not spent: a station whose clock jumped must not lock itself out for years.
            raise Rejected(
                COUNTER_AHEAD,
                f"counter {counter} is more than {self.max_ahead_ms // 1000} s ahead of "
                f"this receiver's clock ({now_ms} ms)",
                body,
            )
        if body.get("type") == "resync":
            return self._resync(body, counter, now_ms)
        if counter == self.last_counter and body.get("sig") == self.last_sig:
            raise Rejected(DUPLICATE, f"command {counter} delivered again", body)
        if counter <= self.last_counter:
            raise Rejected(
                REPLAYED, f"counter {counter} is not above the last seen {self.last_counter}", body
            )
        # Authentic and new: whatever happens next, this counter is spent.
        self.last_counter = counter
        self.last_sig = str(body.get("sig"))
        if body.get("v") not in ACCEPTED_VERSIONS or body.get("type") not in COMMANDS:
            raise Rejected(MALFORMED, "unknown version or command type", body)
        expires = body.get("expires_at")
        if not _is_int(expires) or now_ms > expires:
            raise Rejected(EXPIRED, f"expired at {expires} (now {now_ms})", body)
        if body["type"] == "play":
            deadline = body.get("deadline")
            if not _is_int(deadline) or now_ms > deadline:
                raise Rejected(EXPIRED, f"start deadline {deadline} passed (now {now_ms})", body)
            for name in ("url", "sha256"):
                if not isinstance(body.get(name), str):
                    raise Rejected(MALFORMED, f"play without '{name}'", body)
            for name in ("airing_id", "duration_ms"):
                if not _is_int(body.get(name)) or body[name] < 0:
                    raise Rejected(MALFORMED, f"play without '{name}'", body)
            if body.get("priority") not in PRIORITIES:
                raise Rejected(MALFORMED, "unknown priority", body)
            start_at = body.get("start_at")
            if start_at is not None and (not _is_int(start_at) or start_at > deadline):
                raise Rejected(MALFORMED, "start_at is an instant (ms) before the deadline", body)
        if body["type"] == "relay":
            _check_relay(body)
        if body["type"] == "prefetch":
            for name in ("url", "sha256"):
                if not isinstance(body.get(name), str):
                    raise Rejected(MALFORMED, f"prefetch without '{name}'", body)
        if body["type"] == "volume":
            volume = body.get("volume")
            if not _is_int(volume) or not 0 <= volume <= 100:
                raise Rejected(MALFORMED, "volume is an integer 0..100", body)
        stop_id = body.get("airing_id") if body["type"] == "stop" else None
        if stop_id is not None and not _is_int(stop_id):
            raise Rejected(MALFORMED, "airing_id is an integer", body)
        return body

    def _resync(self, body: dict[str, Any], counter: int, now_ms: int) -> dict[str, Any]:
        """A signed ``resync``: the counter goes back to this one (clock repaired).

        The one command that may lower the counter, so it is held tighter than any
        other: issued within :data:`RESYNC_WINDOW_MS` of this receiver's clock, not
        expired, and issued after the last resync obeyed (a captured resync replays
        nothing). The counter check above already refused one far ahead.
        """
        issued, expires = body.get("issued_at"), body.get("expires_at")
        if body.get("v") not in ACCEPTED_VERSIONS or not _is_int(issued) or not _is_int(expires):
            raise Rejected(MALFORMED, "resync needs v, issued_at and expires_at", body)
        if abs(now_ms - issued) > RESYNC_WINDOW_MS or now_ms > expires:
            raise Rejected(EXPIRED, f"resync issued at {issued} (now {now_ms})", body)
        if issued <= self.last_resync:
            raise Rejected(REPLAYED, f"resync not after the last one ({self.last_resync})", body)
        self.last_resync = issued
        self.last_counter = counter
        return body


@dataclass
class ReportVerifier:
    """The station's half for reports (version 2): each is signed with its receiver's
    key and carries a ``seq`` strictly increasing per receiver, so a client holding a
    broker login can neither speak for a receiver nor replay what one said."""

    keys: dict[str, bytes]
    last_seq: dict[str, int] = field(default_factory=dict)
    require_signature: bool = True

    def check(self, receiver: str, kind: str, payload: bytes) -> dict[str, Any]:
        """The verified report; raise :class:`Rejected` (code = why it is ignored)."""
        try:
            body = decode(payload)
        except Undecodable as exc:
            raise Rejected(MALFORMED, str(exc)) from None
        if body.get("receiver") != receiver or body.get("type") != kind:
            raise Rejected(WRONG_TARGET, "receiver or type differs from the topic", body)
        key = self.keys.get(receiver)
        if key is None:
            raise Rejected(WRONG_TARGET, f"unknown receiver '{receiver}'", body)
        if "sig" not in body:
            if not self.require_signature:
                return body
            raise Rejected(UNSIGNED, "the report carries no signature", body)
        if not signature_ok(body, key):
            raise Rejected(BAD_SIGNATURE, "HMAC does not match the receiver's key", body)
        seq = body.get("seq")
        if not _is_int(seq):
            raise Rejected(MALFORMED, "seq is not an integer", body)
        last = self.last_seq.get(receiver, 0)
        if seq <= last:
            raise Rejected(REPLAYED, f"seq {seq} is not above {last}", body)
        self.last_seq[receiver] = seq
        return body


def _check_relay(body: dict[str, Any]) -> None:
    """A ``relay`` (version 3): a slug id, HTTP(S) URLs, a window of integer instants
    that is not absurdly long; its end (not only ``expires_at``) still to come."""
    if body.get("v") != RELAY_VERSION:
        raise Rejected(MALFORMED, f"relay is a version-{RELAY_VERSION} command", body)
    relay_id = body.get("relay_id")
    if not isinstance(relay_id, str) or not is_slug(relay_id):
        raise Rejected(MALFORMED, "relay without a 'relay_id'", body)
    for name in ("url", "backup_url"):
        url = body.get(name)
        if url is None and name == "backup_url":
            continue
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Rejected(MALFORMED, f"relay '{name}' is not an HTTP(S) URL", body)
    start, end = body.get("start_at"), body.get("end_at")
    if not _is_int(start) or not _is_int(end) or not 0 < end - start <= MAX_RELAY_MS:
        raise Rejected(MALFORMED, "relay window is start_at < end_at (ms, at most 6 h)", body)
    silence = [body.get("silence_dbfs"), body.get("silence_ms")]
    if silence != [None, None]:
        ranges = (SILENCE_DBFS_RANGE, SILENCE_MS_RANGE)
        if not all(
            _is_int(v) and lo <= v <= hi for v, (lo, hi) in zip(silence, ranges, strict=True)
        ):
            raise Rejected(
                MALFORMED, "relay silence_dbfs (-100..-10) and silence_ms (1000..3600000)", body
            )


def silence_of(body: dict[str, Any]) -> tuple[float, float] | None:
    """The dead-air thresholds a checked ``relay`` carries (dBFS, seconds), if any."""
    dbfs, ms = body.get("silence_dbfs"), body.get("silence_ms")
    if dbfs is None or ms is None:
        return None
    return float(dbfs), ms / 1000


def relay_report_error(kind: str, body: dict[str, Any], window_ms: int) -> str:
    """Why a verified relay report cannot be believed ("" if it can): the station's
    check of the numbers a receiver claims (never more than the window, never negative)."""
    if not isinstance(body.get("relay_id"), str) or not _is_int(body.get("counter")):
        return "relay report without relay_id and counter"
    limit = window_ms + RELAY_SLACK_MS
    if kind in ("relay-dropout", "relay-silence"):
        lasted = body.get("lasted_ms")
        if not _is_int(body.get("began_at")) or not _is_int(lasted) or not 0 <= lasted <= limit:
            return f"absurd dropout: {lasted!r} ms"
    if kind == "relay-ended":
        relayed = body.get("relayed_ms")
        if not _is_int(relayed) or not 0 <= relayed <= limit:
            return f"absurd relayed_ms: {relayed!r} (window {window_ms} ms)"
    if kind == "relay-started" and not _is_int(body.get("started_at")):
        return "relay-started without started_at"
    return ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def audio_ok(data: bytes, sha256: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(data).hexdigest(), sha256.lower())


def report(
    kind: str, receiver: str, at_ms: int, key: bytes | None = None, seq: int = 0, /, **fields: Any
) -> bytes:
    """A receiver's report (ack, done, error, status, heartbeat) as JSON.

    Version 2 signs it: ``seq`` (strictly increasing per receiver, the reference uses
    wall-clock microseconds) and ``sig`` = HMAC-SHA256 of the canonical string with the
    receiver's own key, exactly as commands are signed. Only the last will, fixed at
    connect time and published by the broker, goes unsigned (``key`` None): the station
    never counts it as evidence of anything but "offline".
    """
    if kind == "relay-silence":
        version = SILENCE_VERSION
    elif kind in RELAY_REPORTS or "relay_id" in fields:
        version = RELAY_VERSION
    else:
        version = PROTOCOL_VERSION
    body = {"v": version, "type": kind, "receiver": receiver, "at": at_ms, **fields}
    if key is not None:
        body = sign({**body, "seq": seq}, key)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
