"""The output plugin interface and its registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from broadcaster.i18n import _

if TYPE_CHECKING:
    from pydantic import BaseModel


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class PlayItem:
    """Everything an output needs to play one airing, already checked by the gate."""

    airing_id: int
    zone_id: str
    bulletin_id: str
    audio_path: Path
    audio_sha256: str
    duration_seconds: float
    scheduled_at: datetime
    priority: str


@dataclass(frozen=True)
class ReceiverOutcome:
    """What one device of a zone did with an airing (network outputs only).

    ``outcome`` is ``played`` or a short word for what went wrong (``no-ack``,
    ``no-done``, ``rejected``, ``incomplete``, ``interrupted``); ``reason`` says it in
    words. Instants are on the output's clock, like the rest of the evidence.
    """

    receiver: str
    outcome: str
    reason: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    played_seconds: float | None = None

    @property
    def played(self) -> bool:
        return self.outcome == "played"


@dataclass(frozen=True)
class PlayResult:
    """How a playback ended. Outputs that reach several devices per zone say, per device,
    what each did; the engine records that with the airing's log entry."""

    ok: bool
    reason: str = ""
    receivers: tuple[ReceiverOutcome, ...] = ()


class OutputError(Exception):
    """The output could not start playing (device gone, file unreadable...)."""


@runtime_checkable
class Playback(Protocol):
    def wait(self, timeout: float | None) -> PlayResult | None:
        """Block up to ``timeout`` seconds; the result once finished, else None."""
        ...

    def stop(self) -> None:
        """Cut the audio now (an emergency or a shutdown)."""
        ...


@runtime_checkable
class Output(Protocol):
    name: str

    def start(self, item: PlayItem) -> Playback:
        """Begin playing; raise OutputError if it cannot even start."""
        ...


@runtime_checkable
class CueingOutput(Protocol):
    """Optional: an output whose devices can prepare an airing ahead of its slot.

    The real-time driver hands it airings due within ``lead_seconds`` (``cue``); its
    devices fetch and check the audio in advance and start at ``item.scheduled_at`` by
    their own clock. At the slot the engine still calls ``start`` (which adopts the cue
    and returns its playback) and still decides and logs the outcome. ``uncue`` withdraws
    an airing that will not start after all (cancelled, refused, missed, daemon stopped).
    """

    lead_seconds: float

    def cue(self, item: PlayItem) -> None: ...

    def uncue(self, airing_id: int) -> None: ...


@runtime_checkable
class PreloadingOutput(Protocol):
    """Optional: an output whose devices can keep audio the station may need at once
    (approved emergency bulletins), so an emergency starts without a download."""

    def preload(self, audio_path: Path, sha256: str) -> None: ...


#: The PCM every relay sink receives: signed 16-bit little-endian, mono, at this rate
#: (speech and AM-quality programmes; the icecast output encodes at the same rate).
RELAY_RATE = 22050
RELAY_BYTES_PER_SECOND = RELAY_RATE * 2


@dataclass(frozen=True)
class RelayTarget:
    """One zone's relay window, as an output needs it: what the pulled PCM is for."""

    zone_id: str
    relay_id: str
    source_id: str
    start: datetime  # the window, UTC
    end: datetime
    url: str  # the source's main URL (what a device that pulls by itself would fetch)
    backup_url: str | None = None
    # Dead air (issue 16): the station's (threshold dBFS, minimum seconds), which devices
    # that pull by themselves are told; where they report what they heard silent, as
    # (zone, a playout.silence event, the device's id). Never blocks.
    silence: tuple[float, float] | None = None
    on_silence: Callable[[str, Any, str], None] | None = field(default=None, compare=False)


@runtime_checkable
class RelaySink(Protocol):
    """Where one zone's share of a relay goes: fed real-time PCM (:data:`RELAY_RATE`)
    by the one pull of its source, and closed at the window's end."""

    def write(self, pcm: bytes) -> None:
        """Take the next real-time chunk; never block for long (a slow device drops)."""
        ...

    def hold(self) -> None:
        """An emergency takes the zone: stop sounding the relay now (kept resumable)."""
        ...

    def resume(self) -> None:
        """The emergency is over and the window still open: sound the relay again."""
        ...

    def close(self) -> str:
        """The window is over: release the device; the SHA-256 of what was recorded, if
        this output records the relay (the file output), else ""."""
        ...


@runtime_checkable
class RelayingOutput(Protocol):
    """Optional: an output that can carry a relay (issue 16). The station pulls each
    source once (``playout/relay_pull.py``) and fans the PCM out to the sinks of the
    zones taking it, so a vendor's output gets relays by implementing this one method;
    the planner and the engine do not change. Raise :class:`OutputError` if the zone
    cannot take it (no mount, a busy device)."""

    def open_relay(self, target: RelayTarget) -> RelaySink: ...


@dataclass(frozen=True)
class DeviceRelayResult:
    """How a window went at the devices that pulled it themselves (network outputs):
    one :class:`ReceiverOutcome` per device (``relayed``, or what went wrong, with its
    ``played_seconds`` = seconds it relayed; 0 for one that never said), and the
    dropouts they reported (``{"at", "seconds", "kind", "receiver"}``)."""

    receivers: tuple[ReceiverOutcome, ...]
    dropouts: tuple[dict[str, object], ...] = ()
    stopped_by: str = ""


@runtime_checkable
class DeviceRelay(Protocol):
    """A window the output's devices carry by themselves."""

    def wait(self, timeout: float | None) -> DeviceRelayResult | None:
        """Block up to ``timeout`` s; the result once every device ended or timed out."""
        ...

    def stop(self, reason: str) -> None:
        """The station stops: decide now with what the devices have said."""
        ...


@runtime_checkable
class DeviceRelayingOutput(Protocol):
    """Optional, instead of :class:`RelayingOutput`: an output whose devices pull the
    source themselves (``mqtt`` receivers get a signed ``relay`` command with the URL and
    the window and report what they relayed); the station pulls nothing for its zones."""

    def start_relay(self, target: RelayTarget) -> DeviceRelay: ...


class OutputPlugin(Protocol):
    """What an output type registers under the ``broadcaster.outputs`` entry-point group
    (the built-ins too, in pyproject.toml): the same contract as a TTS engine's.

    - ``Settings``: a pydantic model of ``outputs.<name>`` (extra keys forbidden), which
      ``check`` validates with the file, line and field of each mistake;
    - ``check_environment(settings, root)``: what must exist for it to run (a program
      installed, a broker reachable), as sentences; ``check --online`` runs it;
    - calling it with ``(name=, settings=, root=, clock=)`` builds the :class:`Output`.
    """

    Settings: ClassVar[type[BaseModel]]

    @classmethod
    def check_environment(cls, settings: BaseModel, root: Path) -> list[str]: ...

    def __call__(
        self, *, name: str, settings: dict[str, Any], root: Path, clock: Clock
    ) -> Output: ...


OutputFactory = Any  # an OutputPlugin: callable(name, settings, root, clock) -> Output


class OutputTypes(Mapping[str, OutputFactory]):
    """Output types by name, every one from the ``broadcaster.outputs`` entry points (the
    built-ins are registered there once, in pyproject.toml, like any vendor's).

    The names come from the entry points without importing anything; a type's module is
    imported when that type is asked for, so validating ``station.yaml`` or opening the
    station does not import every plugin (the MQTT one pulls in paho and an HTTP server:
    issue 15, start-up). A plugin that cannot be imported still leaves the other types
    working; asking for it is one clear ``OutputError``.
    """

    def __init__(self) -> None:
        self._points: dict[str, Any] = {}
        for ep in entry_points(group="broadcaster.outputs"):
            self._points[ep.name] = ep
        self._loaded: dict[str, OutputFactory] = {}

    def __getitem__(self, name: str) -> OutputFactory:
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._points:
            raise KeyError(name)
        try:
            factory = self._points[name].load()
        except Exception as exc:  # a broken plugin must not take the station down
            raise OutputError(
                _("output type '{type}': its plugin cannot be loaded: {err}").format(
                    type=name, err=f"{type(exc).__name__}: {exc}"
                )
            ) from None
        self._loaded[name] = factory
        return factory

    def __contains__(self, name: object) -> bool:
        return name in self._points  # a name is known without importing its plugin

    def __iter__(self) -> Iterator[str]:
        return iter(self._points)

    def __len__(self) -> int:
        return len(self._points)


def output_types() -> OutputTypes:
    """Built-in output types plus those registered by installed plugins (imported when
    a type is used)."""
    return OutputTypes()


def close_outputs(outputs: dict[str, Any]) -> None:
    """Outputs holding connections or servers (network ones) release them; others have
    no ``close`` and need none."""
    for output in outputs.values():
        inner = getattr(output, "inner", output)  # a simulated outage wraps the real one
        close = getattr(inner, "close", None)
        if callable(close):
            close()


def build_output(
    name: str, type_name: str, settings: dict[str, Any], root: Path, clock: Clock
) -> Output:
    return output_types()[type_name](name=name, settings=settings, root=root, clock=clock)


def tcp_reachable(host: str, port: int, what: str, timeout: float = 3.0) -> list[str]:
    """For ``check_environment``: [] if a TCP connection to ``host:port`` opens, else
    why not, in one sentence."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return []
    except OSError as exc:
        return [
            _("{what} at {host}:{port} is not reachable: {err}").format(
                what=what, host=host, port=port, err=exc.strerror or exc
            )
        ]
