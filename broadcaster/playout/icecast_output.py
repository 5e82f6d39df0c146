"""The ``icecast`` output: zones (or groups of zones) as Icecast mounts that never go quiet.

Each mount has one long-lived ffmpeg source: we feed it raw PCM on stdin at real-time
pace, silence when nothing airs and the bulletin's samples when one does, and it
encodes MP3 to Icecast. Why not a silence fallback mount? A fallback still needs its own
source process per mount, and every bulletin would connect and disconnect a second
source, moving listeners between mounts with a gap and a decoder resync each time. One
source that never disconnects gives listeners one continuous stream, switches on a
sample boundary we control, and, paced at real time, never builds a backlog: a receiver
joining late gets Icecast's small burst, then live audio.

Zones mapped to the same mount share it: the same audio starting there is joined (one
bulletin, heard by the whole group); different audio while it plays is refused, so the
engine logs the airing failed and plans a make-up rather than cutting the other zone.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from broadcaster.i18n import N_, _
from broadcaster.playout.base import (
    Clock,
    OutputError,
    PlayItem,
    PlayResult,
    RelayTarget,
    tcp_reachable,
)

RATE = 22050  # Hz, mono: speech
CHUNK_SECONDS = 0.1
LEAD_SECONDS = 0.3  # how far ahead of the wall clock the feeder keeps the encoder
RELAY_CAP_SECONDS = 1.0  # relay PCM waiting for the feeder, at most


class IcecastSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    user: str = "source"
    password_file: str = Field(description="file holding the source password")
    mounts: dict[str, str] = Field(description="zone id -> mount, e.g. {khoi-1: /khoi.mp3}")
    bitrate: int = Field(64, ge=16, le=320, description="MP3 kbit/s")


class IcecastPlayback:
    def __init__(self, mount: MountSource, pcm: bytes, airing_id: int, sha256: str) -> None:
        self.mount = mount
        self.pcm = pcm
        self.airing_id = airing_id
        self.sha256 = sha256
        self.done = threading.Event()
        self.result: PlayResult | None = None
        self.followers = 0

    def finish(self, result: PlayResult) -> None:
        if not self.done.is_set():
            self.result = result
            self.done.set()

    def wait(self, timeout: float | None) -> PlayResult | None:
        self.done.wait(timeout)
        return self.result if self.done.is_set() else None

    def stop(self) -> None:
        self.mount.cut(self)


class MountSource:
    """One mount's ffmpeg encoder and the thread that feeds it at real-time pace."""

    def __init__(self, url: str, bitrate: int, mount: str) -> None:
        self.mount = mount
        self.url = url
        self.bitrate = bitrate
        self.lock = threading.Lock()
        self.current: IcecastPlayback | None = None
        self.offset = 0
        self.ends_at = 0.0
        self.closing = threading.Event()
        self.error = ""
        # A relay carried on the mount (issue 16): its (relay, window start) and the PCM
        # the pull hands it, played when no bulletin is (a bulletin or an emergency on the
        # mount comes first; the engine holds the relay for an emergency).
        self.relay_key: tuple[str, str] | None = None
        self.relay_pcm = bytearray()
        self.proc = self._spawn()
        self.thread = threading.Thread(target=self._feed, name=f"icecast{mount}", daemon=True)
        self.thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "s16le",
            "-ar",
            str(RATE),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{self.bitrate}k",
            "-content_type",
            "audio/mpeg",
            "-f",
            "mp3",
            self.url,
        ]
        return subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def play(self, playback: IcecastPlayback) -> IcecastPlayback:
        """Switch the mount to this audio, or join the same audio already playing."""
        with self.lock:
            if not self.alive:
                raise OutputError(
                    N_("mount {mount}: source not connected: {err}").format(
                        mount=self.mount, err=self._why()
                    )
                )
            cur = self.current
            if cur is not None:
                if cur.sha256 == playback.sha256:
                    cur.followers += 1
                    return cur
                raise OutputError(
                    N_("mount {mount} is busy with airing {id}").format(
                        mount=self.mount, id=cur.airing_id
                    )
                )
            self.current, self.offset = playback, 0
            self.ends_at = time.monotonic() + len(playback.pcm) / (2 * RATE) + LEAD_SECONDS
            return playback

    def take_relay(self, key: tuple[str, str]) -> bool:
        """Carry this relay on the mount: True for the zone that feeds it, False for a
        zone sharing the mount and the same relay (it joins, like the same bulletin)."""
        with self.lock:
            if not self.alive:
                raise OutputError(
                    N_("mount {mount}: source not connected: {err}").format(
                        mount=self.mount, err=self._why()
                    )
                )
            if self.relay_key == key:
                return False
            if self.relay_key is not None:
                raise OutputError(
                    N_("mount {mount} is busy with relay {relay}").format(
                        mount=self.mount, relay=self.relay_key[0]
                    )
                )
            self.relay_key = key
            self.relay_pcm.clear()
            return True

    def feed_relay(self, key: tuple[str, str], pcm: bytes) -> None:
        with self.lock:
            if self.relay_key == key:
                self.relay_pcm += pcm
                cap = int(RELAY_CAP_SECONDS * RATE) * 2
                if len(self.relay_pcm) > cap:  # live: the oldest goes, never a backlog
                    del self.relay_pcm[: len(self.relay_pcm) - cap]

    def drop_relay(self, key: tuple[str, str]) -> None:
        with self.lock:
            if self.relay_key == key:
                self.relay_key = None
                self.relay_pcm.clear()

    def cut(self, playback: IcecastPlayback) -> None:
        """Back to silence at once (an emergency or a shutdown)."""
        with self.lock:
            if self.current is playback:
                if playback.followers > 0:
                    playback.followers -= 1
                    return
                self.current = None
        playback.finish(PlayResult(False, "stopped"))

    def _why(self) -> str:
        if self.proc.stderr is None:
            return "ffmpeg exited"
        err = self.proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        self.error = err[-1][:200] if err else f"ffmpeg exited with {self.proc.returncode}"
        return self.error

    def _feed(self) -> None:
        step = int(RATE * CHUNK_SECONDS) * 2
        silence = b"\x00" * step
        start = time.monotonic()
        sent = 0.0  # seconds of audio written
        while not self.closing.is_set():
            ahead = sent - (time.monotonic() - start)
            if ahead > LEAD_SECONDS:
                time.sleep(min(CHUNK_SECONDS, ahead - LEAD_SECONDS))
                continue
            finished = None
            with self.lock:
                cur = self.current
                if cur is None and self.relay_key is not None and self.relay_pcm:
                    chunk = bytes(self.relay_pcm[:step])
                    del self.relay_pcm[:step]
                    chunk += silence[: step - len(chunk)]
                elif cur is None:
                    chunk = silence
                else:
                    chunk = cur.pcm[self.offset : self.offset + step]
                    self.offset += len(chunk)
                    if len(chunk) < step:
                        chunk += silence[: step - len(chunk)]
                        if time.monotonic() >= self.ends_at:
                            self.current, finished = None, cur
            if finished is not None:
                finished.finish(PlayResult(True))
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(chunk)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                reason = self._why()
                with self.lock:
                    cur, self.current = self.current, None
                if cur is not None:
                    cur.finish(PlayResult(False, f"mount {self.mount}: {reason}"))
                if self.closing.wait(2):
                    return
                self.proc = self._spawn()  # Icecast back? reconnect and carry on
                start, sent = time.monotonic(), 0.0
                continue
            sent += CHUNK_SECONDS

    def close(self) -> None:
        self.closing.set()
        with self.lock:
            cur, self.current = self.current, None
        if cur is not None:
            cur.finish(PlayResult(False, "stopped"))
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(timeout=5)


class IcecastRelaySink:
    """A zone's relay on its mount: the feeding zone hands the PCM to the mount's feeder;
    a zone sharing the mount and the relay only joins it."""

    def __init__(self, source: MountSource, key: tuple[str, str], *, feeds: bool) -> None:
        self.source = source
        self.key = key
        self.feeds = feeds
        self.held = False

    def write(self, pcm: bytes) -> None:
        if self.feeds and not self.held:
            self.source.feed_relay(self.key, pcm)

    def hold(self) -> None:
        self.held = True
        if self.feeds:
            with self.source.lock:
                self.source.relay_pcm.clear()

    def resume(self) -> None:
        self.held = False

    def close(self) -> str:
        if self.feeds:
            self.source.drop_relay(self.key)
        return ""


def decode_pcm(path: Path) -> bytes:
    """The rendition as raw mono PCM at the mount's rate."""
    proc = subprocess.run(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path)),
            *("-f", "s16le", "-ar", str(RATE), "-ac", "1", "pipe:1"),
        ],
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OutputError(
            N_("cannot decode {name}: {err}").format(
                name=path.name, err=err[-1] if err else proc.returncode
            )
        )
    return proc.stdout


class IcecastOutput:
    Settings = IcecastSettings

    @classmethod
    def check_environment(cls, settings: IcecastSettings, root: Path) -> list[str]:
        """The server must accept a connection (that ffmpeg, which encodes the stream, is
        installed is checked by every ``check``, online or not)."""
        return tcp_reachable(settings.host, settings.port, "Icecast")

    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        from broadcaster.playout.mqtt.settings import validate  # located errors, one place

        self.name = name
        self.settings: IcecastSettings = validate(
            IcecastSettings, settings, "schedules/station.yaml", f"outputs.{name}"
        )
        if shutil.which("ffmpeg") is None:
            raise OutputError(N_("ffmpeg is not installed"))
        pw_path = Path(self.settings.password_file)
        pw_path = pw_path if pw_path.is_absolute() else root / pw_path
        try:
            password = pw_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            from broadcaster.core.errors import ConfigErrors, Problem

            raise ConfigErrors(
                [
                    Problem(
                        _("cannot read the source password: {err}").format(err=exc.strerror),
                        path="schedules/station.yaml",
                        field=f"outputs.{name}.password_file",
                    )
                ]
            ) from None
        s = self.settings
        self.sources: dict[str, MountSource] = {}
        for mount in sorted(set(s.mounts.values())):
            path = "/" + mount.lstrip("/")
            url = f"icecast://{quote(s.user)}:{quote(password)}@{s.host}:{s.port}{path}"
            self.sources[mount] = MountSource(url, s.bitrate, path)

    def start(self, item: PlayItem) -> IcecastPlayback:
        mount = self.settings.mounts.get(item.zone_id)
        if mount is None:
            raise OutputError(N_("no mount configured for zone '{zone}'").format(zone=item.zone_id))
        pcm = decode_pcm(item.audio_path)
        source = self.sources[mount]
        return source.play(IcecastPlayback(source, pcm, item.airing_id, item.audio_sha256))

    def open_relay(self, target: RelayTarget) -> IcecastRelaySink:
        """The zone's mount carries the relay's PCM (the pull's, not a second connection
        to the upstream); zones sharing the mount share the relay."""
        mount = self.settings.mounts.get(target.zone_id)
        if mount is None:
            raise OutputError(
                N_("no mount configured for zone '{zone}'").format(zone=target.zone_id)
            )
        source = self.sources[mount]
        key = (target.relay_id, target.start.isoformat())
        return IcecastRelaySink(source, key, feeds=source.take_relay(key))

    def close(self) -> None:
        for source in self.sources.values():
            source.close()
