"""The reference receiver's relays (protocol version 3): a hamlet cluster pulls the
upstream programme itself, in the window the station signed, by its own clock.

The station does not stream audio over MQTT: its ``relay`` command carries the source's
URL (and backup), the window and the relay's id. The receiver acknowledges it, and at
the window's start pulls the URL with the station's own relay puller
(``playout/relay_pull``: one ffmpeg, reconnection with back-off, the backup URL, silence
while down, a hard stop at the end), so a vendor reading this sees the same fault
handling the station uses. It "sounds" the relay the way the reference receiver plays
audio: into its played folder, as a WAV file per window. It reports ``relay-started``,
each dropout once it is over (when, how long), and ``relay-ended`` with the seconds it
really relayed. The end is the window's end on this machine's clock, whether or not the
station is still there.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broadcaster.playout.base import RELAY_BYTES_PER_SECOND
from broadcaster.playout.file_relay import GrowingWav
from broadcaster.playout.mqtt.protocol import silence_of
from broadcaster.playout.relay_pull import RelayPull
from broadcaster.playout.silence import SilenceEvent, SilenceStarted

if TYPE_CHECKING:
    from broadcaster.receiver.host import Receiver

WATCH_SECONDS = 1.0  # how often finished dropouts are looked for and reported
NOT_SOUNDED = "not sounded: keep_relays is false (a test rack)"


class WallClock:
    """This machine's clock (NTP-synchronised): the window is judged by it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def wall_of(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


class WavSink(GrowingWav):
    """What the receiver sounded, as a WAV file: the programme, and silence while the
    source was down; nothing while a play of its own held the relay (the pull writes
    nothing to a held share)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))

    def close(self) -> str:
        return self._finish() or ""


class CountingSink:
    """What a rack receiver received, counted and not kept (``keep_relays: false``): it
    sounds nothing, so it reports nothing relayed (see ``ReceiverRelay._ended``)."""

    def __init__(self) -> None:
        self._written = 0

    def write(self, pcm: bytes) -> None:
        self._written += len(pcm)

    def hold(self) -> None:
        """Nothing to release: while held the pull writes nothing here."""

    def resume(self) -> None:
        """Nothing to reopen."""

    def close(self) -> str:
        return ""

    @property
    def seconds(self) -> float:
        return self._written / RELAY_BYTES_PER_SECOND


class SharedPulls:
    """The relays of the receivers one process hosts: receivers relaying the same URLs
    in the same window share ONE pull (one ffmpeg), each with its own share, as a
    gateway serving several clusters would; each receiver still reports its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pulls: dict[tuple[tuple[str, ...], int], RelayPull] = {}
        self._takers: dict[int, list[ReceiverRelay]] = {}

    def join(self, relay: ReceiverRelay, sink: WavSink | CountingSink, held_by: str) -> RelayPull:
        key = (tuple(relay.urls), relay.end_ms, relay.silence)
        with self._lock:
            pull = self._pulls.get(key)
            fresh = pull is None or bool(pull.stopped_by)  # a stopped pull is not joined
            if fresh:
                end = datetime.fromtimestamp(relay.end_ms / 1000, UTC)
                pull = RelayPull(
                    relay.relay_id,
                    relay.urls,
                    WallClock(),
                    end,
                    on_done=self._done,
                    silence=relay.silence,
                )
                pull.on_silence = lambda receiver, event, p=pull: self._silent(p, receiver, event)
                self._pulls[key] = pull
                self._takers[id(pull)] = []
            assert pull is not None
            pull.add(relay.receiver.id, sink, held_by=held_by)
            self._takers[id(pull)].append(relay)
        if fresh:
            pull.start()
        return pull

    def _silent(self, pull: RelayPull, receiver: str, event: SilenceEvent) -> None:
        """A receiver's share went silent for the minimum (the pull's pacing thread):
        its relay says so at once; the span itself is reported as a dropout when over."""
        if not isinstance(event, SilenceStarted):
            return
        with self._lock:
            takers = list(self._takers.get(id(pull), []))
        for relay in takers:
            if relay.receiver.id == receiver:
                relay.silent(event)

    def _done(self, pull: RelayPull) -> None:
        with self._lock:
            takers = self._takers.pop(id(pull), [])
            self._pulls = {k: p for k, p in self._pulls.items() if p is not pull}
        for relay in takers:
            relay._pulled(pull)


class ReceiverRelay:
    """One signed relay window at one receiver: accepted, begun, ended (see module)."""

    def __init__(self, receiver: Receiver, body: dict[str, Any]) -> None:
        self.receiver = receiver
        self.body = body
        self.relay_id: str = body["relay_id"]
        self.counter: int = body["counter"]
        self.start_ms: int = body["start_at"]
        self.end_ms: int = body["end_at"]
        self.urls = [body["url"], *([body["backup_url"]] if body.get("backup_url") else [])]
        # Dead air is looked for when the station said what it is (protocol version 4).
        self.silence = silence_of(body)
        self.pull: RelayPull | None = None
        self.sink: WavSink | CountingSink | None = None
        self.started_ms: int | None = None
        self.reported_gaps = 0
        self.finished = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.relay_id, self.start_ms)

    def fields(self) -> dict[str, Any]:
        return {"relay_id": self.relay_id, "counter": self.counter}

    # -- on the host's network thread ----------------------------------------------------
    def begin(self) -> None:
        """The window has come (by this machine's clock): pull, record, report."""
        r = self.receiver
        if self.pull is not None or self.finished:
            return
        now = int(time.time() * 1000)
        if now >= self.end_ms:
            self.finished = True
            r.relay_over(self)
            return
        if r.host.cfg.keep_relays:
            r.played_dir.mkdir(parents=True, exist_ok=True)
            self.sink = WavSink(r.played_dir / f"{now}-relay-{self.relay_id}.wav")
        else:
            self.sink = CountingSink()
        held = r.playing.airing_id if r.playing is not None else None
        self.started_ms = now
        self.pull = r.host.relay_pulls.join(
            self, self.sink, f"airing {held}" if held is not None else ""
        )
        r.send("relay-started", started_at=now, **self.fields())
        kept = self.sink.path.name if isinstance(self.sink, WavSink) else ""
        r.event("relay-started", relay_id=self.relay_id, file=kept)
        r.host.at(time.monotonic() + WATCH_SECONDS, self._watch)

    def _watch(self) -> None:
        if self.finished:
            return
        self._report_gaps()
        self.receiver.host.at(time.monotonic() + WATCH_SECONDS, self._watch)

    def _report_gaps(self) -> None:
        if self.pull is None:
            return
        share = self.pull.shares.get(self.receiver.id)
        if share is None:
            return
        gaps = list(share.gaps)
        for gap in gaps[self.reported_gaps :]:
            self.receiver.send(
                "relay-dropout",
                began_at=wall_of(gap.at),
                lasted_ms=int(gap.seconds * 1000),
                kind=gap.kind,
                **self.fields(),
            )
        self.reported_gaps = len(gaps)

    def silent(self, event: SilenceStarted) -> None:
        """Dead air for the station's minimum (the pull's thread): ``relay-silence`` is
        sent on the network thread."""

        def tell() -> None:
            if self.finished:
                return
            self.receiver.send(
                "relay-silence",
                began_at=wall_of(event.at),
                lasted_ms=int(event.seconds * 1000),
                **self.fields(),
            )
            self.receiver.event("relay-silence", relay_id=self.relay_id, began_at=wall_of(event.at))

        self.receiver.host.at(time.monotonic(), tell)

    def _pulled(self, pull: RelayPull) -> None:
        """The pull is over (its own thread): report on the network thread."""
        self.receiver.host.at(time.monotonic(), self._ended)

    def _ended(self) -> None:
        if self.finished or self.pull is None:
            return
        self.finished = True
        self._report_gaps()
        share = self.pull.shares.get(self.receiver.id)
        # Dead air the station asked it to look for is not counted as relayed.
        received = share.audible if share is not None else 0.0
        reason = self.pull.stopped_by
        if not reason and not self.pull.came_up:
            reason = f"source never came up: {self.pull.last_error or 'no audio'}"
        # Only what was sounded counts as relayed: a rack receiver that keeps nothing
        # (``keep_relays: false``) sounded nothing, whatever it received.
        sounded = isinstance(self.sink, WavSink)
        relayed = received if sounded else 0.0
        if not sounded:
            reason = "; ".join(filter(None, [reason, NOT_SOUNDED]))
        now = int(time.time() * 1000)
        self.receiver.send(
            "relay-ended",
            started_at=self.started_ms,
            ended_at=now,
            relayed_ms=int(relayed * 1000),
            dropouts=self.reported_gaps,
            sha256=share.sha256 if share is not None else "",
            reason=reason,
            dead_air_ms=int(share.dead_air * 1000) if share is not None else 0,
            **self.fields(),
        )
        self.receiver.event(
            "relay-ended",
            relay_id=self.relay_id,
            relayed_ms=int(relayed * 1000),
            received_ms=int(received * 1000),
            dead_air_ms=int(share.dead_air * 1000) if share is not None else 0,
            dropouts=self.reported_gaps,
            reason=reason,
        )
        self.receiver.relay_over(self)

    # -- from the receiver ---------------------------------------------------------------
    def hold(self, by: str) -> None:
        if self.pull is not None:
            self.pull.hold(self.receiver.id, by)

    def resume(self) -> None:
        if self.pull is not None:
            self.pull.resume(self.receiver.id)

    def stop(self, reason: str) -> None:
        """The receiver shuts down: cut the pull now (its end is still reported)."""
        if self.pull is not None:
            self.pull.stop(reason)
            with contextlib.suppress(Exception):
                self.pull.join(timeout=5)
