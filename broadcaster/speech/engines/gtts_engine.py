"""Vietnamese through Google Translate's TTS (gTTS), online.

gTTS waits forever on a stalled connection unless given a timeout, and a busy endpoint
answers 429: we always pass a timeout, retry network errors, 429 and 5xx with back-off,
and pause between the chunks gTTS splits long sentences into."""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from broadcaster.core.errors import first_line
from broadcaster.speech.engines.base import EngineSettings, TtsUnavailable, atomic_output
from broadcaster.speech.retry import Backoff, Retryable


class GttsSettings(EngineSettings):
    operational: ClassVar[frozenset[str]] = frozenset(
        {"timeout", "attempts", "backoff_seconds", "backoff_cap_seconds", "chunk_pause_seconds"}
    )
    tld: str = Field("com", description="Google host: translate.google.<tld>")
    slow: bool = False
    timeout: float = Field(10.0, gt=0, le=120, description="seconds per request")
    attempts: int = Field(4, ge=1, le=10)
    backoff_seconds: float = Field(0.5, ge=0, le=60)
    backoff_cap_seconds: float = Field(8.0, ge=0, le=300)
    chunk_pause_seconds: float = Field(0.2, ge=0, le=10)


class GttsEngine:
    name: ClassVar[str] = "gtts"
    needs_network: ClassVar[bool] = True
    Settings: ClassVar[type[EngineSettings]] = GttsSettings
    suffix = ".mp3"

    def __init__(self, settings: GttsSettings | None = None) -> None:
        self.settings: GttsSettings = settings or GttsSettings()

    def voices(self) -> list[str]:
        return ["vi"]

    def voice(self) -> str:
        return self.settings.voice or "vi"

    def synthesize(self, text: str, out: Path) -> None:
        s = self.settings
        backoff = Backoff(s.attempts, s.backoff_seconds, s.backoff_cap_seconds)
        try:
            with atomic_output(out) as tmp:
                backoff.run(lambda: self._attempt(text, tmp))
        except Retryable as exc:
            raise TtsUnavailable(f"gTTS: {exc} (after {s.attempts} attempts)") from None

    def _attempt(self, text: str, tmp: Path) -> None:
        """One full try; a retry starts the file again, so no half sentence survives."""
        from gtts import gTTS
        from gtts.tts import gTTSError

        s = self.settings
        tts = gTTS(
            text,
            lang=self.voice(),
            tld=s.tld,
            slow=s.slow,
            lang_check=False,
            pre_processor_funcs=[],
            timeout=s.timeout,
        )
        try:
            with open(tmp, "wb") as fh:
                for index, chunk in enumerate(tts.stream()):
                    if index:
                        time.sleep(s.chunk_pause_seconds)
                    fh.write(chunk)
        except gTTSError as exc:
            response = getattr(exc, "rsp", None)
            if response is None:
                raise Retryable(first_line(exc, 200)) from None
            status = response.status_code
            if status == 429 or status >= 500:
                raise Retryable(f"HTTP {status}", _retry_after(response)) from None
            raise TtsUnavailable(f"gTTS: HTTP {status}: {first_line(exc, 200)}") from None
        except (OSError, ValueError) as exc:
            raise Retryable(first_line(exc, 200)) from None


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
