"""The outputs' relay sinks (issue 16) fed by a real pull from a local Icecast: the
``icecast`` output puts the relayed programme on the zone's own mount (a listener hears
the tone, then silence again when the window ends), and the ``player`` output plays it
through its relay command (here ffmpeg writing a WAV file, standing in for the sound
card), stopping while an emergency holds the zone and starting again after it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from netkit import ICECAST_SOURCE_PASSWORD, icecast
from relaykit import probe_seconds, upstreams
from test_icecast import Recorder, _levels, _mount_up

from broadcaster.engine.clock import SystemClock
from broadcaster.playout.base import RelayTarget
from broadcaster.playout.icecast_output import IcecastOutput
from broadcaster.playout.player_output import PlayerOutput
from broadcaster.playout.relay_pull import RelayPull

pytestmark = pytest.mark.realtime


def _target(clock: SystemClock, zone: str, seconds: float) -> RelayTarget:
    now = clock.now()
    return RelayTarget(zone, "vov1-sang", "vov1", now, now + timedelta(seconds=seconds), "x")


def _pull(url: str, target: RelayTarget, clock: SystemClock) -> tuple[RelayPull, threading.Event]:
    pull = RelayPull("vov1", [url], clock, target.end)
    done = threading.Event()
    pull.on_done = lambda _p: done.set()
    return pull, done


def test_icecast_mount_carries_the_relay_then_silence(tmp_path: Path):
    clock = SystemClock()
    with icecast() as server, upstreams(server.port, "/vov1.mp3") as ups:
        (tmp_path / "pass").write_text(ICECAST_SOURCE_PASSWORD)
        output = IcecastOutput(
            "stream",
            {"port": server.port, "password_file": "pass", "mounts": {"xa": "/xa.mp3"}},
            tmp_path,
            clock,
        )
        try:
            url = f"http://127.0.0.1:{server.port}/xa.mp3"
            deadline = time.monotonic() + 30
            while not _mount_up(url):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            recorder = Recorder(url)
            recorder.start()
            time.sleep(1.5)  # silence first
            target = _target(clock, "xa", 6)
            pull, done = _pull(ups["/vov1.mp3"].url, target, clock)
            pull.add("xa", output.open_relay(target))
            pull.start()
            assert done.wait(20)
            time.sleep(2.5)  # silence again
            recorder.halt.set()
            recorder.join(timeout=10)
        finally:
            output.close()
    assert pull.shares["xa"].relayed >= 4.0
    levels = _levels(recorder.data)
    loud = [i for i, level in enumerate(levels) if level > 300]
    assert loud, "the relay never reached the mount"
    assert levels[0] < 50 and levels[-1] < 50  # silence before and after the window
    assert 3.0 <= len(loud) * 0.25 <= 7.5, len(loud)


def test_player_plays_the_relay_and_lets_an_emergency_have_the_device(tmp_path: Path):
    clock = SystemClock()
    out = tmp_path / "played-{n}.wav"
    made: list[Path] = []

    output = PlayerOutput("speaker", {}, tmp_path, clock)
    counter = iter(range(10))

    def relay_command() -> list[str]:
        path = Path(str(out).format(n=next(counter)))
        made.append(path)
        return [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "s16le"),
            *("-ar", "22050", "-ac", "1", "-i", "pipe:0", "-y", str(path)),
        ]

    with icecast() as server, upstreams(server.port, "/vov1.mp3") as ups:
        target = _target(clock, "xa", 9)
        output.relay_command = relay_command()
        sink = output.open_relay(target)
        sink.argv = relay_command()  # the player started after the emergency
        pull, done = _pull(ups["/vov1.mp3"].url, target, clock)
        pull.add("xa", sink)
        pull.start()
        time.sleep(3)
        assert pull.hold("xa", "12")
        time.sleep(2)
        assert pull.resume("xa")
        assert done.wait(20)
    first, second = (probe_seconds(p) for p in made)
    assert 2.0 <= first <= 3.6, first  # until the emergency
    assert 3.0 <= second <= 4.6, second  # after it, to the window's end
    cut = [g for g in pull.shares["xa"].gaps if g.kind == "emergency"]
    assert len(cut) == 1 and 1.5 <= cut[0].seconds <= 2.6 and cut[0].by == "12"
