"""Operations on networked receivers: who is reachable, what each missed, their volume."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.context import StationContext
from broadcaster.app.permissions import Action
from broadcaster.core.errors import BroadcasterError, UsageProblem
from broadcaster.core.model import ReceiverOutcome
from broadcaster.core.timeutil import parse_week, week_bounds_utc
from broadcaster.i18n import _
from broadcaster.store import onair

if TYPE_CHECKING:
    from broadcaster.playout.mqtt.settings import MqttOutputSettings

# The MQTT plugin (and paho) is imported by the operations that talk to receivers, not by
# ``status``, which only reads their stored reports (issue 15, start-up).
STATION_YAML = "schedules/station.yaml"


@dataclass
class ReceiverLine:
    receiver: str
    zone: str
    output: str
    state: str
    since: datetime | None
    last_heartbeat: datetime | None
    firmware: str
    version: str
    volume: int | None
    playing: int | None
    configured: bool
    ignored: int = 0  # retained messages on its topics not signed with its key
    loop_restarts: int = 0  # its network loop died and was restarted (from its heartbeat)
    faults: int = 0  # commands it could not handle and dropped (from its heartbeat)


@dataclass
class StationHealth:
    """The daemon's network side, from ``<station>/state/mqtt-<output>.json``."""

    output: str
    connected: bool
    loop_restarts: int
    last_restart: str
    last_restart_at: datetime | None
    handler_faults: int
    ignored_reports: dict[str, int]
    last_ignored: dict[str, str]
    updated_at: datetime | None


def _int_field(data: dict, name: str) -> int:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def station_health(ctx: StationContext) -> list[StationHealth]:
    """What each mqtt output of the running (or last) daemon survived: network loop
    restarts, handler faults, and the reports it ignored, by kind."""
    from broadcaster.playout.mqtt import protocol

    found = []
    for name in _require_outputs(ctx):
        path = ctx.root / "state" / f"mqtt-{name}.json"
        try:
            data = protocol.decode(path.read_bytes())
        except (OSError, protocol.Undecodable):
            continue
        ignored = data.get("ignored_reports")
        last = data.get("last_ignored")
        found.append(
            StationHealth(
                output=name,
                connected=data.get("connected") is True,
                loop_restarts=_int_field(data, "loop_restarts"),
                last_restart=str(data.get("last_restart") or ""),
                last_restart_at=_instant(_int_field(data, "last_restart_at")),
                handler_faults=_int_field(data, "handler_faults"),
                ignored_reports={str(k): v for k, v in ignored.items() if isinstance(v, int)}
                if isinstance(ignored, dict)
                else {},
                last_ignored={str(k): str(v) for k, v in last.items()}
                if isinstance(last, dict)
                else {},
                updated_at=_instant(_int_field(data, "updated_at")),
            )
        )
    return found


def mqtt_outputs(ctx: StationContext) -> dict[str, MqttOutputSettings]:
    from broadcaster.playout.mqtt.settings import MqttOutputSettings, validate

    return {
        name: validate(MqttOutputSettings, spec.settings, STATION_YAML, f"outputs.{name}")
        for name, spec in ctx.station.outputs.items()
        if spec.type == "mqtt"
    }


def _require_outputs(ctx: StationContext) -> dict[str, MqttOutputSettings]:
    found = mqtt_outputs(ctx)
    if not found:
        raise BroadcasterError(
            _("no output of type 'mqtt' in station.yaml: there are no networked receivers"),
            path=STATION_YAML,
            field="outputs",
        )
    return found


def _instant(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def receivers(ctx: StationContext, wait: float = 1.5) -> list[ReceiverLine]:
    """Every configured receiver (and any unknown one the broker has seen), with state."""
    from broadcaster.playout.mqtt.directory import snapshot
    from broadcaster.playout.mqtt.output import wall_ms
    from broadcaster.playout.mqtt.settings import load_keys

    lines: list[ReceiverLine] = []
    now = wall_ms()
    for name, settings in _require_outputs(ctx).items():
        expected = {r: zone for zone, ids in settings.receivers.items() for r in ids}
        keys = load_keys(ctx.root / settings.keys_file, settings.keys_file, list(expected))
        seen = snapshot(settings.broker, ctx.root, ctx.station.id, expected, wait, keys)
        for rid, entry in sorted(seen.items(), key=lambda kv: (kv[1].zone, kv[0])):
            state, since = entry.state(now)
            hb = entry.heartbeat
            lines.append(
                ReceiverLine(
                    receiver=rid,
                    zone=entry.zone,
                    output=name,
                    state=state,
                    since=_instant(since),
                    last_heartbeat=_instant(entry.last_heartbeat_ms),
                    firmware=str(entry.status.get("firmware") or ""),
                    version=str(entry.status.get("version") or ""),
                    volume=hb.get("volume") if isinstance(hb.get("volume"), int) else None,
                    playing=hb.get("playing") if isinstance(hb.get("playing"), int) else None,
                    configured=rid in expected,
                    ignored=entry.ignored,
                    loop_restarts=_int_field(hb, "loop_restarts"),
                    faults=_int_field(hb, "faults"),
                )
            )
    return lines


@dataclass(frozen=True)
class ReceiverSummary:
    """The receivers at one moment, for the dashboard: how many are online, and the
    configured ones that are not (offline, stale, never seen)."""

    at: datetime
    total: int
    online: int
    not_online: tuple[ReceiverLine, ...]
    problem: str = ""  # the broker could not be asked (its message)


class ReceiverWatch:
    """The receivers' state kept fresh in the background: asking the broker takes a
    second or more (retained messages are awaited), too slow for a page polled every
    few seconds, so a thread asks every ``every`` seconds and the page reads the last
    answer. Only for a station with mqtt outputs (``wanted``)."""

    def __init__(self, ctx: StationContext, every: float = 30.0, wait: float = 1.0) -> None:
        self.ctx = ctx
        self.every = every
        self.wait = wait
        self._latest: ReceiverSummary | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def wanted(ctx: StationContext) -> bool:
        return any(spec.type == "mqtt" for spec in ctx.station.outputs.values())

    def latest(self) -> ReceiverSummary | None:
        """The last answer, or None before the first one came."""
        return self._latest

    def refresh(self) -> ReceiverSummary:
        now = self.ctx.clock.now()
        try:
            lines = receivers(self.ctx, wait=self.wait)
        except BroadcasterError as exc:
            summary = ReceiverSummary(now, 0, 0, (), exc.problem.message)
        else:
            configured = [line for line in lines if line.configured]
            summary = ReceiverSummary(
                now,
                len(configured),
                sum(1 for line in configured if line.state == "online"),
                tuple(line for line in configured if line.state != "online"),
            )
        self._latest = summary
        return summary

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="receiver-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.wait + 5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.every)


def receiver_misses(ctx: StationContext, week_label: str) -> list[ReceiverOutcome]:
    """Per-receiver outcomes other than 'played' for airings scheduled in the week."""
    start, end = week_bounds_utc(*parse_week(week_label), ctx.station.tz)
    with ctx.db.read() as s:
        return onair.receiver_misses(s, start, end)


def send_volume(
    ctx: StationContext, level: int, zone: str | None, receiver: str | None, actor: Actor
) -> list[str]:
    """Signed ``volume`` commands to a receiver, a zone's receivers, or all of them: an
    operator's action (of that zone; of every zone when none is named), audited."""
    if not 0 <= level <= 100:
        raise UsageProblem(_("LEVEL: a volume is 0..100"))
    target = receiver or zone or "all"
    with audited(ctx, actor, Action.RECEIVERS_CONTROL, target, zone=zone) as note:
        sent = _send_commands(ctx, "volume", zone, receiver, volume=level)
        note.detail = f"volume {level} to {len(sent)} receiver(s)"
        return sent


def send_resync(
    ctx: StationContext, zone: str | None, receiver: str | None, actor: Actor
) -> list[str]:
    """Signed ``resync`` commands: each receiver's counter goes back to this station's
    clock (after the station's clock was wrong ahead and receivers accepted a counter
    from the future, or a receiver's state was restored from elsewhere). Audited."""
    target = receiver or zone or "all"
    with audited(ctx, actor, Action.RECEIVERS_CONTROL, target, zone=zone) as note:
        sent = _send_commands(ctx, "resync", zone, receiver)
        note.detail = f"resync to {len(sent)} receiver(s)"
        return sent


def _send_commands(
    ctx: StationContext, kind: str, zone: str | None, receiver: str | None, **fields: int
) -> list[str]:
    from broadcaster.playout.mqtt import protocol
    from broadcaster.playout.mqtt.output import wall_ms
    from broadcaster.playout.mqtt.settings import client, load_keys

    sent: list[str] = []
    for _name, settings in _require_outputs(ctx).items():
        targets = [
            (z, r)
            for z, ids in settings.receivers.items()
            for r in ids
            if (zone is None or z == zone) and (receiver is None or r == receiver)
        ]
        if not targets:
            continue
        keys = load_keys(
            ctx.root / settings.keys_file, settings.keys_file, [r for _z, r in targets]
        )
        c = client(settings.broker, ctx.root)
        try:
            c.connect(settings.broker.host, settings.broker.port, settings.broker.keepalive)
        except OSError as exc:
            raise BroadcasterError(
                _("MQTT broker {host}:{port} unreachable: {err}").format(
                    host=settings.broker.host, port=settings.broker.port, err=exc.strerror or exc
                )
            ) from None
        c.loop_start()
        try:
            infos = []
            counter = 0
            for z, r in targets:
                now = wall_ms()
                counter = max(counter + 1, time.time_ns() // 1000)
                command = protocol.Command(
                    type=kind,
                    station=ctx.station.id,
                    zone=z,
                    receiver=r,
                    counter=counter,
                    issued_at=now,
                    expires_at=now + int(settings.command_ttl_seconds * 1000),
                    **fields,  # type: ignore[arg-type]
                )
                infos.append(
                    c.publish(
                        protocol.topic(ctx.station.id, z, r, "cmd"),
                        command.signed_payload(keys[r]),
                        qos=1,
                    )
                )
                sent.append(r)
            for info in infos:
                info.wait_for_publish(10)
        finally:
            c.disconnect()
            c.loop_stop()
    if not sent:
        raise UsageProblem(_("no receiver matches --zone/--receiver"))
    return sent
