"""Benchmark: one upstream relayed to many Icecast mounts at once (issue 16).

    .venv/bin/python bench/relay_bench.py [--mounts 20] [--seconds 60] [--lead 5] [--smoke]

A local Icecast (tests/netkit.py's, on 127.0.0.1) carries a test "VOV" made by ffmpeg
(tests/relaykit.py's ``Upstream``: a tone, MP3 at 64 kbit/s, fed at real-time pace). A
throwaway station has ``--mounts`` zones on one ``icecast`` output, each zone on its own
mount, and one relay window of one minute (the shortest a relay can be) on all of them.
The station's real-time driver runs in this process with its clock shifted so the window
opens ``--lead`` seconds after the driver starts; the relay desk pulls the upstream with
ONE ffmpeg and fans it out to the mounts' encoders (one ffmpeg per mount, the output's).

Figures, over the window:

* **start lateness** per zone: when the desk began the zone's share (its ``relay_run``
  row) and when the programme first flowed to it (the pull's first audio, shared by
  every zone), minus the window's start: p50, p99, max (ms);
* **CPU** of the station: this process and every process it started (the pull's ffmpeg,
  the mounts' encoders), user+system seconds during the window, and as a share of one
  core; the upstream's own ffmpeg and Icecast are not the station's and are left out;
* **memory**: this process's peak resident set (``ru_maxrss``), and the largest sum of
  its child processes' proportional sets (PSS, and resident sets) seen while sampling
  every half second;
* every zone's as-run entry (outcome, seconds relayed) as a check that it really relayed.

With ``--receivers`` (default 1,000, in ``--receiver-zones`` zones on one ``mqtt``
output, hosted by ``--processes`` ``broadcaster receiver`` processes against a real
Mosquitto), the same window is on their zones too: each receiver pulls it itself (one
pull per receiver process, shared by the receivers it hosts, ``keep_relays: false``: they
keep and sound nothing, so their zones' entries are ``failed``, truly), and its lateness
is its ``relay-started`` report's ``started_at`` (wall clock) minus the window's start,
as a separate MQTT subscriber saw the reports.

``--smoke`` (2 mounts, 4 receivers, the window cut short after 8 s) runs in the test
suite (tests/test_benches.py) so the bench cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the kits that start Icecast and the upstream

import paho.mqtt.client as mqtt  # noqa: E402
from netkit import ICECAST_SOURCE_PASSWORD, icecast  # noqa: E402
from relaykit import upstreams  # noqa: E402

from broadcaster.app import logbook, schedule  # noqa: E402
from broadcaster.app.context import StationContext  # noqa: E402
from broadcaster.engine.clock import SystemClock  # noqa: E402
from broadcaster.engine.realtime import RealtimeDriver  # noqa: E402
from broadcaster.playout.base import close_outputs  # noqa: E402

BIN = Path(sys.executable).parent / "broadcaster"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = datetime(2026, 11, 23, 5, 30, tzinfo=TZ)  # a Monday, 05:30-05:31


def start_broker(tmp: Path) -> tuple[subprocess.Popen, int]:
    """Mosquitto on a free loopback port (as bench/network_bench.py starts it)."""
    sys.path.insert(0, str(REPO / "bench"))
    from network_bench import start_broker as network_broker

    return network_broker(tmp)


def build(
    root: Path, port: int, mounts: int, broker: int, receivers: int, receiver_zones: int
) -> tuple[list[str], dict[str, list[str]]]:
    """The station: ``mounts`` zones on one icecast output, and ``receivers`` receivers
    in ``receiver_zones`` zones on one mqtt output; and the receivers' own file."""
    zones = [f"z{i:02d}" for i in range(mounts)]
    per_zone = receivers // receiver_zones if receiver_zones else 0
    net = {
        f"h{z:02d}": [f"h{z:02d}-r{i:03d}" for i in range(per_zone)] for z in range(receiver_zones)
    }
    keys = {r: secrets.token_hex(32) for ids in net.values() for r in ids}
    (root / "schedules").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "secrets").mkdir()
    (root / "secrets" / "icecast.pass").write_text(ICECAST_SOURCE_PASSWORD + "\n")
    mount_map = ", ".join(f"{z}: /{z}.mp3" for z in zones)
    hamlets = []
    if net:
        hamlets = [
            "  hamlets:",
            "    type: mqtt",
            f"    broker: {{host: 127.0.0.1, port: {broker}}}",
            "    keys_file: secrets/keys.yaml",
            "    start_timeout_seconds: 10",
            "    receivers:",
            *(f"      {z}: [{', '.join(ids)}]" for z, ids in net.items()),
        ]
        (root / "secrets" / "keys.yaml").write_text(
            "keys:\n" + "".join(f"  {r}: {k}\n" for r, k in keys.items())
        )
        entries = "".join(
            f"  - {{id: {r}, zone: {z}, key: {keys[r]}}}\n" for z, ids in net.items() for r in ids
        )
        (root / "receivers.yaml").write_text(
            f"station: bench\nbroker: {{host: 127.0.0.1, port: {broker}}}\n"
            "state_dir: field\nout_dir: field-played\npace: 0\nheartbeat_seconds: 60\n"
            f"keep_relays: false\nreceivers:\n{entries}",
            encoding="utf-8",
        )
    lines = [
        "station: {id: bench, name: Bench, timezone: Asia/Ho_Chi_Minh, tts: [espeak]}",
        "outputs:",
        f"  stream: {{type: icecast, host: 127.0.0.1, port: {port}, "
        f"password_file: secrets/icecast.pass, mounts: {{{mount_map}}}}}",
        *hamlets,
        "zones:",
        *(f"  - {{id: {z}, name: Cụm {z}, output: stream}}" for z in zones),
        *(f"  - {{id: {z}, name: Cụm {z}, output: hamlets}}" for z in net),
        "sources:",
        f'  - {{id: vov1, name: VOV1, url: "http://127.0.0.1:{port}/vov1.mp3"}}',
        "relays:",
        '  - {id: vov1-sang, source: vov1, zones: all, days: [mon], start: "05:30", '
        'end: "05:31", min_share: 0.5}',
    ]
    (root / "schedules" / "station.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return zones, net


class RelayWatch:
    """A separate MQTT subscriber: when each receiver says it began relaying."""

    def __init__(self, port: int) -> None:
        self.started: dict[str, int] = {}
        self.lock = threading.Lock()
        self.c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port)
        self.c.subscribe("loa/bench/+/+/relay-started", qos=1)
        self.c.loop_start()

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        with self.lock:
            self.started.setdefault(body["receiver"], body["started_at"])

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def start_receivers(root: Path, everyone: list[str], processes: int) -> list[subprocess.Popen]:
    """``broadcaster receiver`` processes, each hosting its share (one broker connection
    per receiver, as devices would; one pull per process, shared by its receivers)."""
    procs = []
    share = -(-len(everyone) // processes)
    for i in range(processes):
        ids = everyone[i * share : (i + 1) * share]
        if ids:
            procs.append(
                subprocess.Popen(
                    [str(BIN), "receiver", str(root / "receivers.yaml"), "--only", ",".join(ids)],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("ready"):
            raise SystemExit(f"receiver process failed: {line!r}")
    return procs


def station_children(pid: int) -> list[str]:
    """The station's own child processes: the ffmpeg of the pull and of each mount's
    encoder. Icecast and the upstream's ffmpeg (its ``lavfi`` tone) are this bench's
    children too, but not the station's."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                argv = Path(f"/proc/{kid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"ffmpeg") and b"lavfi" not in argv:
                found.append(kid)
    return found


def children_memory_kib(pid: int) -> tuple[int, int]:
    """(resident, proportional) sets of the station's child processes, summed (KiB). The
    resident sets count the pages the ffmpeg processes share (their libraries) once per
    process; the proportional sets (PSS) split each shared page among its sharers, so
    their sum is what the children really take."""
    rss = pss = 0
    for kid in station_children(pid):
        try:
            for line in Path(f"/proc/{kid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def children_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU so far of each of the station's running children (/proc), by pid."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for kid in station_children(pid):
        try:
            fields = Path(f"/proc/{kid}/stat").read_text().rsplit(")", 1)[1].split()
            found[kid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Window:
    """What one window on air gave."""

    began_ms: list[float]
    flowing_ms: float | None
    cpu: float
    wall: float
    own_kib: int
    children_kib: tuple[int, int]  # resident, proportional
    entries: list[dict]
    offset: timedelta  # the station's clock minus the wall clock (the receivers keep wall time)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mounts", type=int, default=20)
    parser.add_argument("--receivers", type=int, default=1000, help="mqtt receivers (0: none)")
    parser.add_argument("--receiver-zones", type=int, default=20)
    parser.add_argument("--processes", type=int, default=4, help="receiver processes")
    parser.add_argument("--lead", type=float, default=5.0, help="seconds until the window")
    parser.add_argument("--smoke", action="store_true", help="2 mounts, 8 s of the window")
    args = parser.parse_args(argv)
    if args.smoke:
        args.mounts, args.lead = 2, 3.0
        args.receivers, args.receiver_zones, args.processes = 4, 2, 1
    if not args.receivers:
        args.receiver_zones = 0
    with (
        tempfile.TemporaryDirectory() as tmp,
        icecast(sources=args.mounts + 4, clients=2 * args.mounts + 10) as server,
        upstreams(server.port, "/vov1.mp3"),
    ):
        root = Path(tmp)
        broker, broker_port = start_broker(root)
        receivers: list[subprocess.Popen] = []
        watch: RelayWatch | None = None
        try:
            zones, net = build(
                root, server.port, args.mounts, broker_port, args.receivers, args.receiver_zones
            )
            everyone = [r for ids in net.values() for r in ids]
            t = time.monotonic()
            receivers = start_receivers(root, everyone, args.processes) if everyone else []
            if everyone:
                print(f"{len(everyone)} receivers connected in {time.monotonic() - t:.1f} s")
            watch = RelayWatch(broker_port)
            window = on_air(root, args)
        finally:
            if watch is not None:
                watch.close()
            for proc in receivers:
                proc.terminate()
            for proc in receivers:
                proc.wait(timeout=30)
            broker.terminate()
            broker.wait(timeout=10)
    return report(args, zones, net, watch, window)


def on_air(root: Path, args: argparse.Namespace) -> Window:
    """The station's real-time driver in this process through the window."""
    offset = (WINDOW - timedelta(seconds=args.lead)).astimezone(UTC) - datetime.now(UTC)
    clock = SystemClock(offset)
    ctx = StationContext.open(root, clock=clock)
    outputs = ctx.outputs(ctx.clock)
    engine = schedule.engine_for(ctx, outputs)
    driver = RealtimeDriver(engine, clock, sweep_seconds=1.0)
    pid = os.getpid()
    peak = [0, 0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.5):
            rss, pss = children_memory_kib(pid)
            peak[:] = [max(peak[0], rss), max(peak[1], pss)]

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        driver.start()
        sampler.start()
        while clock.now() < WINDOW:
            time.sleep(0.05)
        own_at_start, kids_at_start = cpu_seconds(), children_cpu_seconds(pid)
        wall_at_start = time.monotonic()
        end = WINDOW + (timedelta(seconds=8) if args.smoke else timedelta(minutes=1))
        pulls = []
        while clock.now() < end:
            pulls = pulls or list(driver.relays.pulls.values())
            time.sleep(0.1)
        kids = children_cpu_seconds(pid)  # a child begun later counts from 0
        cpu = cpu_seconds() - own_at_start
        cpu += sum(t - kids_at_start.get(k, 0.0) for k, t in kids.items())
        wall = time.monotonic() - wall_at_start
        # The receivers report their end by their own clock after the window: the
        # station writes those zones' entries then (a stop before would cut them).
        deadline = time.monotonic() + (2 if args.smoke else 30)
        while time.monotonic() < deadline and len(_relay_entries(ctx)) < len(ctx.station.zones):
            time.sleep(0.2)
    finally:
        driver.stop("bench over")
        sampling.set()
        close_outputs(outputs)
    entries = _relay_entries(ctx)
    ctx.close()
    came_up = [p.came_up_at for p in pulls if p.came_up_at is not None]
    return Window(
        began_ms=[
            (datetime.fromisoformat(r["started_at"]) - WINDOW).total_seconds() * 1000
            for r in entries
            if r["zone"].startswith("z")
        ],
        flowing_ms=(came_up[0] - WINDOW).total_seconds() * 1000 if came_up else None,
        cpu=cpu,
        wall=wall,
        own_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        children_kib=(peak[0], peak[1]),
        entries=entries,
        offset=offset,
    )


def _relay_entries(ctx: StationContext) -> list[dict]:
    return [r for r in logbook.log_rows(ctx, None, None, None) if r["origin"] == "relay"]


def report(
    args: argparse.Namespace,
    zones: list[str],
    net: dict[str, list[str]],
    watch: RelayWatch | None,
    w: Window,
) -> int:
    receivers = sum(len(ids) for ids in net.values())
    print(f"one upstream relayed to {args.mounts} icecast mounts and {receivers} mqtt receivers")
    if w.began_ms:
        print(
            f"icecast zones begun: p50 {statistics.median(w.began_ms):.0f} ms, "
            f"p99 {pct(w.began_ms, 0.99):.0f} ms after the window's start"
        )
    if w.flowing_ms is not None and w.began_ms:
        on_air_ms = [max(b, w.flowing_ms) for b in w.began_ms]
        print(
            f"icecast programme flowing: {w.flowing_ms:.0f} ms; on air p99 "
            f"{pct(on_air_ms, 0.99):.0f} ms"
        )
    window_ms = (WINDOW - w.offset).timestamp() * 1000  # on the receivers' (wall) clock
    late = [t - window_ms for t in (watch.started.values() if watch else [])]
    if net:
        everyone = sum(len(ids) for ids in net.values())
        if late:
            print(
                f"mqtt receivers begun ({len(late)} of {everyone} said so): p50 "
                f"{statistics.median(late):.0f} ms, p99 {pct(late, 0.99):.0f} ms, "
                f"max {max(late):.0f} ms"
            )
        else:
            print(f"mqtt receivers begun: none of {everyone} said so")
    print(
        f"station CPU over {w.wall:.1f} s: {w.cpu:.1f} s ({100 * w.cpu / w.wall:.0f} % of one "
        "core; this process, the pull and the mounts' encoders)"
    )
    rss, pss = w.children_kib
    print(
        f"memory: this process peak {w.own_kib / 1024:.0f} MB; its children together at most "
        f"{pss / 1024:.0f} MB proportional ({rss / 1024:.0f} MB resident, shared pages "
        "counted in each)"
    )
    outcomes = Counter(r["outcome"] for r in w.entries)
    print(
        f"entries: {len(w.entries)} zone-windows, "
        + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    )
    if len(w.entries) != len(zones) + len(net):
        print(
            f"only {len(w.entries)} of {len(zones) + len(net)} zones have an entry",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
