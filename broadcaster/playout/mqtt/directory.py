"""What the broker knows about a station's receivers, read from their retained messages.

Each receiver keeps a retained ``status`` (online since..., or its last will: offline)
and a retained ``heartbeat`` (its last sign of life). Together they answer "which
clusters are reachable, and since when not" without the station keeping any state: a
fresh ``broadcaster receivers`` reads them straight from the broker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _
from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.settings import BrokerSettings, client

STALE_HEARTBEATS = 3  # missed heartbeats before an 'online' receiver is called stale


@dataclass
class ReceiverSeen:
    receiver: str
    zone: str
    status: dict[str, Any] = field(default_factory=dict)
    heartbeat: dict[str, Any] = field(default_factory=dict)
    #: retained messages on its topics that were not signed with its key (forged)
    ignored: int = 0

    @property
    def last_heartbeat_ms(self) -> int | None:
        at = self.heartbeat.get("at")
        return at if isinstance(at, int) else None

    def state(self, now_ms: int) -> tuple[str, int | None]:
        """('online'|'offline'|'stale'|'never seen', since ms or None)."""
        if not self.status:
            return "never seen", None
        if self.status.get("state") == "online":
            beat = self.last_heartbeat_ms
            period = self.status.get("heartbeat_s")
            if (
                beat is not None
                and isinstance(period, int | float)
                and now_ms - beat > STALE_HEARTBEATS * period * 1000
            ):
                return "stale", beat
            since = self.status.get("since")
            return "online", since if isinstance(since, int) else None
        since = self.status.get("since")
        if isinstance(since, int) and since > 0:
            return "offline", since
        # A last will carries no time: the last heartbeat bounds when it went silent.
        return "offline", self.last_heartbeat_ms


def snapshot(
    broker: BrokerSettings,
    base: Path,
    station: str,
    expected: dict[str, str],
    wait: float = 1.5,
    keys: dict[str, bytes] | None = None,
) -> dict[str, ReceiverSeen]:
    """Retained status and heartbeat of every receiver of ``station``.

    ``expected`` maps configured receiver ids to zones; receivers the broker knows but
    the station does not list are returned too (a misconfigured device shows up). With
    ``keys``, a message must be signed with its receiver's key to count (protocol 2);
    only the last will ("offline", which the broker publishes) may be unsigned.
    """
    seen = {r: ReceiverSeen(r, z) for r, z in expected.items()}
    lock = threading.Lock()
    ready = threading.Event()
    failure: list[str] = []
    c = client(broker, base)

    def on_connect(cl: mqtt.Client, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            failure.append(str(reason_code))
            ready.set()
            return
        base_topic = f"{protocol.TOPIC_ROOT}/{station}/+/+/"
        cl.subscribe([(base_topic + "status", 1), (base_topic + "heartbeat", 1)])
        ready.set()

    def on_message(_cl, _u, msg: mqtt.MQTTMessage) -> None:
        parsed = protocol.parse_topic(msg.topic)
        if parsed is None:
            return
        _s, zone, receiver, kind = parsed
        try:
            body = protocol.decode(msg.payload) if msg.payload else {}
        except protocol.Undecodable:
            body = None
        trusted = body is not None and _trusted(body, receiver, kind, keys)
        with lock:
            entry = seen.setdefault(receiver, ReceiverSeen(receiver, zone))
            if not trusted:
                entry.ignored += 1
            elif kind == "status":
                entry.status = body
            elif kind == "heartbeat":
                entry.heartbeat = body

    c.on_connect = on_connect
    c.on_message = on_message
    try:
        c.connect(broker.host, broker.port, broker.keepalive)
    except OSError as exc:
        raise BroadcasterError(
            _("MQTT broker {host}:{port} unreachable: {err}").format(
                host=broker.host, port=broker.port, err=exc.strerror or exc
            )
        ) from None
    c.loop_start()
    try:
        if not ready.wait(10) or failure:
            raise BroadcasterError(
                _("MQTT broker {host}:{port} refused the connection: {err}").format(
                    host=broker.host,
                    port=broker.port,
                    err=failure[0] if failure else _("no answer"),
                )
            )
        # Retained messages arrive right after subscribing; stop early once all are in.
        limit = time.monotonic() + wait
        while time.monotonic() < limit:
            with lock:
                if seen and all(e.status and e.heartbeat for e in seen.values()):
                    break
            time.sleep(0.05)
    finally:
        c.disconnect()
        c.loop_stop()
    return seen


def _trusted(body: dict[str, Any], receiver: str, kind: str, keys: dict[str, bytes] | None) -> bool:
    """A retained message the listing may believe."""
    if not body:
        return True  # an empty retained message clears the topic
    if keys is None:
        return True
    key = keys.get(receiver)
    if key is None:
        return True  # an unknown device: shown as such, it vouches for nothing
    if "sig" not in body:
        return kind == "status" and body.get("state") == "offline"  # the last will
    return body.get("receiver") == receiver and protocol.signature_ok(body, key)
