"""The reference receiver's own file: its broker, its receivers and their keys.

The receiver is the device-side program: it shares the wire protocol and the broker
client with the station's MQTT output, nothing else.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from broadcaster.core.errors import ConfigErrors, Problem
from broadcaster.i18n import _
from broadcaster.playout.mqtt.protocol import parse_key
from broadcaster.playout.mqtt.settings import BrokerSettings, Slug, _Strict, validate


class ReceiverEntry(_Strict):
    id: str = Slug
    zone: str = Slug
    key: str | None = Field(None, description="hex key (a sample only; use key_file)")
    key_file: str | None = None


class ReceiverFileSettings(_Strict):
    """The reference receiver's YAML file: one broker, one or many receivers."""

    station: str = Slug
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    receivers: list[ReceiverEntry] = Field(min_length=1)
    state_dir: str = "receiver-state"
    out_dir: str | None = Field(None, description="play to files here (else through 'player')")
    player: list[str] | None = Field(None, description="command with {file}, e.g. ffplay ...")
    pace: float = Field(1.0, ge=0, description="playing speed; 0 = instantly (simulation)")
    heartbeat_seconds: float = Field(10, gt=0, le=3600)
    cache_dir: str | None = Field(
        None,
        description="verified audio kept by SHA-256, shared by the receivers of this "
        "process (default: <state_dir>/cache)",
    )
    firmware: str = "broadcaster-reference"
    keep_relays: bool = Field(
        True,
        description="keep what each receiver relayed as a WAV file in its played folder "
        "(false, for a test rack of many receivers: nothing is kept, so nothing is sounded "
        "and each relay is reported as not relayed)",
    )


def load_receiver_file(path: Path) -> ReceiverFileSettings:
    """The reference receiver's file, every key readable, or every problem located."""
    from broadcaster.config.yamlmarks import load_yaml_file

    display = str(path)
    data = load_yaml_file(path, display)  # the station's one safe YAML loader
    cfg: ReceiverFileSettings = validate(ReceiverFileSettings, data or {}, display, "")
    problems = []
    base = path.parent
    for i, entry in enumerate(cfg.receivers):
        field = f"receivers.{i}"
        try:
            if entry.key_file:
                key_path = Path(entry.key_file)
                key_path = key_path if key_path.is_absolute() else base / key_path
                parse_key(key_path.read_text(encoding="utf-8"))
            elif entry.key:
                parse_key(entry.key)
            else:
                problems.append(Problem(_("give key_file (or key)"), path=display, field=field))
        except OSError as exc:
            problems.append(
                Problem(_("key_file: {err}").format(err=exc.strerror), path=display, field=field)
            )
        except ValueError as exc:
            problems.append(Problem(str(exc), path=display, field=field))
    if cfg.player and not any("{file}" in p for p in cfg.player):
        problems.append(Problem(_("needs a '{file}' placeholder"), path=display, field="player"))
    if problems:
        raise ConfigErrors(problems)
    return cfg
