"""espeak-ng, offline: robotic but always there, so a station never goes silent."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from broadcaster.speech.engines.base import EngineSettings, TtsUnavailable, atomic_output

BUILTIN_VOICES = ["vi", "vi-vn-x-central", "vi-vn-x-south"]


class EspeakSettings(EngineSettings):
    speed: int = Field(150, ge=80, le=450, description="words per minute")
    pitch: int = Field(50, ge=0, le=99)


def _executable() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


@lru_cache(maxsize=1)
def _installed_voices() -> tuple[str, ...]:
    """Vietnamese voices of the installed espeak-ng (northern, central, southern)."""
    exe = _executable()
    if exe is None:
        return tuple(BUILTIN_VOICES)
    try:
        listing = subprocess.run(
            [exe, "--voices=vi"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return tuple(BUILTIN_VOICES)
    found = [line.split()[1] for line in listing.splitlines()[1:] if len(line.split()) > 1]
    return tuple(v for v in found if v.startswith("vi")) or tuple(BUILTIN_VOICES)


class EspeakEngine:
    name: ClassVar[str] = "espeak"
    needs_network: ClassVar[bool] = False
    Settings: ClassVar[type[EngineSettings]] = EspeakSettings
    suffix = ".wav"

    def __init__(self, settings: EspeakSettings | None = None) -> None:
        self.settings: EspeakSettings = settings or EspeakSettings()

    def voices(self) -> list[str]:
        return list(_installed_voices())

    def voice(self) -> str:
        return self.settings.voice or "vi"

    def synthesize(self, text: str, out: Path) -> None:
        exe = _executable()
        if exe is None:
            raise TtsUnavailable("espeak-ng is not installed")
        s = self.settings
        with atomic_output(out) as tmp:
            proc = subprocess.run(
                [
                    exe,
                    "-v",
                    self.voice(),
                    "-s",
                    str(s.speed),
                    "-p",
                    str(s.pitch),
                    "-w",
                    str(tmp),
                    "--stdin",
                ],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=300,
                check=False,
            )
            if proc.returncode != 0 or tmp.stat().st_size <= 44:
                err = proc.stderr.decode("utf-8", "replace").strip()[:200]
                raise TtsUnavailable(f"espeak-ng: {err or 'no audio'}")
