"""Settings of the MQTT output, and the one broker client (the reference receiver, in
:mod:`broadcaster.receiver`, connects with it too).

Both sides connect the same way (username and password from a file or the environment,
TLS as a setting), so the client is built here once. Bad settings become one located
problem (file and field), never a traceback.
"""

from __future__ import annotations

import os
import ssl
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broadcaster.core.errors import ConfigErrors, Problem
from broadcaster.core.validation_words import validation_message
from broadcaster.i18n import _
from broadcaster.playout.mqtt.protocol import is_slug, parse_key

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrokerSettings(_Strict):
    """Where the broker is and how to log in. The password never sits in station.yaml."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password_file: str | None = Field(None, description="file holding the password (one line)")
    password_env: str | None = Field(None, description="environment variable holding it")
    tls: bool = False
    ca_file: str | None = Field(None, description="CA bundle for TLS (default: system CAs)")
    keepalive: int = Field(30, ge=5, le=600)

    def password(self, base: Path) -> str | None:
        if self.password_file:
            path = Path(self.password_file)
            path = path if path.is_absolute() else base / path
            return path.read_text(encoding="utf-8").strip()
        if self.password_env:
            return os.environ.get(self.password_env)
        return None


class AudioServerSettings(_Strict):
    bind: str = Field("127.0.0.1", description="address the station's audio HTTP server binds")
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port")
    public_url: str | None = Field(
        None, description="base URL receivers use, when they reach the station through NAT"
    )


class MqttOutputSettings(_Strict):
    """``outputs.<name>`` of type ``mqtt`` in station.yaml."""

    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    keys_file: str = Field(description="station-side YAML file: receiver id -> hex key")
    receivers: dict[str, list[str]] = Field(description="zone id -> the receivers in it")
    audio_server: AudioServerSettings = Field(default_factory=AudioServerSettings)
    start_timeout_seconds: float = Field(
        30, gt=0, le=3600, description="a play must start within this (its 'deadline')"
    )
    done_margin_seconds: float = Field(
        10, ge=0, le=3600, description="slack after the audio's length before 'no done report'"
    )
    command_ttl_seconds: float = Field(
        30, gt=0, le=3600, description="a command expires this long after it was sent"
    )
    lead_seconds: float = Field(
        45,
        ge=0,
        le=3600,
        description="send a scheduled play this long before its slot, with 'start_at', so "
        "receivers fetch and check the audio ahead and start on their own clock (0: at the "
        "slot, as an immediate play)",
    )
    require_signed_reports: bool = Field(
        True,
        description="count only reports signed with the receiver's key (protocol 2); false "
        "accepts unsigned version-1 reports from a legacy fleet, which anyone holding a "
        "broker login can forge",
    )
    prefetch_emergencies: bool = Field(
        True,
        description="keep the audio of approved emergency bulletins on the receivers, so an "
        "emergency from a template starts without a download",
    )


def validate(model: type[BaseModel], data: Any, path: str, prefix: str) -> Any:
    """Validate or raise ConfigErrors naming the file and each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
            problems.append(Problem(validation_message(err), path=path, field=loc or None))
        raise ConfigErrors(problems) from None


def load_keys(path: Path, display: str, needed: list[str]) -> dict[str, bytes]:
    """The station-side keys file: ``keys: {receiver-id: hex}``; every receiver needs one."""
    from broadcaster.config.yamlmarks import load_yaml_file

    data = load_yaml_file(path, display) or {}  # the station's one safe YAML loader
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, dict):
        raise ConfigErrors([Problem(_("must be a mapping 'keys: {receiver: hex}'"), path=display)])
    found: dict[str, bytes] = {}
    problems = []
    for receiver in needed:
        if receiver not in keys:
            problems.append(Problem(_("no key for this receiver"), path=display, field=receiver))
            continue
        try:
            found[receiver] = parse_key(str(keys[receiver]))
        except ValueError as exc:
            problems.append(Problem(str(exc), path=display, field=f"keys.{receiver}"))
    if problems:
        raise ConfigErrors(problems)
    return found


def check_ids(receivers: dict[str, list[str]], display: str, prefix: str) -> None:
    problems = []
    seen: set[str] = set()
    for zone, ids in receivers.items():
        for rid in ids:
            if not is_slug(rid):
                problems.append(
                    Problem(
                        _("'{id}' is not a slug").format(id=rid),
                        path=display,
                        field=f"{prefix}.{zone}",
                    )
                )
            if rid in seen:
                problems.append(
                    Problem(
                        _("receiver '{id}' listed twice").format(id=rid),
                        path=display,
                        field=f"{prefix}",
                    )
                )
            seen.add(rid)
    if problems:
        raise ConfigErrors(problems)


def client(
    broker: BrokerSettings,
    base: Path,
    client_id: str | None = None,
    *,
    clean_session: bool = True,
) -> mqtt.Client:
    """A paho client set up for the broker (not yet connected)."""
    c = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"broadcaster-{uuid.uuid4().hex[:12]}",
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
    )
    if broker.username:
        c.username_pw_set(broker.username, broker.password(base))
    if broker.tls:
        ca = broker.ca_file
        c.tls_set(ca_certs=str(base / ca) if ca else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    # Our handlers catch their own errors; this keeps one that slips through from
    # ending the network loop (paho re-raises callback exceptions otherwise).
    c.suppress_exceptions = True
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c
