"""Microsoft Edge's neural Vietnamese voices through edge-tts (online, optional extra:
``pip install 'broadcaster[edge]'``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from broadcaster.speech.engines.base import EngineSettings, TtsUnavailable, atomic_output
from broadcaster.speech.retry import Backoff, Retryable

VOICES = ["vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural"]


class EdgeSettings(EngineSettings):
    operational: ClassVar[frozenset[str]] = frozenset({"timeout", "attempts"})
    rate: str = Field("+0%", pattern=r"^[+-]\d{1,3}%$")
    pitch: str = Field("+0Hz", pattern=r"^[+-]\d{1,3}Hz$")
    timeout: float = Field(20.0, gt=0, le=300)
    attempts: int = Field(3, ge=1, le=10)


class EdgeEngine:
    name: ClassVar[str] = "edge"
    needs_network: ClassVar[bool] = True
    Settings: ClassVar[type[EngineSettings]] = EdgeSettings
    suffix = ".mp3"

    def __init__(self, settings: EdgeSettings | None = None) -> None:
        self.settings: EdgeSettings = settings or EdgeSettings()

    def voices(self) -> list[str]:
        return list(VOICES)

    def voice(self) -> str:
        return self.settings.voice or VOICES[0]

    def synthesize(self, text: str, out: Path) -> None:
        try:
            import edge_tts
        except ImportError:
            raise TtsUnavailable(
                "edge-tts is not installed (pip install 'broadcaster[edge]')"
            ) from None
        s = self.settings

        async def speak(tmp: Path) -> None:
            communicate = edge_tts.Communicate(text, self.voice(), rate=s.rate, pitch=s.pitch)
            await asyncio.wait_for(communicate.save(str(tmp)), timeout=s.timeout)

        def attempt(tmp: Path) -> None:
            try:
                asyncio.run(speak(tmp))
            except (TimeoutError, OSError) as exc:
                raise Retryable(str(exc) or type(exc).__name__) from None
            except Exception as exc:  # edge-tts raises its own types for service errors
                raise Retryable(f"{type(exc).__name__}: {exc}"[:200]) from None

        try:
            with atomic_output(out) as tmp:
                Backoff(s.attempts).run(lambda: attempt(tmp))
        except Retryable as exc:
            raise TtsUnavailable(f"edge-tts: {exc}") from None
