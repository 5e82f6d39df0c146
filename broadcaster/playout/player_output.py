"""The ``player`` output: the station PC's sound card through a command-line player.

The command is a list with a ``{file}`` placeholder (ffplay, paplay, aplay, mpv...), run
without a shell. A non-zero exit is a failed airing, with the player's own words.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from broadcaster.i18n import _
from broadcaster.playout.base import Clock, OutputError, PlayItem, PlayResult

DEFAULT_COMMAND = ["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "{file}"]


class PlayerPlayback:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._stopped = False

    def wait(self, timeout: float | None) -> PlayResult | None:
        try:
            code = self._proc.wait(timeout=timeout if timeout is not None else None)
        except subprocess.TimeoutExpired:
            return None
        if self._stopped:
            return PlayResult(False, _("stopped"))
        if code != 0:
            err = (
                (self._proc.stderr.read() if self._proc.stderr else b"")
                .decode("utf-8", "replace")
                .strip()
            )
            return PlayResult(
                False,
                _("player exited with {code}: {err}").format(
                    code=code, err=err.splitlines()[-1][:200] if err else "-"
                ),
            )
        return PlayResult(True)

    def stop(self) -> None:
        self._stopped = True
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._proc.kill()


class PlayerOutput:
    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        self.name = name
        command = settings.get("command", DEFAULT_COMMAND)
        self.command = [str(part) for part in command]

    def start(self, item: PlayItem) -> PlayerPlayback:
        argv = [part.replace("{file}", str(item.audio_path)) for part in self.command]
        if shutil.which(argv[0]) is None:
            raise OutputError(_("player '{cmd}' is not installed").format(cmd=argv[0]))
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise OutputError(_("cannot start player: {err}").format(err=exc.strerror)) from None
        return PlayerPlayback(proc)
