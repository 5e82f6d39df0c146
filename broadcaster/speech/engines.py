"""TTS engines behind one small interface, discovered through the ``broadcaster.tts``
entry-point group (the way Mopidy and beets find extensions), so a station can add an
engine without touching this package."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from broadcaster.i18n import _


class TtsUnavailable(Exception):
    """The engine cannot speak right now (offline, not installed): try the next one."""


@runtime_checkable
class TtsEngine(Protocol):
    name: ClassVar[str]
    needs_network: ClassVar[bool]
    suffix: ClassVar[str]  # the audio format ``synthesize`` writes, as a file suffix

    def voices(self) -> list[str]: ...

    def default_voice(self) -> str: ...

    def synthesize(self, text: str, out: Path, voice: str) -> None:
        """Write speech for ``text`` to ``out`` (any format ffmpeg reads) or raise."""
        ...


@dataclass
class GttsEngine:
    """Vietnamese through Google Translate's TTS (online), always with a timeout."""

    name: ClassVar[str] = "gtts"
    needs_network: ClassVar[bool] = True
    suffix: ClassVar[str] = ".mp3"
    timeout: float = 10.0

    def voices(self) -> list[str]:
        return ["vi"]

    def default_voice(self) -> str:
        return "vi"

    def synthesize(self, text: str, out: Path, voice: str) -> None:
        from gtts import gTTS
        from gtts.tts import gTTSError

        try:
            tts = gTTS(
                text,
                lang=voice or "vi",
                lang_check=False,
                pre_processor_funcs=[],
                timeout=self.timeout,
            )
            tmp = out.with_name(out.name + ".part")
            with open(tmp, "wb") as fh:
                tts.write_to_fp(fh)
            if tmp.stat().st_size == 0:
                tmp.unlink(missing_ok=True)
                raise TtsUnavailable(_("gTTS returned no audio"))
            os.replace(tmp, out)
        except (gTTSError, OSError, AssertionError) as exc:
            out.with_name(out.name + ".part").unlink(missing_ok=True)
            raise TtsUnavailable(f"gTTS: {exc}") from None


@dataclass
class EspeakEngine:
    """espeak-ng, offline: robotic but always there, so a station never goes silent."""

    name: ClassVar[str] = "espeak"
    needs_network: ClassVar[bool] = False
    suffix: ClassVar[str] = ".wav"
    speed: int = 150
    pitch: int = 50

    def voices(self) -> list[str]:
        return ["vi", "vi-vn-x-central", "vi-vn-x-south"]

    def default_voice(self) -> str:
        return "vi"

    def synthesize(self, text: str, out: Path, voice: str) -> None:
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        if exe is None:
            raise TtsUnavailable(_("espeak-ng is not installed"))
        with tempfile.NamedTemporaryFile(suffix=".wav", dir=out.parent, delete=False) as tmp:
            tmp_path = Path(tmp.name)
        try:
            proc = subprocess.run(
                [
                    exe,
                    "-v",
                    voice or "vi",
                    "-s",
                    str(self.speed),
                    "-p",
                    str(self.pitch),
                    "-w",
                    str(tmp_path),
                    "--stdin",
                ],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=300,
                check=False,
            )
            if proc.returncode != 0 or tmp_path.stat().st_size <= 44:
                raise TtsUnavailable(
                    "espeak-ng: " + proc.stderr.decode("utf-8", "replace").strip()[:200]
                )
            os.replace(tmp_path, out)
        finally:
            tmp_path.unlink(missing_ok=True)


def available_engines() -> dict[str, type]:
    """Engine classes by name: built-ins plus whatever the entry points add."""
    found: dict[str, type] = {"gtts": GttsEngine, "espeak": EspeakEngine}
    for ep in entry_points(group="broadcaster.tts"):
        try:
            found[ep.name] = ep.load()
        except Exception:  # a broken third-party plugin must not stop the station
            continue
    return found


def make_engine(name: str) -> TtsEngine:
    return available_engines()[name]()
