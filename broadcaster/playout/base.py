"""The output plugin interface and its registry."""

from __future__ import annotations

import functools
from dataclasses import dataclass
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


@dataclass(frozen=True)
class OutputRegistry:
    """The output types installed, and the plugins that failed to load (with why): a
    broken plugin must not take the station down, nor vanish without a word."""

    types: dict[str, OutputFactory]
    failures: dict[str, str]


@functools.cache
def output_registry() -> OutputRegistry:
    """Every output type from the entry points, built-ins included (registered once, in
    pyproject.toml, like any vendor's)."""
    found: dict[str, OutputFactory] = {}
    failed: dict[str, str] = {}
    for ep in entry_points(group="broadcaster.outputs"):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:
            failed[ep.name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return OutputRegistry(found, failed)


def output_types() -> dict[str, OutputFactory]:
    """The output types that loaded (see :func:`output_registry` for those that did not)."""
    return output_registry().types


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
