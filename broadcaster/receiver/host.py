"""The reference receiver: what a hamlet cluster's controller does, in readable Python.

Vendors read it next to docs/RECEIVER-PROTOCOL.md; tests and benchmarks run many of them
in one process (:class:`ReceiverHost`), each with its own broker connection, so each
has its own last-will message exactly like a device would.

For every command: verify (identity, signature, counter, expiry), and for ``play`` fetch
the audio over HTTP (or take it from the host's cache), check its SHA-256, then play it
(to a file, or through a local player command), at once or, for a play cued with
``start_at``, at that instant by this machine's clock; report ``ack`` on start and
``done`` at the end. ``prefetch`` only fills the cache (emergency templates). Anything
refused is reported on ``error`` and written to the receiver's own log
(``events.jsonl``).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import heapq
import itertools
import json
import logging
import math
import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from broadcaster import __version__
from broadcaster.playout.mqtt import protocol
from broadcaster.playout.mqtt.settings import client
from broadcaster.receiver.relaying import ReceiverRelay, SharedPulls
from broadcaster.receiver.settings import ReceiverEntry, ReceiverFileSettings

log = logging.getLogger("broadcaster.receiver")

RANK = {"emergency": 0, "priority": 1, "normal": 2}
STATE_BYTES = 256  # the state record, padded: well within one 512-byte sector


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


@dataclass
class Cued:
    """A verified play whose audio is on the box, waiting for its ``start_at``; or, once
    that came while something as urgent was on air, ``waiting`` for it to end."""

    body: dict[str, Any]
    audio: Path
    waiting: bool = False


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
        # Made now: creating a directory costs a millisecond, too much at a cued start.
        self.played_dir = host.out_dir / self.id if host.out_dir else self.dir / "played"
        if not host.cfg.player:
            self.played_dir.mkdir(parents=True, exist_ok=True)
        self._state_fd = os.open(self.dir / "state.json", os.O_RDWR | os.O_CREAT, 0o600)
        self._events = open(self.dir / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.key = key
        self.verifier = protocol.Verifier(
            cfg.station,
            entry.zone,
            entry.id,
            key,
            _state_int(state, "last_counter"),
            _state_int(state, "last_resync"),
        )
        self._seq = 0  # of this receiver's signed reports
        self.volume = int(state.get("volume", 80))
        self.lock = threading.RLock()
        self._clamp_counter()
        self.playing: Playing | None = None
        self.cued: dict[int, Cued] = {}
        self.relays: dict[tuple[str, int], ReceiverRelay] = {}  # (relay id, start ms)
        # Airings stopped before their play was ready (the stop overtook the download).
        self.dropped: collections.deque[int] = collections.deque(maxlen=64)
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
        self.mqtt.on_disconnect = self._on_disconnect
        host.attach(self)

    def topic(self, kind: str) -> str:
        return protocol.topic(self.station, self.zone, self.id, kind)

    # -- persistence: the counter must survive a reboot ---------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            state = json.loads((self.dir / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        return state if isinstance(state, dict) else {}

    def _clamp_counter(self) -> None:
        """A counter stored from a clock far ahead (older firmware accepted any) is
        brought back to the bound: commands flow again within that bound, or at once
        after a signed ``resync``, instead of never."""
        limit = (wall_ms() + self.verifier.max_ahead_ms) * 1000
        if self.verifier.last_counter > limit:
            log.warning("%s: stored counter is far ahead of the clock; clamped", self.id)
            self.event("counter-clamped", was=self.verifier.last_counter, now=limit)
            self.verifier.last_counter = limit

    def _save_state(self) -> None:
        """Rewrite the state in place: one write of a fixed-size record at offset 0.

        It happens before every command is acted on, so it must be cheap: a temporary
        file and a rename cost ten times more on a fan-out of hundreds of receivers.
        The record (JSON padded with spaces) fits one disk sector, whose write is atomic.
        """
        data = json.dumps(
            {
                "last_counter": self.verifier.last_counter,
                "last_resync": self.verifier.last_resync,
                "volume": self.volume,
            }
        )
        os.pwrite(self._state_fd, data.encode("utf-8").ljust(STATE_BYTES), 0)

    def event(self, kind: str, **fields: Any) -> None:
        """The receiver's own log: what it did and what it refused, one JSON line each
        (kept open and flushed per line: reopening it per event is slow at a fan-out)."""
        record = {"at": wall_ms(), "event": kind, "receiver": self.id, **fields}
        with self.lock:
            self._events.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._events.flush()

    def close_files(self) -> None:
        with self.lock:
            self._events.close()
            os.close(self._state_fd)

    def signed(self, kind: str, /, **fields: Any) -> bytes:
        """A report signed with this receiver's key, with the next ``seq`` (wall-clock
        microseconds, so it keeps increasing across reboots)."""
        with self.lock:
            self._seq = max(self._seq + 1, time.time_ns() // 1000)
            seq = self._seq
        return protocol.report(kind, self.id, wall_ms(), self.key, seq, **fields)

    def send(self, kind: str, /, retain: bool = False, **fields: Any) -> None:
        self.mqtt.publish(self.topic(kind), self.signed(kind, **fields), 1, retain)

    # -- connection ----------------------------------------------------------------------
    def connect(self) -> None:
        """Open the broker connection; the host's network loop carries it from then on."""
        b = self.host.cfg.broker
        self.mqtt.connect_async(b.host, b.port, b.keepalive)
        self.host.reconnect(self, delay=0.0)

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
            heartbeat_s=max(1, math.ceil(self.host.cfg.heartbeat_seconds)),
        )
        self.heartbeat()
        self.connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()
        if not self.host.closing.is_set():
            self.host.reconnect(self, delay=1.0)

    def heartbeat(self) -> None:
        with self.lock:
            playing = self.playing.airing_id if self.playing else None
        self.send(
            "heartbeat",
            retain=True,
            playing=playing,
            volume=self.volume,
            loop_restarts=self.host.loop_restarts,
            faults=self.host.faults,
        )

    def farewell(self) -> mqtt.MQTTMessageInfo | None:
        """A clean shutdown says so (a crash leaves the last will to say it)."""
        with self.lock:
            self.cued.clear()
            relays = list(self.relays.values())
        for relay in relays:
            relay.stop("receiver shut down")
        with self.lock:
            if self.playing is not None:
                self._finish(self.playing, completed=False, reason="receiver shut down")
        if not self.connected.is_set():
            return None
        now = wall_ms()
        return self.mqtt.publish(
            self.topic("status"),
            self.signed("status", state="offline", since=now, reason="shutdown"),
            1,
            True,
        )

    # -- commands ------------------------------------------------------------------------
    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        """Every command, whatever it holds, ends here and returns normally: paho then
        acknowledges it, so the broker never redelivers a message that cannot be
        handled (a poisoned message would otherwise kill the receiver at every boot)."""
        try:
            self._handle(msg.payload)
        except Exception as exc:
            self.host.fault()
            log.exception("%s: a command could not be handled; dropped", self.id)
            with contextlib.suppress(Exception):
                self.reject(protocol.INTERNAL, f"dropped: {type(exc).__name__}", None)

    def _handle(self, payload: bytes) -> None:
        received = wall_ms()
        try:
            with self.lock:
                before = (self.verifier.last_counter, self.verifier.last_resync)
                try:
                    body = self.verifier.check(payload, received)
                finally:
                    if (self.verifier.last_counter, self.verifier.last_resync) != before:
                        self._save_state()
        except protocol.Rejected as rejected:
            if rejected.code == protocol.DUPLICATE:  # MQTT delivers at least once
                self.event("duplicate", counter=_plain(rejected.body.get("counter")))
                return
            self.reject(rejected.code, rejected.detail, rejected.body)
            return
        self.event("command", type=body["type"], counter=body["counter"])
        if body["type"] == "resync":
            self.event("resynced", counter=body["counter"])
        elif body["type"] in ("play", "prefetch"):
            self.host.obtain(self, body)
        elif body["type"] == "relay":
            self.relay(body)
        elif body["type"] == "stop":
            self.stop(body.get("airing_id"), "stopped by the station")
        elif body["type"] == "volume":
            with self.lock:
                self.volume = body["volume"]
                self._save_state()
            self.event("volume", volume=self.volume)
            self.heartbeat()

    def relay(self, body: dict[str, Any]) -> None:
        """A verified ``relay``: acknowledge it and begin at its ``start_at`` by this
        machine's clock (at once if the window is already open)."""
        relay = ReceiverRelay(self, body)
        with self.lock:
            if relay.key in self.relays:
                self.event("relay-known", relay_id=relay.relay_id, counter=body["counter"])
                return
            self.relays[relay.key] = relay
        self.send("ack", **relay.fields())
        self.event("relay-accepted", relay_id=relay.relay_id, start_at=relay.start_ms)
        self.host.at(self.host.mono_of(relay.start_ms), relay.begin)

    def relay_over(self, relay: ReceiverRelay) -> None:
        with self.lock:
            if self.relays.get(relay.key) is relay:
                del self.relays[relay.key]

    def reject(self, code: str, detail: str, body: dict[str, Any] | None) -> None:
        body = body or {}
        log.warning("%s: rejected command: %s: %s", self.id, code, detail)
        self.event(
            "rejected",
            code=code,
            detail=detail,
            counter=_plain(body.get("counter")),
            airing_id=_plain(body.get("airing_id")),
            type=_plain(body.get("type")),
        )
        self.send(
            "error",
            code=code,
            detail=detail,
            counter=_int_or_none(body.get("counter")),
            airing_id=_int_or_none(body.get("airing_id")),
        )

    def obtained(
        self, body: dict[str, Any], audio: Path, downloaded: bool
    ) -> Callable[[], None] | None:
        """The audio of a ``play`` or ``prefetch`` is on the box and checked (network
        thread): keep it, or start the play now, or hold it for its ``start_at``."""
        if body["type"] == "prefetch":
            self.event("prefetched", sha256=body["sha256"], file=audio.name, downloaded=downloaded)
            return None
        body = {**body, "_downloaded": downloaded}  # for the receiver's own log only
        with self.lock:
            if body["airing_id"] in self.dropped:
                self._cancelled(body["airing_id"], "stopped by the station")
                return None
        if wall_ms() > body["deadline"]:
            self.reject(protocol.EXPIRED, "start deadline passed while fetching", body)
            return None
        start_at = body.get("start_at")
        if start_at is not None and start_at > wall_ms():
            with self.lock:
                self.cued[body["airing_id"]] = Cued(body, audio)
            self.event("cued", airing_id=body["airing_id"], start_at=start_at)
            self.host.at(self.host.mono_of(start_at), self._due, body["airing_id"])
            return None
        return self._go(body, audio, cued=start_at is not None)

    def _due(self, airing_id: int) -> Callable[[], None] | None:
        """The host's timer: a cued play's ``start_at`` has come (or what held it ended)."""
        with self.lock:  # held throughout, so a stop cannot slip between check and start
            cued = self.cued.pop(airing_id, None)
            if cued is None:  # cancelled by a stop, or already started
                return None
            if wall_ms() > cued.body["deadline"]:
                self.reject(protocol.EXPIRED, "start deadline passed while waiting", cued.body)
                return None
            return self._go(cued.body, cued.audio, cued=True)

    def _lapse(self, airing_id: int) -> None:
        """The host's timer at a waiting cued play's deadline: too late to start it now."""
        with self.lock:
            cued = self.cued.get(airing_id)
            if cued is None or not cued.waiting or wall_ms() <= cued.body["deadline"]:
                return
            del self.cued[airing_id]
        self.reject(protocol.EXPIRED, "start deadline passed while another play ran", cued.body)

    def _go(self, body: dict[str, Any], audio: Path, cued: bool) -> Callable[[], None] | None:
        """Start the play unless something as urgent is on air; the reports to send after.

        An immediate play (no ``start_at``) preempts anything no more urgent, as the
        station only sends one when it wants it on air now. A cued play preempts only what
        is strictly less urgent: a bulletin that runs a little over is not cut by the
        next one booked after it; the next one waits for it (until its deadline).
        """
        with self.lock:
            current = self.playing
            if current is not None:
                rank, held = RANK[body["priority"]], RANK[current.priority]
                if rank > held or (cued and rank == held):
                    if cued:
                        self.cued[body["airing_id"]] = Cued(body, audio, waiting=True)
                        self.host.at(
                            self.host.mono_of(body["deadline"] + 1), self._lapse, body["airing_id"]
                        )
                        return None
                    self.reject(
                        protocol.BUSY,
                        f"playing {current.priority} airing {current.airing_id}",
                        body,
                    )
                    return None
                self._finish(
                    current, completed=False, reason=f"preempted by airing {body['airing_id']}"
                )
            return self._start(body, audio)

    def _start(self, body: dict[str, Any], audio: Path) -> Callable[[], None] | None:
        """Put the audio on air now (caller holds the lock); the ack and the rest follow.

        Starting and reporting are split so a host starting many receivers at the same
        instant starts every one of them before it spends time on their reports.
        """
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
                return None
        else:
            self._to_file(body, audio, now_wall)
        self.playing = playing
        for relay in self.relays.values():  # its own airing goes out instead of the relay
            relay.hold(f"airing {playing.airing_id}")

        def announce() -> None:
            self.send(
                "ack", airing_id=playing.airing_id, counter=body["counter"], started_at=now_wall
            )
            self.event(
                "started",
                airing_id=playing.airing_id,
                sha256=body["sha256"],
                started_at=now_wall,
                cued=body.get("start_at") is not None,
                downloaded=body.get("_downloaded", False),
            )
            if playing.proc is not None:
                threading.Thread(target=self._wait_player, args=(playing,), daemon=True).start()
            else:
                self.host.at(playing.ends_mono, self.ended, playing.token)

        return announce

    def _to_file(self, body: dict[str, Any], audio: Path, now_wall: int) -> None:
        target = self.played_dir / f"{now_wall}-{body['airing_id']}{audio.suffix}"
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
        """End the named (or current) airing; a named one still cued is dropped unplayed."""
        with self.lock:
            if airing_id is not None and self.cued.pop(airing_id, None) is not None:
                self._cancelled(airing_id, reason)
            elif self.playing is not None and airing_id in (None, self.playing.airing_id):
                self._finish(self.playing, completed=False, reason=reason)
            elif airing_id is not None:
                self.dropped.append(airing_id)  # its play may still be fetching

    def _cancelled(self, airing_id: int, reason: str) -> None:
        """A play dropped before it started (caller holds the lock)."""
        self.send(
            "done",
            airing_id=airing_id,
            started_at=None,
            played_ms=0,
            completed=False,
            reason=reason,
        )
        self.event("cancelled", airing_id=airing_id, reason=reason)

    def _finish(self, playing: Playing, completed: bool, reason: str = "") -> None:
        """Report how it ended (caller holds the lock); cued plays held by it may start."""
        if playing.proc is not None and playing.proc.poll() is None:
            playing.proc.terminate()
        self.playing = None
        for relay in self.relays.values():
            relay.resume()
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
        waiting = [c for c in self.cued.values() if c.waiting]
        waiting.sort(key=lambda c: (RANK[c.body["priority"]], c.body["start_at"]))
        now = time.monotonic()
        for c in waiting:  # the first to run starts; the others wait again
            c.waiting = False
            self.host.at(now, self._due, c.body["airing_id"])


class ReceiverHost:
    """Many receivers in one process, as in a multi-channel receiver box.

    Each receiver keeps its own broker connection (its own login, last will and
    commands), but one network thread serves all of them (paho's external-loop API over
    a selector), and the same thread runs the timers (ends of audio, cued starts). A
    thread per connection would have hundreds of threads wake and fight over the GIL
    at every fan-out; one loop handles the burst in order. Downloads run on a worker
    pool, and the content cache is keyed by SHA-256, so the receivers of one host share
    one verified copy of each audio: a thousand channels fetch it once, not a thousand
    times.
    """

    def __init__(self, cfg: ReceiverFileSettings, base: Path, only: set[str] | None = None):
        self.cfg = cfg
        self.base = base
        self.state_dir = _under(base, cfg.state_dir)
        self.out_dir = _under(base, cfg.out_dir) if cfg.out_dir else None
        self.cache_dir = _under(base, cfg.cache_dir) if cfg.cache_dir else self.state_dir / "cache"
        self.relay_pulls = SharedPulls()  # receivers relaying the same window share a pull
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="receiver")
        self.tokens = itertools.count(1)
        self._timers: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._timers_lock = threading.Lock()
        self._wall_to_mono = time.monotonic() - time.time()
        self.closing = threading.Event()
        self._flights: dict[str, threading.Lock] = {}
        self._flights_lock = threading.Lock()
        self._verified: dict[str, Path] = {}
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._dirty: set[Receiver] = set()
        self._dirty_lock = threading.Lock()
        self._registered: dict[Receiver, tuple[Any, int]] = {}
        #: times the network loop died and was restarted, and handler faults survived
        self.loop_restarts = 0
        self.faults = 0
        self._loop_thread = threading.Thread(
            target=self._supervise, name="receiver-net", daemon=True
        )
        self.receivers = [
            Receiver(self, e, _key(e, base)) for e in cfg.receivers if only is None or e.id in only
        ]

    def start(self, wait: float = 30.0) -> bool:
        self._loop_thread.start()
        self.at(time.monotonic() + self.cfg.heartbeat_seconds, self._heartbeat)
        for r in self.receivers:
            r.connect()
        limit = time.monotonic() + wait
        return all(r.connected.wait(max(0.0, limit - time.monotonic())) for r in self.receivers)

    # -- the network loop ----------------------------------------------------------------
    def attach(self, receiver: Receiver) -> None:
        """Let the loop follow this receiver's socket (paho's external-loop callbacks,
        called from whichever thread opened, closed or wrote to it)."""
        c = receiver.mqtt
        c.on_socket_open = lambda *_a: self._touch(receiver)
        c.on_socket_close = lambda *_a: self._touch(receiver)
        c.on_socket_register_write = lambda *_a: self._touch(receiver)
        c.on_socket_unregister_write = lambda *_a: self._touch(receiver)

    def _touch(self, receiver: Receiver) -> None:
        with self._dirty_lock:
            self._dirty.add(receiver)
        self._wake()

    def _wake(self) -> None:
        if threading.current_thread() is self._loop_thread:
            return
        with contextlib.suppress(OSError):  # full (already awake) or closing
            self._wake_w.send(b"x")

    def reconnect(self, receiver: Receiver, delay: float) -> None:
        """(Re)open a receiver's connection after ``delay`` s; the blocking TCP connect
        runs on the worker pool, never on the network loop."""

        def attempt() -> None:
            if self.closing.is_set():
                return
            try:
                receiver.mqtt.reconnect()
            except (OSError, ValueError) as exc:
                log.warning("%s: cannot reach the broker (%s); retrying", receiver.id, exc)
                self.reconnect(receiver, delay=min(max(delay * 2, 1.0), 10.0))
            self._touch(receiver)

        self.at(time.monotonic() + delay, lambda: self.pool.submit(attempt))

    def _sync(self) -> None:
        """Match the selector to each changed receiver: its socket, and whether it has
        something to write."""
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        for r in dirty:
            sock = r.mqtt.socket()
            old = self._registered.get(r)
            want = selectors.EVENT_READ | (selectors.EVENT_WRITE if r.mqtt.want_write() else 0)
            if old is not None and (sock is None or old[0] is not sock):
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self._selector.unregister(old[0])
                del self._registered[r]
                old = None
            if sock is None:
                continue
            if old is None:
                self._selector.register(sock, want, r)
            elif old[1] != want:
                self._selector.modify(sock, want, r)
            self._registered[r] = (sock, want)

    def fault(self) -> None:
        """A handler failed and was survived (counted, reported in heartbeats)."""
        self.faults += 1

    def _supervise(self) -> None:
        """Run the network loop; if it ever dies, say so and run it again. A silent dead
        loop is a receiver that looks connected and never plays."""
        while not self.closing.is_set():
            try:
                self._loop()
            except Exception:
                self.loop_restarts += 1
                log.exception("receiver network loop died; restarting (%d)", self.loop_restarts)
                for r in self.receivers:
                    with contextlib.suppress(Exception):
                        r.event("loop-restarted", count=self.loop_restarts)
                time.sleep(0.2)

    def _serve(self, r: Receiver, mask: int) -> None:
        """One receiver's socket is ready; its failure is its own, not the loop's."""
        try:
            if mask & selectors.EVENT_READ:
                r.mqtt.loop_read()
                pending = getattr(r.mqtt.socket(), "pending", None)
                while pending is not None and pending() > 0:  # TLS: bytes already read
                    r.mqtt.loop_read()
                    pending = getattr(r.mqtt.socket(), "pending", None)
            if mask & selectors.EVENT_WRITE:
                r.mqtt.loop_write()
        except Exception:
            self.fault()
            log.exception("%s: network handling failed; continuing", r.id)

    def _loop(self) -> None:
        misc_at = time.monotonic() + 1.0
        while not self.closing.is_set():
            self._sync()
            with self._timers_lock:
                nxt = self._timers[0][0] if self._timers else misc_at
            timeout = max(0.0, min(nxt, misc_at) - time.monotonic())
            for key, mask in self._selector.select(timeout):
                r = key.data
                if r is None:
                    with contextlib.suppress(OSError):
                        while self._wake_r.recv(4096):
                            pass
                    continue
                self._serve(r, mask)
                # Callbacks may have queued packets on their own client without a
                # register-write callback (paho skips it inside callbacks): look again.
                with self._dirty_lock:
                    self._dirty.add(r)
            self._run_timers()
            if time.monotonic() >= misc_at:
                for r in self.receivers:
                    if r.connected.is_set():
                        r.mqtt.loop_misc()  # keepalive pings, dead-connection detection
                misc_at = time.monotonic() + 1.0
                offset = time.monotonic() - time.time()
                if abs(offset - self._wall_to_mono) > 0.005:  # the wall clock was stepped
                    self._wall_to_mono = offset

    def at(self, when: float, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` on the network thread at monotonic ``when``.

        If it returns a callable, that runs once every timer due at the same moment has
        run: receivers cued for one instant all start before any of them reports.
        """
        with self._timers_lock:
            heapq.heappush(self._timers, (when, next(self._seq), fn, args))
        self._wake()

    def _run_timers(self) -> None:
        now = time.monotonic()
        with self._timers_lock:
            due = []
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers))
        if not due:
            return
        afterwards = []
        for _when, _seq, fn, args in due:
            try:
                after = fn(*args)
            except Exception:  # one receiver's failure must not stop the others' timers
                log.exception("receiver timer failed")
                continue
            if callable(after):
                afterwards.append(after)
        for after in afterwards:
            try:
                after()
            except Exception:
                log.exception("receiver report failed")

    def _heartbeat(self) -> None:
        """Every receiver's heartbeat, then the next round (a timer on the loop thread)."""
        for r in self.receivers:
            if r.connected.is_set():
                r.heartbeat()
        self.at(time.monotonic() + self.cfg.heartbeat_seconds, self._heartbeat)

    def mono_of(self, wall: int) -> float:
        """A wall-clock instant (ms) on the monotonic clock the timers run on.

        Through one offset per host, changed only when the wall clock steps (checked
        every second by the loop), so receivers cued for the same ``start_at`` share one
        timer instant and start in one batch.
        """
        return wall / 1000 + self._wall_to_mono

    def has(self, sha256: str) -> bool:
        """This audio is in the cache and was verified by this process."""
        return sha256.lower() in self._verified

    def obtain(self, receiver: Receiver, body: dict[str, Any]) -> None:
        """Get a command's audio, then hand it to the receiver on the network thread.

        Audio already checked is handed over at once (we are on that thread); otherwise a
        worker downloads it and the rest is scheduled back onto the network thread, so a
        receiver's state and its reports are only ever touched from one thread.
        """
        if self.has(body["sha256"]):
            path = self._verified[body["sha256"].lower()]
            after = receiver.obtained(body, path, False)
            if after is not None:
                after()
            return

        def work() -> None:
            try:
                path, downloaded = self.fetch(body["url"], body["sha256"])
            except protocol.Rejected as rejected:
                self.at(time.monotonic(), receiver.reject, rejected.code, rejected.detail, body)
                return
            except Exception as exc:  # never lose a command silently in a worker
                log.exception("%s: fetching %s failed", receiver.id, body.get("url"))
                self.at(time.monotonic(), receiver.reject, protocol.FETCH_FAILED, str(exc), body)
                return
            self.at(time.monotonic(), receiver.obtained, body, path, downloaded)

        self.pool.submit(work)

    def fetch(self, url: str, sha256: str) -> tuple[Path, bool]:
        """The audio, verified, from the host's cache or downloaded once for all; and
        whether this call downloaded it.

        One download per hash at a time (the others wait for it and share the result);
        a file found in the cache from an earlier run is hashed again before it is
        trusted, once per process.
        """
        sha = sha256.lower()
        with self._flights_lock:
            flight = self._flights.setdefault(sha, threading.Lock())
        with flight:
            known = self._verified.get(sha)
            if known is not None and known.is_file():
                return known, False
            cached = self.cache_dir / (sha + Path(url.split("?", 1)[0]).suffix)
            if cached.is_file():
                if protocol.audio_ok(cached.read_bytes(), sha):
                    self._verified[sha] = cached
                    return cached, False
                cached.unlink(missing_ok=True)
            if not url.startswith(("http://", "https://")):
                raise protocol.Rejected(protocol.FETCH_FAILED, f"unsupported URL {url}")
            data = self._download(url)
            if not protocol.audio_ok(data, sha):
                got = hashlib.sha256(data).hexdigest()
                raise protocol.Rejected(
                    protocol.HASH_MISMATCH,
                    f"audio is {got[:16]}…, the command says {sha[:16]}…",
                )
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(cached.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(cached)
            self._verified[sha] = cached
            return cached, True

    @staticmethod
    def _download(url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise protocol.Rejected(protocol.FETCH_FAILED, f"{url}: {exc}") from None

    def close(self) -> None:
        """Say goodbye on every connection (offline, retained), disconnect cleanly so
        the broker drops the last wills, then stop the loop."""
        infos = [info for r in self.receivers if (info := r.farewell()) is not None]
        limit = time.monotonic() + 5.0
        for info in infos:
            info.wait_for_publish(max(0.0, limit - time.monotonic()))
        self.closing.set()
        for r in self.receivers:
            r.mqtt.disconnect()
        self._wake_w.send(b"x")
        self._loop_thread.join(timeout=5)
        for r in self.receivers:  # DISCONNECT written by now; close what is left
            r.mqtt.loop_write()
            r.close_files()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _state_int(state: dict[str, Any], name: str) -> int:
    value = state.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plain(value: Any) -> Any:
    """A field of a refused command, safe to write to the receiver's own log."""
    return value if isinstance(value, str | int | float | bool) or value is None else repr(value)


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
