"""Operations on networked receivers: who is reachable, what each missed, their volume."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import select

from broadcaster.core.errors import BroadcasterError, UsageProblem
from broadcaster.core.timeutil import as_utc, parse_week, week_bounds_utc
from broadcaster.ops.context import StationContext
from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.directory import snapshot
from broadcaster.playout.mqtt.output import STATION_YAML, wall_ms
from broadcaster.playout.mqtt.settings import (
    MqttOutputSettings,
    client,
    load_keys,
    validate,
)
from broadcaster.store.tables import ReceiverReport


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


def mqtt_outputs(ctx: StationContext) -> dict[str, MqttOutputSettings]:
    return {
        name: validate(MqttOutputSettings, spec.settings, STATION_YAML, f"outputs.{name}")
        for name, spec in ctx.station.outputs.items()
        if spec.type == "mqtt"
    }


def _require_outputs(ctx: StationContext) -> dict[str, MqttOutputSettings]:
    found = mqtt_outputs(ctx)
    if not found:
        raise BroadcasterError(
            "no output of type 'mqtt' in station.yaml: there are no networked receivers",
            path=STATION_YAML,
            field="outputs",
        )
    return found


def _instant(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def receivers(ctx: StationContext, wait: float = 1.5) -> list[ReceiverLine]:
    """Every configured receiver (and any unknown one the broker has seen), with state."""
    lines: list[ReceiverLine] = []
    now = wall_ms()
    for name, settings in _require_outputs(ctx).items():
        expected = {r: zone for zone, ids in settings.receivers.items() for r in ids}
        seen = snapshot(settings.broker, ctx.root, ctx.station.id, expected, wait)
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
                )
            )
    return lines


def receiver_misses(ctx: StationContext, week_label: str) -> list[ReceiverReport]:
    """Per-receiver outcomes other than 'played' for airings scheduled in the week."""
    start, end = week_bounds_utc(*parse_week(week_label), ctx.station.tz)
    with ctx.db.read() as s:
        return list(
            s.exec(
                select(ReceiverReport)
                .where(
                    ReceiverReport.outcome != "played",
                    ReceiverReport.scheduled_at >= as_utc(start),
                    ReceiverReport.scheduled_at < as_utc(end),
                )
                .order_by(ReceiverReport.receiver_id, ReceiverReport.scheduled_at)
            ).all()
        )


def receiver_reports(ctx: StationContext, seqs: list[int]) -> dict[int, list[ReceiverReport]]:
    """The per-receiver details of the given log entries."""
    if not seqs:
        return {}
    found: dict[int, list[ReceiverReport]] = {}
    with ctx.db.read() as s:
        for row in s.exec(
            select(ReceiverReport)
            .where(ReceiverReport.log_seq.in_(seqs))  # type: ignore[attr-defined]
            .order_by(ReceiverReport.receiver_id)
        ).all():
            found.setdefault(row.log_seq, []).append(row)
    return found


def send_volume(
    ctx: StationContext, level: int, zone: str | None, receiver: str | None
) -> list[str]:
    """Signed ``volume`` commands to a receiver, a zone's receivers, or all of them."""
    if not 0 <= level <= 100:
        raise UsageProblem("LEVEL: a volume is 0..100")
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
                f"MQTT broker {settings.broker.host}:{settings.broker.port} unreachable: "
                f"{exc.strerror or exc}"
            ) from None
        c.loop_start()
        try:
            infos = []
            for z, r in targets:
                now = wall_ms()
                command = protocol.Command(
                    type="volume",
                    station=ctx.station.id,
                    zone=z,
                    receiver=r,
                    counter=time.time_ns() // 1000,
                    issued_at=now,
                    expires_at=now + int(settings.command_ttl_seconds * 1000),
                    volume=level,
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
        raise UsageProblem("no receiver matches --zone/--receiver")
    return sent
