"""The ``mqtt`` output: hamlet clusters as networked receivers, each proving what it played.

At air time the output signs a ``play`` command per receiver of the zone and publishes it
(QoS 1); each receiver fetches the audio from the station's audio server, checks its
hash, answers ``ack`` when it starts and ``done`` when it finishes. The playback ends when
every receiver has answered or run out of time, and its :class:`PlayResult` carries one
:class:`ReceiverOutcome` per receiver: the airing is ``aired`` only if all played.

Times on the wire are wall-clock milliseconds (what receivers can check); the evidence
is converted back to the output's clock, so a simulated week with real receivers logs
simulated instants.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from broadcaster.core.errors import ConfigErrors, Problem
from broadcaster.i18n import N_, _
from broadcaster.playout.base import (
    Clock,
    OutputError,
    PlayItem,
    PlayResult,
    ReceiverOutcome,
    RelayTarget,
    tcp_reachable,
)
from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.audio_server import AudioServer
from broadcaster.playout.mqtt.relay import MqttRelay
from broadcaster.playout.mqtt.settings import (
    MqttOutputSettings,
    check_ids,
    client,
    load_keys,
    validate,
)

log = logging.getLogger("broadcaster.mqtt")

STATION_YAML = "schedules/station.yaml"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Device:
    """One receiver's progress through one airing."""

    receiver: str
    ack_by: float  # monotonic: no ack by then is 'no-ack'
    outcome: str | None = None
    reason: str = ""
    code: str | None = None  # of an error report
    acked_wall: int | None = None
    acked_mono: float | None = None
    ended_wall: int | None = None
    played_ms: int | None = None


class MqttPlayback:
    def __init__(
        self,
        output: MqttOutput,
        item: PlayItem,
        receivers: list[str],
        sent_wall: int,
        sent_at: datetime,
        start_wall: int | None = None,
    ) -> None:
        self.output = output
        self.item = item
        self.sent_wall = sent_wall
        self.sent_at = sent_at
        self.sent_mono = time.monotonic()
        #: when the receivers were told to start (wall ms): ``start_at`` of a cued play
        self.start_wall = start_wall if start_wall is not None else sent_wall
        self.deadline = self.start_wall + int(output.settings.start_timeout_seconds * 1000)
        ack_by = self._mono(self.deadline) + 1.0  # the receiver's ack has a trip back
        self.devices = {r: _Device(r, ack_by) for r in receivers}
        self.cond = threading.Condition()
        self.stopped = False

    def _mono(self, wall: int) -> float:
        return self.sent_mono + (wall - self.sent_wall) / 1000

    # -- reports from the broker thread --------------------------------------------------
    def on_report(self, receiver: str, kind: str, body: dict[str, Any]) -> None:
        with self.cond:
            device = self.devices.get(receiver)
            if device is None or device.outcome is not None:
                return
            if kind == "ack":
                device.acked_wall = _int(body.get("started_at")) or _int(body.get("at"))
                device.acked_mono = time.monotonic()
            elif kind == "done":
                device.ended_wall = _int(body.get("at"))
                device.played_ms = _int(body.get("played_ms"))
                if device.acked_wall is None:
                    device.acked_wall = _int(body.get("started_at"))
                if body.get("completed") is True:
                    device.outcome = "played"
                else:
                    device.outcome = "incomplete"
                    device.reason = f"{receiver}: {body.get('reason') or 'stopped early'}"
            elif kind == "error":
                if device.acked_wall is not None and body.get("code") == protocol.REPLAYED:
                    return  # the play it already started, delivered again: not a refusal
                device.outcome = "rejected"
                device.code = str(body.get("code"))
                device.ended_wall = _int(body.get("at"))
                device.reason = f"{receiver}: {body.get('code')}: {body.get('detail', '')}"
            self.cond.notify_all()

    def lapsed(self, now_wall: int) -> list[str]:
        """Receivers of a cued play that will not start it unless told again.

        Those that refused it as expired or busy (something held them past its deadline,
        e.g. an emergency), and those that have said nothing although its deadline has
        passed (offline when it was sent). The station is starting the airing now, so
        they get a fresh play; everything else the cue already settled stands.
        """
        with self.cond:
            refused = [
                d.receiver
                for d in self.devices.values()
                if d.outcome == "rejected" and d.code in (protocol.EXPIRED, protocol.BUSY)
            ]
            silent = [
                d.receiver
                for d in self.devices.values()
                if d.outcome is None and d.acked_wall is None and now_wall > self.deadline
            ]
            return refused + silent

    def renew(self, receivers: list[str], deadline: int) -> None:
        """The lapsed receivers were sent a fresh play with this deadline."""
        with self.cond:
            for r in receivers:
                self.devices[r] = _Device(r, self._mono(deadline) + 1.0)
            self.cond.notify_all()

    # -- the Playback protocol -----------------------------------------------------------
    def wait(self, timeout: float | None) -> PlayResult | None:
        limit = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            while True:
                self._expire()
                if all(d.outcome is not None for d in self.devices.values()):
                    return self._result()
                now = time.monotonic()
                if limit is not None and now >= limit:
                    return None
                nxt = self._next_expiry() if limit is None else min(self._next_expiry(), limit)
                self.cond.wait(max(0.005, nxt - now))

    def stop(self) -> None:
        with self.cond:
            if self.stopped:
                return
            self.stopped = True
            playing = [d for d in self.devices.values() if d.outcome is None]
            for d in playing:
                d.outcome = "interrupted"
                d.reason = f"{d.receiver}: stopped by the station"
            self.cond.notify_all()
        for d in playing:
            self.output.send_stop(self.item.zone_id, d.receiver, self.item.airing_id)

    # -- timers ------------------------------------------------------------------------------
    def _done_limit(self, device: _Device) -> float:
        assert device.acked_mono is not None
        return (
            device.acked_mono
            + self.item.duration_seconds
            + self.output.settings.done_margin_seconds
        )

    def _next_expiry(self) -> float:
        limits = []
        for d in self.devices.values():
            if d.outcome is None:
                limits.append(self._done_limit(d) if d.acked_mono else d.ack_by)
        return min(limits) if limits else time.monotonic()

    def _expire(self) -> None:
        now = time.monotonic()
        for d in self.devices.values():
            if d.outcome is not None:
                continue
            if d.acked_mono is None and now >= d.ack_by:
                d.outcome = "no-ack"
                d.reason = f"no acknowledgement from {d.receiver}"
            elif d.acked_mono is not None and now >= self._done_limit(d):
                d.outcome = "no-done"
                d.reason = f"no completion report from {d.receiver}"

    def _at(self, wall: int | None) -> datetime | None:
        """A receiver's wall-clock instant on the output's clock."""
        if wall is None:
            return None
        return self.sent_at + timedelta(milliseconds=wall - self.sent_wall)

    def _result(self) -> PlayResult:
        outcomes = tuple(
            ReceiverOutcome(
                receiver=d.receiver,
                outcome=d.outcome or "no-ack",
                reason=d.reason,
                started_at=self._at(d.acked_wall),
                ended_at=self._at(d.ended_wall),
                played_seconds=d.played_ms / 1000 if d.played_ms is not None else None,
            )
            for d in sorted(self.devices.values(), key=lambda d: d.receiver)
        )
        bad = [o for o in outcomes if not o.played]
        if not bad:
            return PlayResult(True, "", outcomes)
        if self.stopped:
            return PlayResult(False, "stopped", outcomes)
        silent = [o.receiver for o in bad if o.outcome == "no-ack"]
        parts = []
        if silent:
            parts.append("no acknowledgement from " + ", ".join(silent))
        parts += [o.reason for o in bad if o.outcome != "no-ack"]
        played = [o.receiver for o in outcomes if o.played]
        if played:
            parts.append(f"played on {len(played)}/{len(outcomes)}: " + ", ".join(played))
        return PlayResult(False, "; ".join(parts), outcomes)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class MqttOutput:
    """One broker connection and one audio server for all the zones mapped to it."""

    #: Receivers run on real time and answer quickly when told to play instantly, so a
    #: simulated run may keep this output real (``simulate --network``).
    simulation_capable = True

    Settings = MqttOutputSettings

    @classmethod
    def check_environment(cls, settings: MqttOutputSettings, root: Path) -> list[str]:
        """The broker must accept a connection (receivers are checked by ``receivers``)."""
        return tcp_reachable(settings.broker.host, settings.broker.port, "MQTT broker")

    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        self.name = name
        self.root = root
        self.clock = clock
        prefix = f"outputs.{name}"
        self.settings: MqttOutputSettings = validate(
            MqttOutputSettings, settings, STATION_YAML, prefix
        )
        check_ids(self.settings.receivers, STATION_YAML, f"{prefix}.receivers")
        self.station_id = _station_id(root)
        keys_path = Path(self.settings.keys_file)
        keys_path = keys_path if keys_path.is_absolute() else root / keys_path
        every = [r for ids in self.settings.receivers.values() for r in ids]
        self.keys = load_keys(keys_path, self.settings.keys_file, every)
        self.reports = protocol.ReportVerifier(
            dict(self.keys), require_signature=self.settings.require_signed_reports
        )
        self.health = NetworkHealth(root / "state" / f"mqtt-{name}.json", name)
        self._counter = 0
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._active: dict[tuple[str, int], MqttPlayback] = {}
        self._cued: dict[int, MqttPlayback] = {}
        self._sent: dict[str, set[str]] = {}  # audio sha256 -> receivers told to fetch it
        # (receiver, airing) -> counter of the play sent: an error about another command
        # (a replay of an old play, say) is not this play's refusal.
        self._play_counters: dict[tuple[str, int], int] = {}
        # (receiver, counter of its relay command) -> the window it is for
        self._relays: dict[tuple[str, int], MqttRelay] = {}
        try:
            self.audio = AudioServer(
                self.settings.audio_server.bind,
                self.settings.audio_server.port,
                self.settings.audio_server.public_url,
            )
        except OSError as exc:
            raise ConfigErrors(
                [
                    Problem(
                        _("cannot serve audio: {err}").format(err=exc.strerror),
                        path=STATION_YAML,
                        field=f"{prefix}.audio_server",
                    )
                ]
            ) from None
        self.audio.start()
        self.connected = threading.Event()
        self.client = client(self.settings.broker, root, f"station-{self.station_id}-{name}")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 10)
        self.client.connect_async(
            self.settings.broker.host, self.settings.broker.port, self.settings.broker.keepalive
        )
        self._closing = threading.Event()
        self._loop = threading.Thread(target=self._supervise, name=f"mqtt-{name}", daemon=True)
        self._loop.start()
        # A daemon that starts airing at once should not lose its first commands to the
        # handshake; paho queues them anyway, so this only shortens the first airing.
        self.connected.wait(3.0)

    # -- broker callbacks ----------------------------------------------------------------
    def _supervise(self) -> None:
        """The broker connection's loop, on a thread of ours: if it ever dies (a bug in
        a handler, in paho, a hostile packet), it is restarted at once and the alarm is
        raised (the log, and ``broadcaster receivers`` through the health file). A dead
        loop would otherwise fail every networked airing with "no acknowledgement"."""
        while not self._closing.is_set():
            try:
                self.client.loop_forever(retry_first_connection=True)
            except Exception as exc:
                log.exception("mqtt output %s: network loop died; restarting", self.name)
                # A fresh connection: paho keeps a half-handled packet otherwise, and
                # would hand the same message to the same failing code again. Reports
                # in flight meanwhile are lost: their airing fails, never airs falsely.
                self.connected.clear()
                with contextlib.suppress(Exception):
                    if not self._closing.is_set():
                        self.client.reconnect()
                self.health.restarted(exc)
                self._closing.wait(0.2)  # a loop that dies at once must not spin
            else:
                if not self._closing.is_set():  # returned without being told to stop
                    self._closing.wait(1.0)

    def _on_connect(self, c: mqtt.Client, _u, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.warning("mqtt output %s: broker refused: %s", self.name, reason_code)
            return
        base = f"{protocol.TOPIC_ROOT}/{self.station_id}/+/+/"
        kinds = ("ack", "done", "error", *protocol.RELAY_REPORTS)
        c.subscribe([(base + kind, 1) for kind in kinds])
        self.connected.set()
        self.health.set_connected(True)

    def _on_disconnect(self, _c, _u, _flags, reason_code, _props) -> None:
        self.connected.clear()
        self.health.set_connected(False)
        log.warning("mqtt output %s: disconnected (%s)", self.name, reason_code)

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        """A report: whatever it holds, this returns (handled, or ignored and counted)."""
        try:
            self._report(msg.topic, msg.payload)
        except Exception:
            self.health.fault()
            log.exception("mqtt output %s: a report could not be handled; dropped", self.name)

    def _report(self, topic_name: str, payload: bytes) -> None:
        parsed = protocol.parse_topic(topic_name)
        if parsed is None:
            return
        _station, _zone, receiver, kind = parsed
        try:
            body = self.reports.check(receiver, kind, payload)
        except protocol.Rejected as rejected:
            self.health.ignored(rejected.code, receiver, rejected.detail)
            return
        if self._relay_report(receiver, kind, body):
            return
        airing = _int(body.get("airing_id"))
        if airing is None:
            return
        with self._lock:
            playback = self._active.get((receiver, airing))
        if playback is None:
            return
        if kind == "error" and body.get("counter") != self._play_counters.get((receiver, airing)):
            return  # the receiver refused some other command naming this airing
        at = _int(body.get("at"))
        if at is None or at < playback.sent_wall - protocol.REPORT_SKEW_MS:
            # Signed, but said before this play was sent: an old report replayed.
            self.health.ignored(protocol.REPLAYED, receiver, f"report at {at} predates the play")
            return
        playback.on_report(receiver, kind, body)

    def _relay_report(self, receiver: str, kind: str, body: dict[str, Any]) -> bool:
        """A verified report about a relay window (True: it was one, used or ignored).

        It names the counter of the ``relay`` sent to this receiver; a report of a relay
        this output did not send, said before it was sent, or claiming absurd figures
        (more seconds than the window, negative ones) is ignored and counted."""
        counter = _int(body.get("counter"))
        if kind not in protocol.RELAY_REPORTS and not (
            kind in ("ack", "error") and body.get("airing_id") is None
        ):
            return False
        with self._lock:
            relay = self._relays.get((receiver, counter)) if counter is not None else None
        if relay is None:
            if kind in protocol.RELAY_REPORTS:
                self.health.ignored(protocol.WRONG_TARGET, receiver, "report of no relay sent")
                return True
            return False
        at = _int(body.get("at"))
        if at is None or at < relay.sent_wall - protocol.REPORT_SKEW_MS:
            self.health.ignored(protocol.REPLAYED, receiver, f"report at {at} predates the relay")
            return True
        if kind in protocol.RELAY_REPORTS:
            window_ms = relay.end_wall - relay.sent_wall
            wrong = protocol.relay_report_error(kind, body, window_ms)
            if wrong or body.get("relay_id") != relay.target.relay_id:
                self.health.ignored(protocol.MALFORMED, receiver, wrong or "another relay")
                return True
        relay.on_report(receiver, kind, body)
        return True

    def start_relay(self, target: RelayTarget) -> MqttRelay:
        """Send each receiver of the zone a signed ``relay`` for the window: they pull
        the source themselves (the station streams nothing over MQTT) and report; the
        returned relay collects their reports (see ``mqtt/relay.py``)."""
        receivers = self.receivers_of(target.zone_id)
        if not receivers:
            raise OutputError(
                N_("no receivers configured for zone '{zone}'").format(zone=target.zone_id)
            )
        sent_wall, now = wall_ms(), self.clock.now()

        def wall(instant: datetime) -> int:
            return sent_wall + int((instant - now).total_seconds() * 1000)

        start_wall, end_wall = wall(target.start), wall(target.end)
        relay = MqttRelay(
            target, receivers, sent_wall, now, end_wall, self.settings.done_margin_seconds
        )
        numbered: list[tuple[str, int]] = []
        for r in receivers:
            command = self._command(
                "relay",
                target.zone_id,
                r,
                url=target.url,
                backup_url=target.backup_url,
                relay_id=target.relay_id,
                start_at=start_wall,
                end_at=end_wall,
                silence_dbfs=round(target.silence[0]) if target.silence else None,
                silence_ms=round(target.silence[1] * 1000) if target.silence else None,
            )
            command = replace(command, expires_at=max(command.expires_at, end_wall))
            self._publish(command, track=lambda c, r=r: self._track_relay(r, c, relay, numbered))
        threading.Thread(target=self._forget_relay, args=(relay, numbered), daemon=True).start()
        return relay

    def _track_relay(
        self, receiver: str, counter: int, relay: MqttRelay, numbered: list[tuple[str, int]]
    ) -> None:
        with self._lock:
            self._relays[(receiver, counter)] = relay
            numbered.append((receiver, counter))

    def _forget_relay(self, relay: MqttRelay, numbered: list[tuple[str, int]]) -> None:
        relay.wait(None)
        with self._lock:
            for key in numbered:
                self._relays.pop(key, None)

    # -- commands --------------------------------------------------------------------------
    def _publish(self, command: protocol.Command, track: Any = None) -> mqtt.MQTTMessageInfo:
        """Number, sign and queue a command, all under one lock.

        Counters are strictly increasing across restarts too (microseconds of the wall
        clock), and a receiver refuses any counter not above the last it accepted: lanes
        and the sweep send to the same receiver from different threads, so a counter
        taken by one thread must not reach the broker after a higher one taken by
        another. Commands leave in counter order.
        """
        name = protocol.topic(command.station, command.zone, command.receiver, "cmd")
        key = self.keys[command.receiver]
        with self._send_lock:
            self._counter = max(self._counter + 1, time.time_ns() // 1000)
            numbered = replace(command, counter=self._counter)
            if command.type == "play" and command.airing_id is not None:
                self._play_counters[(command.receiver, command.airing_id)] = self._counter
            if track is not None:  # before it leaves: its reports must find their window
                track(self._counter)
            return self.client.publish(name, numbered.signed_payload(key), qos=1)

    def _command(self, kind: str, zone: str, receiver: str, **fields: Any) -> protocol.Command:
        now = wall_ms()
        ttl = int(self.settings.command_ttl_seconds * 1000)
        return protocol.Command(
            type=kind,
            station=self.station_id,
            zone=zone,
            receiver=receiver,
            counter=0,  # numbered when published
            issued_at=now,
            expires_at=now + ttl,
            **fields,
        )

    def receivers_of(self, zone_id: str) -> list[str]:
        return list(self.settings.receivers.get(zone_id, []))

    @property
    def lead_seconds(self) -> float:
        """How long before a slot the engine should :meth:`cue` its airings here."""
        return self.settings.lead_seconds

    def _plays(
        self, item: PlayItem, receivers: list[str], url: str, deadline: int, start_at: int | None
    ) -> None:
        """Sign and publish one ``play`` per receiver. A cued play stays valid until its
        deadline even when that is further off than the usual command lifetime."""
        duration_ms = int(item.duration_seconds * 1000)
        with self._lock:
            self._sent.setdefault(item.audio_sha256, set()).update(receivers)
        for r in receivers:
            command = self._command(
                "play",
                item.zone_id,
                r,
                airing_id=item.airing_id,
                url=url,
                sha256=item.audio_sha256,
                duration_ms=duration_ms,
                deadline=deadline,
                priority=str(item.priority),
                start_at=start_at,
            )
            if command.expires_at < deadline:
                command = replace(command, expires_at=deadline)
            self._publish(command)

    def _url(self, item: PlayItem) -> str:
        try:
            return self.audio.publish(item.audio_path, item.audio_sha256)
        except OSError as exc:
            raise OutputError(
                N_("cannot read {path}: {err}").format(path=item.audio_path, err=exc.strerror)
            ) from None

    def _track(self, playback: MqttPlayback) -> None:
        with self._lock:
            for r in playback.devices:
                self._active[(r, playback.item.airing_id)] = playback

    def cue(self, item: PlayItem) -> None:
        """Send the play ahead of its slot, with ``start_at`` = the scheduled instant on the
        wall clock: receivers fetch and check the audio now and start by their own clock.

        The playback collects their reports from now on; :meth:`start` at the slot adopts
        it. Wall time is derived from the output's clock (a real-time clock, possibly
        offset), so this is for the real-time driver, not for a jumping simulated clock.
        """
        receivers = self.receivers_of(item.zone_id)
        if not receivers:
            return  # start() will say so at the slot, where it is logged
        try:
            url = self._url(item)
        except OutputError:
            return  # the same: start() fails at the slot with the reason
        sent_wall = wall_ms()
        now = self.clock.now()
        start_wall = sent_wall + int((item.scheduled_at - now).total_seconds() * 1000)
        playback = MqttPlayback(self, item, receivers, sent_wall, now, max(start_wall, sent_wall))
        with self._lock:
            old = self._cued.pop(item.airing_id, None)
            self._cued[item.airing_id] = playback
        if old is not None:
            self._drop(old)
        self._track(playback)
        self._plays(item, receivers, url, playback.deadline, playback.start_wall)

    def uncue(self, airing_id: int) -> None:
        """The airing will not start after all (cancelled, refused by the gate at its slot,
        missed): tell the receivers holding it to drop it."""
        with self._lock:
            playback = self._cued.pop(airing_id, None)
        if playback is not None:
            self._drop(playback)

    def _drop(self, playback: MqttPlayback) -> None:
        playback.stop()
        with self._lock:
            for r in playback.devices:
                if self._active.get((r, playback.item.airing_id)) is playback:
                    del self._active[(r, playback.item.airing_id)]

    def preload(self, audio_path: Path, sha256: str) -> None:
        """Have every receiver fetch and keep this audio (an approved emergency template),
        so an emergency from it starts from their cache. Once per audio and receiver per
        station run, skipping receivers already sent a play of it."""
        if not self.settings.prefetch_emergencies:
            return
        with self._lock:
            sent = self._sent.setdefault(sha256, set())
            todo = [
                (zone, r)
                for zone, receivers in self.settings.receivers.items()
                for r in receivers
                if r not in sent
            ]
            sent.update(r for _zone, r in todo)  # a play of it fetches it as well
        if not todo:
            return
        try:
            url = self.audio.publish(audio_path, sha256)
        except OSError:
            return  # nothing lost: an emergency from it would download it
        for zone, r in todo:
            self._publish(self._command("prefetch", zone, r, url=url, sha256=sha256))

    def start(self, item: PlayItem) -> MqttPlayback:
        receivers = self.receivers_of(item.zone_id)
        if not receivers:
            raise OutputError(
                N_("no receivers configured for zone '{zone}'").format(zone=item.zone_id)
            )
        with self._lock:
            cued = self._cued.pop(item.airing_id, None)
        if cued is not None and cued.item.audio_sha256 != item.audio_sha256:
            self._drop(cued)  # re-approved with other audio since it was cued
            cued = None
        if cued is not None:
            playback = cued
            lapsed = playback.lapsed(wall_ms())
            if lapsed:
                try:
                    url = self._url(item)
                except OutputError:
                    self._drop(playback)  # the engine logs the failure: nothing may play
                    raise
                deadline = wall_ms() + int(self.settings.start_timeout_seconds * 1000)
                playback.renew(lapsed, deadline)
                self._plays(item, lapsed, url, deadline, None)
        else:
            url = self._url(item)
            sent_wall = wall_ms()
            playback = MqttPlayback(self, item, receivers, sent_wall, self.clock.now())
            self._track(playback)
            self._plays(item, receivers, url, playback.deadline, None)
        threading.Thread(target=self._forget, args=(playback,), daemon=True).start()
        return playback

    def _forget(self, playback: MqttPlayback) -> None:
        """Stop routing reports to a playback once it has its result."""
        playback.wait(None)
        with self._lock:
            for r in playback.devices:
                if self._active.get((r, playback.item.airing_id)) is playback:
                    del self._active[(r, playback.item.airing_id)]
        with self._send_lock:
            for r in playback.devices:
                self._play_counters.pop((r, playback.item.airing_id), None)

    def send_stop(self, zone: str, receiver: str, airing_id: int | None) -> None:
        self._publish(self._command("stop", zone, receiver, airing_id=airing_id))

    def send_volume(self, zone: str, receiver: str, volume: int) -> mqtt.MQTTMessageInfo:
        return self._publish(self._command("volume", zone, receiver, volume=volume))

    def close(self) -> None:
        self._closing.set()
        self.client.disconnect()
        self._loop.join(timeout=5)
        self.health.close()
        self.audio.close()


class NetworkHealth:
    """What the station's network side survived, for operators: loop restarts, handler
    faults, reports ignored (unsigned, forged, replayed, malformed) by kind.

    Written to ``<station>/state/mqtt-<output>.json`` at most once a second (a flood of
    forged reports must not become a flood of writes or log lines), read by
    ``broadcaster receivers``. The log gets the first ignored report of each kind and
    then one line a minute per kind with the count.
    """

    def __init__(self, path: Path, output: str) -> None:
        self.path = path
        self.output = output
        self.loop_restarts = 0
        self.last_restart: str = ""
        self.last_restart_at: int | None = None
        self.faults = 0
        self.connected = False
        self.ignored_reports: collections.Counter[str] = collections.Counter()
        self.last_ignored: dict[str, str] = {}
        self._logged: dict[str, float] = {}
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="mqtt-health", daemon=True)
        self._dirty.set()
        self._writer.start()

    def restarted(self, exc: BaseException) -> None:
        with self._lock:
            self.loop_restarts += 1
            self.last_restart = f"{type(exc).__name__}: {exc}"[:300]
            self.last_restart_at = wall_ms()
        self._dirty.set()

    def fault(self) -> None:
        with self._lock:
            self.faults += 1
        self._dirty.set()

    def set_connected(self, value: bool) -> None:
        self.connected = value
        self._dirty.set()

    def ignored(self, code: str, receiver: str, detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.ignored_reports[code] += 1
            self.last_ignored[code] = f"{receiver}: {detail}"[:300]
            count = self.ignored_reports[code]
            say = now - self._logged.get(code, -120.0) >= 60.0
            if say:
                self._logged[code] = now
        if say:
            log.warning(
                "mqtt output %s: ignored %s report(s) (%s so far): %s: %s",
                self.output,
                code,
                count,
                receiver,
                detail,
            )
        self._dirty.set()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "output": self.output,
                "pid": os.getpid(),
                "updated_at": wall_ms(),
                "connected": self.connected,
                "loop_restarts": self.loop_restarts,
                "last_restart": self.last_restart,
                "last_restart_at": self.last_restart_at,
                "handler_faults": self.faults,
                "ignored_reports": dict(self.ignored_reports),
                "last_ignored": dict(self.last_ignored),
            }

    def _write_loop(self) -> None:
        while not self._closed.is_set():
            self._dirty.wait(5.0)
            if self._dirty.is_set():
                self._dirty.clear()
                self._write()
            self._closed.wait(1.0)

    def _write(self) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".part")
            tmp.write_text(json.dumps(self.snapshot(), ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)

    def close(self) -> None:
        self._closed.set()
        self._dirty.set()
        self._writer.join(timeout=3)
        self._write()


def _station_id(root: Path) -> str:
    """The station's id, for topics; read from station.yaml (already validated)."""
    from broadcaster.config.yamlmarks import load_yaml_file

    data = load_yaml_file(root / STATION_YAML, STATION_YAML)
    return str(data["station"]["id"])
