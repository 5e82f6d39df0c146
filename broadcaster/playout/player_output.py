"""The ``player`` output: the station PC's sound card through a command-line player.

The command is a list with a ``{file}`` placeholder (and an optional ``{device}``, from
the output's ``device`` setting), run without a shell. The default is ffmpeg writing to
an ALSA device, because it fails loudly (non-zero exit, "cannot open audio device") when
the device is missing, where ffplay prints "audio open failed" and exits 0.

An airing played by a player is ``aired`` only when all three agree: the player exited
0, its error output names no device failure, and it ran for the audio's duration (a
player that returns early did not play it: "played 0.0 s of 76 s").
"""

from __future__ import annotations

import contextlib
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from broadcaster.i18n import N_, _
from broadcaster.playout.base import (
    RELAY_RATE,
    Clock,
    OutputError,
    PlayItem,
    PlayResult,
    RelayTarget,
)

DEFAULT_DEVICE = "default"
DEFAULT_COMMAND = [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    "-i",
    "{file}",
    "-f",
    "alsa",
    "{device}",
]

# A relay's PCM (s16le, mono, RELAY_RATE) from standard input to the device.
DEFAULT_RELAY_COMMAND = [
    "ffmpeg",
    "-hide_banner",
    "-loglevel",
    "error",
    *("-f", "s16le", "-ar", str(RELAY_RATE), "-ac", "1", "-i", "pipe:0"),
    "-f",
    "alsa",
    "{device}",
]

# What players print when the sound device is not there, even when they exit 0.
DEVICE_FAILURE = re.compile(
    r"audio open failed|cannot open audio device|could not open audio device|"
    r"unknown pcm|no such device|failed to open audio|audio device.*(?:fail|error)|"
    r"connection refused|pa_context_connect|no soundcards found|cannot find card",
    re.IGNORECASE,
)
STDERR_KEPT = 16_384


def allowed_shortfall(duration: float) -> float:
    """How much sooner than the audio's duration a player may end and still have played
    it (process start, buffers draining): a quarter second or 2 %, whichever is more."""
    return max(0.25, 0.02 * duration)


def judge(code: int, err: str, played: float, duration: float) -> PlayResult:
    """The verdict on one run of a player (see the module's docstring)."""
    last = next((line for line in reversed(err.splitlines()) if line.strip()), "")
    # The player's own last word on the device (library noise such as ALSA's comes first).
    device = next(
        (ln.strip() for ln in reversed(err.splitlines()) if DEVICE_FAILURE.search(ln)), ""
    )
    if code != 0:
        return PlayResult(
            False,
            N_("player exited with {code}: {err}").format(
                code=code, err=(device or last)[:200] or "-"
            ),
        )
    if device:
        return PlayResult(
            False, N_("player could not open its device: {err}").format(err=device[:200])
        )
    if played < duration - allowed_shortfall(duration):
        return PlayResult(
            False,
            # The player's own last words follow as a part of their own ("; "), so the
            # report translates the sentence and shows the player's text as it is.
            N_("player returned early: played {played:.1f} s of {total:.0f} s").format(
                played=played, total=duration
            )
            + (f"; {last[:160]}" if last else ""),
        )
    return PlayResult(True)


class PlayerPlayback:
    def __init__(self, proc: subprocess.Popen[bytes], duration: float) -> None:
        self._proc = proc
        self._duration = duration
        self._began = time.monotonic()
        self._ended: float | None = None
        self._stopped = False
        self._err = bytearray()
        # Drained as it comes, so a chatty player never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, name="player-stderr", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        stream = self._proc.stderr
        if stream is None:
            return
        for chunk in iter(lambda: stream.read1(4096), b""):
            if len(self._err) < STDERR_KEPT:
                self._err += chunk[: STDERR_KEPT - len(self._err)]

    def wait(self, timeout: float | None) -> PlayResult | None:
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._ended is None:
            self._ended = time.monotonic()
        self._reader.join(timeout=2)
        if self._stopped:
            return PlayResult(False, N_("stopped"))
        err = bytes(self._err).decode("utf-8", "replace")
        return judge(code, err, self._ended - self._began, self._duration)

    def stop(self) -> None:
        self._stopped = True
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class PlayerSettings(BaseModel):
    """``outputs.<name>`` of type ``player``."""

    model_config = ConfigDict(extra="forbid")
    command: list[str] = Field(
        default_factory=lambda: list(DEFAULT_COMMAND),
        min_length=1,
        description="the player and its arguments; {file} is the audio, {device} the device",
    )
    device: str | int | None = Field(None, description="the sound device (ALSA name)")
    relay_command: list[str] = Field(
        default_factory=lambda: list(DEFAULT_RELAY_COMMAND),
        min_length=1,
        description="plays a relay: raw PCM (s16le, mono, 22050 Hz) on its standard input",
    )


class PlayerOutput:
    Settings = PlayerSettings

    @classmethod
    def check_environment(cls, settings: PlayerSettings, root: Path) -> list[str]:
        program = settings.command[0]
        if shutil.which(program) is None:
            return [_("player '{cmd}' is not installed").format(cmd=program)]
        return []

    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        self.name = name
        command = settings.get("command", DEFAULT_COMMAND)
        device = settings.get("device")
        self.device = DEFAULT_DEVICE if device is None else str(device)
        self.command = [str(part) for part in command]
        relay = settings.get("relay_command", DEFAULT_RELAY_COMMAND)
        self.relay_command = [str(part).replace("{device}", self.device) for part in relay]

    def open_relay(self, target: RelayTarget) -> PlayerRelaySink:
        """The sound card plays the pulled PCM through ``relay_command``."""
        return PlayerRelaySink(self.relay_command)

    def argv(self, audio: Path) -> list[str]:
        return [
            part.replace("{file}", str(audio)).replace("{device}", self.device)
            for part in self.command
        ]

    def start(self, item: PlayItem) -> PlayerPlayback:
        return PlayerPlayback(self._spawn(item.audio_path), item.duration_seconds)

    def _spawn(self, audio: Path) -> subprocess.Popen[bytes]:
        argv = self.argv(audio)
        if shutil.which(argv[0]) is None:
            raise OutputError(N_("player '{cmd}' is not installed").format(cmd=argv[0]))
        try:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise OutputError(N_("cannot start player: {err}").format(err=exc.strerror)) from None

    def probe(self, seconds: float = 1.0, timeout: float = 15.0) -> str | None:
        """Play a short silence through the configured player, judged as an airing is:
        None if it played, else why not (``check --online``)."""
        with tempfile.TemporaryDirectory(prefix="broadcaster-probe-") as tmp:
            silence = Path(tmp) / "silence.wav"
            with wave.open(str(silence), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(22050)
                w.writeframes(b"\x00\x00" * int(22050 * seconds))
            try:
                playback = PlayerPlayback(self._spawn(silence), seconds)
            except OutputError as exc:
                return str(exc)
            result = playback.wait(timeout)
            if result is None:
                playback.stop()
                return _("player did not finish {s:.0f} s of silence within {t:.0f} s").format(
                    s=seconds, t=timeout
                )
            return None if result.ok else result.reason


class PlayerRelaySink:
    """A relay on the sound card: a player process fed the PCM on its standard input by
    a thread of its own (a stalled device never holds up the pull); stopped while an
    emergency holds the zone (the emergency needs the device) and started again after."""

    def __init__(self, argv: list[str]) -> None:
        if shutil.which(argv[0]) is None:
            raise OutputError(N_("player '{cmd}' is not installed").format(cmd=argv[0]))
        self.argv = argv
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=20)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._spawn()
        self._writer = threading.Thread(target=self._write_loop, name="relay-player", daemon=True)
        self._writer.start()

    def _spawn(self) -> None:
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise OutputError(N_("cannot start player: {err}").format(err=exc.strerror)) from None
        with self._lock:
            self._proc = proc

    def _write_loop(self) -> None:
        while (pcm := self._queue.get()) is not None:
            with self._lock:
                proc = self._proc
            if proc is None or proc.stdin is None:
                continue
            try:
                proc.stdin.write(pcm)
                proc.stdin.flush()
            except OSError:
                pass  # the player died: the next resume (or nothing) starts another

    def write(self, pcm: bytes) -> None:
        with contextlib.suppress(queue.Full):  # a stalled device drops, never blocks
            self._queue.put_nowait(pcm)

    def _end(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def hold(self) -> None:
        self._end()

    def resume(self) -> None:
        with self._lock:
            running = self._proc is not None
        if not running:
            with contextlib.suppress(OutputError):
                self._spawn()

    def close(self) -> str:
        with contextlib.suppress(queue.Empty):
            while True:  # what the device did not take by the window's end is not played
                self._queue.get_nowait()
        self._queue.put(None)
        self._writer.join(timeout=5)
        self._end()
        return ""
