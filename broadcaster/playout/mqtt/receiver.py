"""The reference receiver: what a hamlet cluster's controller does, in readable Python.

Vendors read it next to docs/RECEIVER-PROTOCOL.md; tests and benchmarks run many of them
in one process (:class:`ReceiverHost`), each with its own broker connection, so each
has its own last-will message exactly like a device would.

For every command: verify (identity, signature, counter, expiry), and for ``play`` fetch
the audio over HTTP, check its SHA-256, then play it (to a file, or through a local
player command) and report ``ack`` on start and ``done`` at the end. Anything refused is
reported on ``error`` and written to the receiver's own log (``events.jsonl``).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from broadcaster import __version__
from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.settings import ReceiverEntry, ReceiverFileSettings, client

log = logging.getLogger("broadcaster.receiver")

RANK = {"emergency": 0, "priority": 1, "normal": 2}


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Playing:
    airing_id: int
    priority: str
    started_wall: int
    started_mono: float
    duration_ms: int
    ends_mono: float
    proc: subprocess.Popen[bytes] | None = None
    token: int = 0


class Receiver:
    """One device: its key, its counter, what it plays, its own broker connection."""

    def __init__(self, host: ReceiverHost, entry: ReceiverEntry, key: bytes) -> None:
        cfg = host.cfg
        self.host = host
        self.id = entry.id
        self.zone = entry.zone
        self.station = cfg.station
        self.dir = host.state_dir / entry.id
        self.dir.mkdir(parents=True, exist_ok=True)
        state = self._load_state()
        self.verifier = protocol.Verifier(
            cfg.station, entry.zone, entry.id, key, int(state.get("last_counter", 0))
        )
        self.volume = int(state.get("volume", 80))
        self.lock = threading.RLock()
        self.playing: Playing | None = None
        self.online_since: int | None = None
        self.connected = threading.Event()
        self.mqtt = client(
            cfg.broker,
            host.base,
            f"loa-{cfg.station}-{entry.id}",
            clean_session=False,  # QoS 1 commands wait at the broker while we are away
        )
        self.mqtt.will_set(
            self.topic("status"),
            protocol.report("status", self.id, 0, state="offline", reason="connection lost"),
            qos=1,
            retain=True,
        )
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = self._on_message
        self.mqtt.on_disconnect = lambda *_a: self.connected.clear()

    def topic(self, kind: str) -> str:
        return protocol.topic(self.station, self.zone, self.id, kind)

    # -- persistence: the counter must survive a reboot ---------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            return json.loads((self.dir / "state.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def _save_state(self) -> None:
        tmp = self.dir / "state.json.part"
        tmp.write_text(
            json.dumps({"last_counter": self.verifier.last_counter, "volume": self.volume}),
            encoding="utf-8",
        )
        tmp.replace(self.dir / "state.json")

    def event(self, kind: str, **fields: Any) -> None:
        """The receiver's own log: what it did and what it refused, one JSON line each."""
        record = {"at": wall_ms(), "event": kind, "receiver": self.id, **fields}
        with self.lock, open(self.dir / "events.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def send(self, kind: str, retain: bool = False, **fields: Any) -> None:
        self.mqtt.publish(
            self.topic(kind), protocol.report(kind, self.id, wall_ms(), **fields), 1, retain
        )

    # -- connection ----------------------------------------------------------------------
    def connect(self) -> None:
        b = self.host.cfg.broker
        self.mqtt.connect_async(b.host, b.port, b.keepalive)
        self.mqtt.loop_start()

    def _on_connect(self, c: mqtt.Client, _u, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.error("%s: broker refused the connection: %s", self.id, reason_code)
            return
        self.online_since = wall_ms()
        c.subscribe(self.topic("cmd"), qos=1)
        self.send(
            "status",
            retain=True,
            state="online",
            since=self.online_since,
            zone=self.zone,
            firmware=self.host.cfg.firmware,
            version=__version__,
            heartbeat_s=self.host.cfg.heartbeat_seconds,
        )
        self.heartbeat()
        self.connected.set()

    def heartbeat(self) -> None:
        with self.lock:
            playing = self.playing.airing_id if self.playing else None
        self.send("heartbeat", retain=True, playing=playing, volume=self.volume)

    def close(self) -> None:
        """A clean shutdown says so; a crash leaves the last will to say it."""
        with self.lock:
            if self.playing is not None:
                self._finish(self.playing, completed=False, reason="receiver shut down")
        if self.connected.is_set():
            info = self.mqtt.publish(
                self.topic("status"),
                protocol.report(
                    "status",
                    self.id,
                    wall_ms(),
                    state="offline",
                    since=wall_ms(),
                    reason="shutdown",
                ),
                1,
                True,
            )
            info.wait_for_publish(2)
        self.mqtt.disconnect()
        self.mqtt.loop_stop()

    # -- commands ------------------------------------------------------------------------
    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        received = wall_ms()
        try:
            with self.lock:
                before = self.verifier.last_counter
                try:
                    body = self.verifier.check(msg.payload, received)
                finally:
                    if self.verifier.last_counter != before:
                        self._save_state()
        except protocol.Rejected as rejected:
            self.reject(rejected.code, rejected.detail, rejected.body)
            return
        self.event("command", type=body["type"], counter=body["counter"])
        if body["type"] == "play":
            self.host.pool.submit(self._play, body, received)
        elif body["type"] == "stop":
            self.stop(body.get("airing_id"), "stopped by the station")
        elif body["type"] == "volume":
            with self.lock:
                self.volume = body["volume"]
                self._save_state()
            self.event("volume", volume=self.volume)
            self.heartbeat()

    def reject(self, code: str, detail: str, body: dict[str, Any] | None) -> None:
        body = body or {}
        log.warning("%s: rejected command: %s: %s", self.id, code, detail)
        self.event(
            "rejected",
            code=code,
            detail=detail,
            counter=body.get("counter"),
            airing_id=body.get("airing_id"),
            type=body.get("type"),
        )
        self.send(
            "error",
            code=code,
            detail=detail,
            counter=body.get("counter") if isinstance(body.get("counter"), int) else None,
            airing_id=body.get("airing_id") if isinstance(body.get("airing_id"), int) else None,
        )

    def _play(self, body: dict[str, Any], received: int) -> None:
        try:
            audio = self.host.fetch(self, body["url"], body["sha256"])
        except protocol.Rejected as rejected:
            self.reject(rejected.code, rejected.detail, body)
            return
        if wall_ms() > body["deadline"]:
            self.reject(protocol.EXPIRED, "start deadline passed while fetching", body)
            return
        with self.lock:
            current = self.playing
            if current is not None:
                if RANK[body["priority"]] > RANK[current.priority]:
                    self.reject(
                        protocol.BUSY,
                        f"playing {current.priority} airing {current.airing_id}",
                        body,
                    )
                    return
                self._finish(
                    current, completed=False, reason=f"preempted by airing {body['airing_id']}"
                )
            self._start(body, audio)

    def _start(self, body: dict[str, Any], audio: Path) -> None:
        pace = self.host.cfg.pace
        now_wall, now_mono = wall_ms(), time.monotonic()
        seconds = body["duration_ms"] / 1000 / pace if pace > 0 else 0.0
        playing = Playing(
            body["airing_id"],
            body["priority"],
            now_wall,
            now_mono,
            body["duration_ms"],
            now_mono + seconds,
            token=next(self.host.tokens),
        )
        if self.host.cfg.player:
            argv = [p.replace("{file}", str(audio)) for p in self.host.cfg.player]
            try:
                playing.proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                self.reject(protocol.PLAYER_FAILED, exc.strerror or str(exc), body)
                return
        else:
            self._to_file(body, audio, now_wall)
        self.playing = playing
        self.send("ack", airing_id=playing.airing_id, counter=body["counter"], started_at=now_wall)
        self.event("started", airing_id=playing.airing_id, sha256=body["sha256"])
        if playing.proc is not None:
            threading.Thread(target=self._wait_player, args=(playing,), daemon=True).start()
        else:
            self.host.at(playing.ends_mono, self, playing.token)

    def _to_file(self, body: dict[str, Any], audio: Path, now_wall: int) -> None:
        out = self.host.out_dir / self.id if self.host.out_dir else self.dir / "played"
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"{now_wall}-{body['airing_id']}{audio.suffix}"
        try:
            os.link(audio, target)
        except OSError:
            shutil.copyfile(audio, target)

    def _wait_player(self, playing: Playing) -> None:
        assert playing.proc is not None
        code = playing.proc.wait()
        with self.lock:
            if self.playing is playing:
                self._finish(playing, completed=code == 0, reason=f"player exited with {code}")

    def ended(self, token: int) -> None:
        """The host's timer: the audio has played to its end."""
        with self.lock:
            if self.playing is not None and self.playing.token == token:
                self._finish(self.playing, completed=True)

    def stop(self, airing_id: int | None, reason: str) -> None:
        with self.lock:
            if self.playing is not None and airing_id in (None, self.playing.airing_id):
                self._finish(self.playing, completed=False, reason=reason)

    def _finish(self, playing: Playing, completed: bool, reason: str = "") -> None:
        """Report how it ended (caller holds the lock)."""
        if playing.proc is not None and playing.proc.poll() is None:
            playing.proc.terminate()
        self.playing = None
        if completed:
            played = playing.duration_ms
        else:
            pace = self.host.cfg.pace or 1.0
            played = min(
                playing.duration_ms, int((time.monotonic() - playing.started_mono) * 1000 * pace)
            )
        self.send(
            "done",
            airing_id=playing.airing_id,
            started_at=playing.started_wall,
            played_ms=played,
            completed=completed,
            reason="" if completed else reason,
        )
        self.event("done", airing_id=playing.airing_id, completed=completed, reason=reason)


class ReceiverHost:
    """Many receivers in one process: shared worker pool and end-of-audio timer."""

    def __init__(self, cfg: ReceiverFileSettings, base: Path, only: set[str] | None = None):
        self.cfg = cfg
        self.base = base
        self.state_dir = _under(base, cfg.state_dir)
        self.out_dir = _under(base, cfg.out_dir) if cfg.out_dir else None
        self.pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="receiver")
        self.tokens = itertools.count(1)
        self._timers: list[tuple[float, int, Receiver]] = []
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._shared: dict[str, threading.Lock] = {}
        self._shared_lock = threading.Lock()
        self._downloaded: dict[str, bytes] = {}
        self.receivers = [
            Receiver(self, e, _key(e, base)) for e in cfg.receivers if only is None or e.id in only
        ]
        self._threads = [
            threading.Thread(target=self._timer_loop, name="receiver-timers", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name="receiver-heartbeat", daemon=True),
        ]

    def start(self, wait: float = 30.0) -> bool:
        for t in self._threads:
            t.start()
        for r in self.receivers:
            r.connect()
        limit = time.monotonic() + wait
        return all(r.connected.wait(max(0.0, limit - time.monotonic())) for r in self.receivers)

    def at(self, when: float, receiver: Receiver, token: int) -> None:
        with self._cond:
            heapq.heappush(self._timers, (when, token, receiver))
            self._cond.notify()

    def _timer_loop(self) -> None:
        while not self._closing.is_set():
            with self._cond:
                while not self._timers and not self._closing.is_set():
                    self._cond.wait()
                if self._closing.is_set():
                    return
                when, token, receiver = self._timers[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._timers)
            receiver.ended(token)

    def _heartbeat_loop(self) -> None:
        while not self._closing.wait(self.cfg.heartbeat_seconds):
            for r in self.receivers:
                if r.connected.is_set():
                    r.heartbeat()

    def fetch(self, receiver: Receiver, url: str, sha256: str) -> Path:
        """The audio, verified, from the receiver's cache or over HTTP."""
        cache = receiver.dir / "cache"
        name = sha256.lower() + Path(url.split("?", 1)[0]).suffix
        cached = cache / name
        if cached.is_file():
            return cached
        if not url.startswith(("http://", "https://")):
            raise protocol.Rejected(protocol.FETCH_FAILED, f"unsupported URL {url}")
        if self.cfg.share_downloads:
            with self._shared_lock:
                flight = self._shared.setdefault(url, threading.Lock())
            with flight:  # one download per URL for the whole process
                data = self._downloaded.get(url) or self._download(url)
                self._downloaded[url] = data
        else:
            data = self._download(url)
        if not protocol.audio_ok(data, sha256):
            got = hashlib.sha256(data).hexdigest()
            raise protocol.Rejected(
                protocol.HASH_MISMATCH, f"audio is {got[:16]}…, the command says {sha256[:16]}…"
            )
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / (name + f".{threading.get_ident()}.part")
        tmp.write_bytes(data)
        tmp.replace(cached)
        return cached

    @staticmethod
    def _download(url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise protocol.Rejected(protocol.FETCH_FAILED, f"{url}: {exc}") from None

    def close(self) -> None:
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        for r in self.receivers:
            r.close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _under(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def _key(entry: ReceiverEntry, base: Path) -> bytes:
    if entry.key_file:
        text = _under(base, entry.key_file).read_text(encoding="utf-8")
    elif entry.key:
        text = entry.key
    else:
        raise ValueError(f"receiver {entry.id}: give 'key_file' (or 'key')")
    return protocol.parse_key(text)
