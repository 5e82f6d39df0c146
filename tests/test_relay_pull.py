"""The relay pull alone (playout/relay_pull.py) against a real Icecast on 127.0.0.1: one
ffmpeg per source fanned out to several sinks, a dropout while the upstream is killed and
its return, the backup URL taking over, a source that never comes up, and the end of the
window as a hard stop (no ffmpeg left behind)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from netkit import icecast
from relaykit import listeners, upstreams

from broadcaster.engine.clock import SystemClock
from broadcaster.playout.base import RELAY_BYTES_PER_SECOND
from broadcaster.playout.relay_pull import RelayPull

pytestmark = pytest.mark.realtime


class ListSink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self.held = False

    def write(self, pcm: bytes) -> None:
        self.data += pcm

    def hold(self) -> None:
        self.held = True

    def resume(self) -> None:
        self.held = False

    def close(self) -> str:
        self.closed = True
        return ""

    @property
    def seconds(self) -> float:
        return len(self.data) / RELAY_BYTES_PER_SECOND


def _run(pull: RelayPull, timeout: float) -> None:
    done = threading.Event()
    pull.on_done = lambda _p: done.set()
    pull.start()
    assert done.wait(timeout), "the pull did not stop at the window's end"


def test_one_pull_feeds_two_zones_and_a_dropout_is_listed():
    clock = SystemClock()
    with icecast() as server, upstreams(server.port, "/vov1.mp3") as ups:
        vov = ups["/vov1.mp3"]
        end = clock.now() + timedelta(seconds=16)
        pull = RelayPull("vov1", [vov.url], clock, end)
        a, b = ListSink(), ListSink()
        pull.add("a", a)
        pull.add("b", b)
        done = threading.Event()
        pull.on_done = lambda _p: done.set()
        pull.start()
        time.sleep(3)
        assert listeners(server.port, "/vov1.mp3") == 1  # one connection for both zones
        vov.kill()
        time.sleep(4)
        vov.start()
        assert done.wait(20)
        assert clock.now() - end < timedelta(seconds=1)  # stopped at the window's end
    for share, sink in ((pull.shares["a"], a), (pull.shares["b"], b)):
        assert sink.closed
        assert 15.0 <= sink.seconds <= 16.2  # programme and silence: the whole window
        assert 4.0 <= share.relayed <= 13.0, share.relayed
        downs = [g for g in share.gaps if g.kind == "down"]
        assert len(downs) == 1 and 3.0 <= downs[0].seconds <= 11.0, share.gaps
    assert pull.connections >= 2


def test_backup_takes_over_and_a_dead_source_never_comes_up():
    clock = SystemClock()
    with icecast() as server, upstreams(server.port, "/backup.mp3") as ups:
        missing = f"http://127.0.0.1:{server.port}/missing.mp3"  # 404
        end = clock.now() + timedelta(seconds=8)
        pull = RelayPull("tinh", [missing, ups["/backup.mp3"].url], clock, end)
        sink = ListSink()
        pull.add("a", sink)
        dead = RelayPull("huyen", [missing], clock, end)
        nothing = ListSink()
        dead.add("b", nothing)
        done = threading.Event()
        dead.on_done = lambda _p: done.set()
        dead.start()
        _run(pull, 20)
        assert done.wait(20)
    assert pull.came_up and pull.shares["a"].relayed >= 5.0
    assert pull.served[ups["/backup.mp3"].url] > 4.0
    assert not dead.came_up and dead.shares["b"].relayed == 0
    assert "404" in dead.last_error or "Not Found" in dead.last_error, dead.last_error
    assert 7.0 <= nothing.seconds <= 8.2  # silence filled the window
