"""The interface every TTS engine implements, and what they share."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


class TtsUnavailable(Exception):
    """The engine cannot speak right now (offline, not installed, refused): the renderer
    moves on to the next engine of the station's preference chain."""


class EngineSettings(BaseModel):
    """An engine's settings from ``engines.<name>`` in station.yaml.

    Every field changes the audio and so enters the rendition's cache key, except those
    named in ``operational`` (timeouts, retries), which only change how we get it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    operational: ClassVar[frozenset[str]] = frozenset()

    voice: str | None = None

    def audio_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude=set(self.operational) | {"voice"}, mode="json")


@runtime_checkable
class TtsEngine(Protocol):
    """One engine instance per settings; ``synthesize`` is called once per sentence."""

    name: ClassVar[str]
    needs_network: ClassVar[bool]
    Settings: ClassVar[type[EngineSettings]]
    settings: EngineSettings

    @property
    def suffix(self) -> str:
        """The audio format ``synthesize`` writes, as a file suffix (ffmpeg reads it)."""
        ...

    def voices(self) -> list[str]:
        """The voices this engine offers for Vietnamese."""
        ...

    def voice(self) -> str:
        """The voice in use: the setting, or the engine's default."""
        ...

    def synthesize(self, text: str, out: Path) -> None:
        """Write speech for ``text`` to ``out``, whole or not at all; raise
        :class:`TtsUnavailable` when this engine cannot do it now."""
        ...


@contextlib.contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` that replaces it only if the block succeeds and
    wrote something: a failed or interrupted engine never leaves a 0-byte or partial
    file under the final name."""
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".part" + out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.stat().st_size == 0:
            raise TtsUnavailable(f"{out.name}: the engine wrote no audio")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
