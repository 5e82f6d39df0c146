"""A relay window carried by MQTT receivers themselves (protocol version 3).

The station sends each receiver of the zone one signed ``relay`` (the source's URL and
backup, the window, the relay's id); the receivers pull the stream, and what they say
back (``ack``, ``relay-started``, ``relay-dropout``, ``relay-ended``, or an ``error``) is
collected here, per receiver, until every one has ended or the window's end plus the
output's ``done_margin_seconds`` has passed. A receiver that never said it ended counts
as not having relayed at all: what cannot be proved did not air.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from broadcaster.playout.base import DeviceRelayResult, ReceiverOutcome, RelayTarget
from broadcaster.playout.silence import FLOOR_DBFS, SilenceEvent, SilenceSpan, SilenceStarted

log = logging.getLogger("broadcaster.mqtt")

END_GRACE_SECONDS = 2.0  # the receivers' relay-ended has a trip back


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class _RelayDevice:
    receiver: str
    acked: bool = False
    started_wall: int | None = None
    ended_wall: int | None = None
    relayed_ms: int | None = None
    outcome: str | None = None
    reason: str = ""
    dropouts: list[dict[str, object]] = field(default_factory=list)


class MqttRelay:
    """One zone-window at its receivers (see module); thread-safe."""

    def __init__(
        self,
        target: RelayTarget,
        receivers: list[str],
        sent_wall: int,
        sent_at: datetime,
        end_wall: int,
        margin_seconds: float,
    ) -> None:
        self.target = target
        self.sent_wall = sent_wall
        self.sent_at = sent_at
        self.end_wall = end_wall
        sent_mono = time.monotonic()
        self.limit = sent_mono + (end_wall - sent_wall) / 1000 + margin_seconds + END_GRACE_SECONDS
        self.devices = {r: _RelayDevice(r) for r in receivers}
        self.cond = threading.Condition()
        self.stopped_by = ""

    def _at(self, wall: int | None) -> datetime | None:
        """A receiver's wall-clock instant on the output's clock (shifted in tests)."""
        if wall is None:
            return None
        return self.sent_at + timedelta(milliseconds=wall - self.sent_wall)

    def on_report(self, receiver: str, kind: str, body: dict[str, Any]) -> None:
        heard = self._dead_air(kind, body)
        if heard is not None and self.target.on_silence is not None:
            try:  # told outside the lock; the alerting never stops the relay's reports
                self.target.on_silence(self.target.zone_id, heard, receiver)
            except Exception:
                log.exception(
                    "relay %s: telling dead air at %s failed", self.target.relay_id, receiver
                )
        with self.cond:
            d = self.devices.get(receiver)
            if d is None or d.outcome is not None:
                return
            if kind == "ack":
                d.acked = True
            elif kind == "relay-started":
                d.acked = True
                d.started_wall = _int(body.get("started_at"))
            elif kind == "relay-dropout":
                at = self._at(_int(body.get("began_at")))
                d.dropouts.append(
                    {
                        "at": at.isoformat() if at else "",
                        "seconds": round((_int(body.get("lasted_ms")) or 0) / 1000, 1),
                        "kind": str(body.get("kind") or "down")[:16],
                        "receiver": receiver,
                    }
                )
            elif kind == "relay-ended":
                d.acked = True
                d.started_wall = d.started_wall or _int(body.get("started_at"))
                d.ended_wall = _int(body.get("ended_at")) or _int(body.get("at"))
                d.relayed_ms = _int(body.get("relayed_ms"))
                d.outcome = "relayed"
                why = str(body.get("reason") or "")[:200]
                d.reason = f"{receiver}: {why}" if why else ""
            elif kind == "error":
                d.outcome = "rejected"
                d.reason = f"{receiver}: {body.get('code')}: {str(body.get('detail', ''))[:200]}"
            self.cond.notify_all()

    def _dead_air(self, kind: str, body: dict[str, Any]) -> SilenceEvent | None:
        """Dead air a receiver heard (protocol version 4): ``relay-silence`` once it has
        lasted the minimum (the alert goes out while the air is still dead), and the
        ``silence`` dropout once it is over (its full length)."""
        at = self._at(_int(body.get("began_at")))
        lasted = (_int(body.get("lasted_ms")) or 0) / 1000
        if at is None:
            return None
        if kind == "relay-silence":
            return SilenceStarted(at, lasted)
        if kind == "relay-dropout" and body.get("kind") == "silence":
            # Below the threshold throughout, by definition: its loudest is not reported.
            loudest = self.target.silence[0] if self.target.silence else FLOOR_DBFS
            return SilenceSpan(at, lasted, loudest)
        return None

    def _settle(self, why: str) -> None:
        """Every device still silent gets its verdict now (caller holds the lock)."""
        for d in self.devices.values():
            if d.outcome is not None:
                continue
            if not d.acked:
                d.outcome = "no-ack"
                d.reason = f"no acknowledgement from {d.receiver}"
            else:
                d.outcome = "no-end"
                d.reason = f"no end-of-relay report from {d.receiver}{why}"

    def wait(self, timeout: float | None) -> DeviceRelayResult | None:
        until = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while True:
                if all(d.outcome is not None for d in self.devices.values()):
                    return self._result()
                now = time.monotonic()
                if now >= self.limit:
                    self._settle("")
                    return self._result()
                if until is not None and now >= until:
                    return None
                nxt = self.limit if until is None else min(self.limit, until)
                self.cond.wait(max(0.01, nxt - now))

    def stop(self, reason: str) -> None:
        with self.cond:
            self.stopped_by = reason
            self._settle(f" ({reason})")
            self.cond.notify_all()

    def _result(self) -> DeviceRelayResult:
        outcomes = []
        dropouts: list[dict[str, object]] = []
        for d in sorted(self.devices.values(), key=lambda d: d.receiver):
            seconds = (d.relayed_ms or 0) / 1000 if d.outcome == "relayed" else 0.0
            outcomes.append(
                ReceiverOutcome(
                    receiver=d.receiver,
                    outcome=d.outcome or "no-ack",
                    reason=d.reason,
                    started_at=self._at(d.started_wall),
                    ended_at=self._at(d.ended_wall),
                    played_seconds=round(seconds, 1),
                )
            )
            dropouts += d.dropouts
        return DeviceRelayResult(tuple(outcomes), tuple(dropouts), self.stopped_by)
