"""Any local TTS program as an engine (piper with a Vietnamese model, a vendor's tool).

The command is a list of arguments run without a shell, with ``{text}``, ``{out}`` and
``{voice}`` replaced inside each argument: a script's text can never become a shell
command. Without ``{text}`` in the arguments, the text goes to the program's stdin."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from broadcaster.speech.engines.base import EngineSettings, TtsUnavailable, atomic_output


class CommandSettings(EngineSettings):
    operational: ClassVar[frozenset[str]] = frozenset({"timeout"})
    argv: list[str] = Field(
        default_factory=list,
        description="the program and its arguments, with {text} {out} {voice} placeholders",
    )
    suffix: str = Field(".wav", pattern=r"^\.[a-z0-9]{1,5}$")
    voices: list[str] = Field(default_factory=list)
    timeout: float = Field(120.0, gt=0, le=3600)

    @field_validator("argv")
    @classmethod
    def _needs_out(cls, argv: list[str]) -> list[str]:
        if argv and not any("{out}" in a for a in argv):
            raise ValueError("must contain {out}, where the program writes the audio")
        return argv


class CommandEngine:
    name: ClassVar[str] = "command"
    needs_network: ClassVar[bool] = False
    Settings: ClassVar[type[EngineSettings]] = CommandSettings

    def __init__(self, settings: CommandSettings | None = None) -> None:
        self.settings: CommandSettings = settings or CommandSettings()

    @property
    def suffix(self) -> str:
        return self.settings.suffix

    def voices(self) -> list[str]:
        return list(self.settings.voices)

    def voice(self) -> str:
        return self.settings.voice or (self.settings.voices[0] if self.settings.voices else "")

    def synthesize(self, text: str, out: Path) -> None:
        s = self.settings
        if not s.argv:
            raise TtsUnavailable("command: no engines.command.argv in station.yaml")
        if shutil.which(s.argv[0]) is None:
            raise TtsUnavailable(f"command: '{s.argv[0]}' is not installed")
        with atomic_output(out) as tmp:
            values = {"text": text, "out": str(tmp), "voice": self.voice()}
            argv = [_fill(a, values) for a in s.argv]
            stdin = None if any("{text}" in a for a in s.argv) else text.encode("utf-8")
            try:
                proc = subprocess.run(
                    argv, input=stdin, capture_output=True, timeout=s.timeout, check=False
                )
            except subprocess.TimeoutExpired:
                raise TtsUnavailable(f"command: {s.argv[0]} took over {s.timeout:g} s") from None
            except OSError as exc:
                raise TtsUnavailable(f"command: {s.argv[0]}: {exc.strerror}") from None
            if proc.returncode != 0:
                err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise TtsUnavailable(
                    f"command: {s.argv[0]} exited {proc.returncode}"
                    + (f": {err[-1][:160]}" if err else "")
                )


_PLACEHOLDER = re.compile(r"\{(text|out|voice)\}")


def _fill(arg: str, values: dict[str, str]) -> str:
    """Replace the placeholders in one pass: braces inside the text stay text."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], arg)
