"""Benchmark: networked receivers over a real Mosquitto on 127.0.0.1.

1. Scheduled start lateness at the receivers: one bulletin booked on every zone for the
   same instant ``--lead`` seconds ahead; the real-time driver (APScheduler + lanes) and
   the mqtt output run in this process; lateness = the receiver's reported start (its
   ``ack.started_at``, wall clock) minus the scheduled instant. The driver cues the play
   as soon as it is booked (the output's ``lead_seconds`` is longer than ``--lead``), so
   receivers fetch and check the audio before the slot and start by their own clock.
2. Emergency fan-out from a template: an emergency bulletin approved before the daemon
   started (so its audio was prefetched onto the receiver hosts) booked on every zone
   (what ``broadcaster emergency`` writes) and dispatched at once; time until every
   ``ack`` has reached a separate MQTT subscriber. The daemon's sweep (``--sweep-seconds``,
   1 s by default) adds its wait on top when the command comes from another process.
3. Emergency fan-out with new audio (what ``emergency --text`` does): rendered and
   approved while the daemon runs, booked and dispatched at once, so each receiver host
   downloads it (once per host, shared by its receivers) while the plays arrive.
   Measurements 2 and 3 are made ``--rounds`` times each (3 by default; each round of 3
   a bulletin of its own) and their medians printed beside the anchor's.

The anchor, measured first in the same run against the same broker: bare paho, the
same number of subscribers split over the same number of processes (one client each),
each answering a QoS-1 message with a QoS-1 reply; one client publishes
one message to each and the time until every reply is back is the round trip (median of
3 rounds). Each process drives its clients from one select loop, as the receivers do.
No signing, no database, no station: what MQTT alone costs here.

``--at-slot`` turns the work ahead off (``lead_seconds: 0``, ``prefetch_emergencies:
false``): plays are sent at the slot and every audio is fetched on the play, as before.

Receivers are ``broadcaster receiver`` processes (--processes of them, each running its
share with one broker connection per receiver, as devices would), playing instantly.

    .venv/bin/python bench/network_bench.py --receivers 1000 --zones 20 --processes 4
    .venv/bin/python bench/network_bench.py --smoke   # 4 receivers: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt

from broadcaster.app import approvals, bulletins, emergencies, schedule
from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, Origin, Priority
from broadcaster.engine.clock import SystemClock
from broadcaster.engine.planning import new_row
from broadcaster.engine.realtime import RealtimeDriver
from broadcaster.playout.base import close_outputs

BIN = Path(sys.executable).parent / "broadcaster"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = tmp / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false"]
    lines += ["max_queued_messages 100000", f"log_dest file {tmp / 'mosquitto.log'}"]
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("mosquitto did not start")


def build(
    root: Path, port: int, zones: int, receivers: int, at_slot: bool, rounds: int
) -> dict[str, list[str]]:
    per_zone = receivers // zones
    net = {f"z{z:02d}": [f"z{z:02d}-r{i:03d}" for i in range(per_zone)] for z in range(zones)}
    keys = {r: secrets.token_hex(32) for ids in net.values() for r in ids}
    (root / "schedules").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "secrets").mkdir()
    lines = [
        "station: {id: bench, name: Bench, tts: [espeak]}",
        "outputs:",
        "  hamlets:",
        "    type: mqtt",
        f"    broker: {{host: 127.0.0.1, port: {port}}}",
        "    keys_file: secrets/keys.yaml",
        "    start_timeout_seconds: 10",
        *(["    lead_seconds: 0", "    prefetch_emergencies: false"] if at_slot else []),
        "    receivers:",
        *(f"      {z}: [{', '.join(ids)}]" for z, ids in net.items()),
        "zones:",
        *(f"  - {{id: {z}, name: Cụm {z}, output: hamlets}}" for z in net),
    ]
    (root / "schedules" / "station.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "secrets" / "keys.yaml").write_text(
        "keys:\n" + "".join(f"  {r}: {k}\n" for r, k in keys.items())
    )
    (root / "scripts" / "tin.md").write_text(
        "---\nid: tin\ntitle: Bản tin\ncampaign: nq57\n---\nBản tin ngắn.\n", encoding="utf-8"
    )
    (root / "scripts" / "khan.md").write_text(
        "---\nid: khan\ntitle: Khẩn cấp\ncampaign: canh-bao\npriority: emergency\n---\n"
        "Bão sắp đổ bộ.\n",
        encoding="utf-8",
    )
    # Written before the station starts, approved only while it runs (measurement 3):
    # one for each round, each its own audio (new to the receiver hosts).
    for i in range(1, rounds + 1):
        (root / "scripts" / f"khan-moi-{i}.md").write_text(
            f"---\nid: khan-moi-{i}\ntitle: Khẩn cấp mới {i}\ncampaign: canh-bao\n"
            "priority: emergency\n---\nNước sông lên nhanh, bà con khu vực trũng di chuyển "
            f"ngay. Thông báo lần {i}.\n",
            encoding="utf-8",
        )
    entries = "".join(
        f"  - {{id: {r}, zone: {z}, key: {keys[r]}}}\n" for z, ids in net.items() for r in ids
    )
    (root / "receivers.yaml").write_text(
        f"station: bench\nbroker: {{host: 127.0.0.1, port: {port}}}\nstate_dir: field\n"
        f"out_dir: field-played\npace: 0\nheartbeat_seconds: 60\nreceivers:\n{entries}",
        encoding="utf-8",
    )
    return net


class AckWatch:
    """A separate subscriber: when did each receiver's ack reach the broker's clients?"""

    def __init__(self, port: int) -> None:
        self.acks: dict[tuple[str, int], float] = {}
        self.started: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()
        self.c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port)
        self.c.subscribe("loa/bench/+/+/ack", qos=1)
        self.c.loop_start()

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        key = (body["receiver"], body["airing_id"])
        with self.lock:
            self.acks[key] = time.monotonic()
            self.started[key] = body["started_at"]

    def count(self, airing_ids: set[int]) -> int:
        with self.lock:
            return sum(1 for _r, a in self.acks if a in airing_ids)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def wait_acks(watch: AckWatch, ids: set[int], n: int, timeout: float) -> None:
    limit = time.monotonic() + timeout
    while watch.count(ids) < n and time.monotonic() < limit:
        time.sleep(0.005)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def emergency(ctx, driver, watch, bulletin: str, zones: list[str], n: int, label: str) -> float:
    """One emergency on every zone; ms from booking until the last receiver's ack."""
    t0 = time.monotonic()
    booked = emergencies.emergency_airings(
        ctx, ctx.bulletin(bulletin), zones, "bench", ctx.clock.now()
    )
    driver.dispatch_due()
    ids = {r.id for r in booked}
    wait_acks(watch, ids, n, 30)
    with watch.lock:
        times = [v - t0 for (_r, a), v in watch.acks.items() if a in ids]
        acked = {r for (r, a) in watch.acks if a in ids}
    if len(times) < n:  # say what the silent receivers' own logs say
        field = ctx.root / "field"
        folders = [p for p in field.iterdir() if (p / "events.jsonl").is_file()]
        for folder in sorted(p for p in folders if p.name not in acked)[:5]:
            log = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
            print(f"no ack from {folder.name}; its last events:", *log[-4:], sep="\n  ")
    print(
        f"emergency ({label}) to {len(times)} receivers: all acknowledged in "
        f"{max(times) * 1000:.0f} ms (median ack {statistics.median(times) * 1000:.0f}"
        f" ms, first {min(times) * 1000:.0f} ms)"
    )
    return max(times) * 1000 if len(times) == n else float("inf")


def emergencies_of(ctx, driver, watch, zones: list[str], n: int, rounds: int) -> None:
    """``rounds`` emergencies from the template, then as many with new audio (each
    approved just before), 3 s apart; the median of each kind."""
    for label in ("template", "new audio"):
        figures = []
        for i in range(1, rounds + 1):
            bulletin = "khan"
            if label == "new audio":  # what emergency --text renders anew
                bulletin = f"khan-moi-{i}"
                approvals.approve_as(ctx, bulletin, "bench")
            figures.append(emergency(ctx, driver, watch, bulletin, zones, n, label))
            time.sleep(3)
        shown = " ".join(f"{f:.0f}" for f in figures)
        print(f"emergency ({label}): median {statistics.median(figures):.0f} ms (rounds: {shown})")


def anchor_child(port: int, ids: list[str]) -> None:
    """Bare paho subscribers replying to every message, all driven by one select loop in
    this process (as ``broadcaster receiver`` drives its share: one network loop per
    host, not a thread per connection, which here was slower than the station)."""
    import selectors

    sel = selectors.DefaultSelector()
    clients: dict[int, mqtt.Client] = {}
    subscribed: set[str] = set()
    for r in ids:
        c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        c.on_subscribe = lambda *_a, r=r: subscribed.add(r)
        c.on_message = lambda c, _u, m, r=r: c.publish(f"anchor/{r}/ack", m.payload, qos=1)
        c.on_connect = lambda c, *_a, r=r: c.subscribe(f"anchor/{r}/cmd", qos=1)
        c.connect("127.0.0.1", port)
        sock = c.socket()
        clients[sock.fileno()] = c
        sel.register(sock, selectors.EVENT_READ, c)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    said_ready = False
    last_misc = time.monotonic()
    while True:
        for c in clients.values():  # replies queued by the reads, subscriptions
            if c.want_write():
                c.loop_write()
        for key, _ev in sel.select(timeout=0.05):
            if key.data is None:  # the bench closed our stdin
                for c in clients.values():
                    c.disconnect()
                return
            key.data.loop_read()
            if key.data.want_write():
                key.data.loop_write()
        if time.monotonic() - last_misc > 1.0:
            last_misc = time.monotonic()
            for c in clients.values():
                c.loop_misc()
        if not said_ready and len(subscribed) == len(ids):
            print("ready", flush=True)
            said_ready = True


def anchor(port: int, everyone: list[str], processes: int, rounds: int = 3) -> float:
    """The bare paho QoS-1 round trip to every subscriber, ms (median of ``rounds``)."""
    share = -(-len(everyone) // processes)
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--anchor-child", str(port), ",".join(ids)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
        if (ids := everyone[i * share : (i + 1) * share])
    ]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise SystemExit("anchor subscribers failed to start")
        got: list[float] = []
        lock = threading.Lock()
        pub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)

        def on_message(_c, _u, _m) -> None:
            with lock:
                got.append(time.monotonic())

        pub.on_message = on_message
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        pub.subscribe("anchor/+/ack", qos=1)
        time.sleep(0.5)
        trips = []
        for _round in range(rounds):
            with lock:
                got.clear()
            t0 = time.monotonic()
            for r in everyone:
                pub.publish(f"anchor/{r}/cmd", b"x" * 200, qos=1)
            limit = t0 + 30
            while len(got) < len(everyone) and time.monotonic() < limit:
                time.sleep(0.002)
            with lock:
                trips.append((max(got) - t0) * 1000 if len(got) == len(everyone) else float("inf"))
            time.sleep(0.5)
        pub.disconnect()
        pub.loop_stop()
    finally:
        for child in children:
            assert child.stdin is not None
            child.stdin.close()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
    result = statistics.median(trips)
    print(
        f"anchor: bare paho QoS-1 round trip to {len(everyone)} subscribers "
        f"({len(children)} processes): {result:.0f} ms "
        f"(rounds: {' '.join(f'{t:.0f}' for t in trips)})"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receivers", type=int, default=1000)
    parser.add_argument("--zones", type=int, default=20)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--lead", type=float, default=8.0, help="seconds until the slot")
    parser.add_argument(
        "--at-slot",
        action="store_true",
        help="no work ahead: plays sent at the slot, no emergency prefetch (as before)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="emergencies of each kind")
    parser.add_argument("--smoke", action="store_true", help="4 receivers, 2 zones, 1 process")
    parser.add_argument("--anchor-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.anchor_child:
        anchor_child(int(args.anchor_child[0]), args.anchor_child[1].split(","))
        return
    if args.smoke:
        args.receivers, args.zones, args.processes, args.lead, args.rounds = 4, 2, 1, 4.0, 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker, port = start_broker(root)
        procs: list[subprocess.Popen] = []
        try:
            net = build(root, port, args.zones, args.receivers, args.at_slot, args.rounds)
            ctx = StationContext.open(root, clock=SystemClock())
            bulletins.render(ctx)
            approvals.approve_as(ctx, "tin", "bench")
            approvals.approve_as(ctx, "khan", "bench")
            everyone = [r for ids in net.values() for r in ids]
            anchor(port, everyone, args.processes)
            share = -(-len(everyone) // args.processes)
            t = time.monotonic()
            for i in range(args.processes):
                ids = everyone[i * share : (i + 1) * share]
                procs.append(
                    subprocess.Popen(
                        [
                            str(BIN),
                            "receiver",
                            str(root / "receivers.yaml"),
                            "--only",
                            ",".join(ids),
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            for p in procs:
                assert p.stdout is not None
                line = p.stdout.readline().strip()
                if not line.startswith("ready"):
                    raise SystemExit(f"receiver process failed: {line!r}")
            print(f"{len(everyone)} receivers connected in {time.monotonic() - t:.1f} s")
            watch = AckWatch(port)
            outputs = ctx.outputs(ctx.clock)
            engine = schedule.engine_for(ctx, outputs)
            driver = RealtimeDriver(engine, ctx.clock, sweep_seconds=1.0)
            try:
                # 1. a scheduled slot on every zone
                bulletin = ctx.bulletin("tin")
                at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=args.lead)
                with ctx.db.write() as s:
                    rows = []
                    for z in net:
                        airing = Airing(
                            None,
                            z,
                            "tin",
                            at,
                            at + timedelta(minutes=10),
                            None,
                            Priority.NORMAL,
                            Origin.QUEUE,
                            created_by="bench",
                        )
                        rows.append(new_row(airing, bulletin, ctx.station, at))
                        s.add(rows[-1])
                    s.flush()
                    scheduled_ids = {r.id for r in rows}
                driver.start()
                wait_acks(watch, scheduled_ids, len(everyone), args.lead + 30)
                at_ms = int(at.timestamp() * 1000)
                with watch.lock:
                    late = [
                        started - at_ms
                        for (_r, a), started in watch.started.items()
                        if a in scheduled_ids
                    ]
                print(
                    f"scheduled start lateness at the receivers ({len(late)} acks): "
                    f"median {statistics.median(late):.0f} ms, p99 {pct(late, 0.99):.0f} ms, "
                    f"max {max(late):.0f} ms"
                )
                time.sleep(3)  # let the slot finish (done reports)

                # 2. emergencies from a template on every zone, dispatched at once;
                # 3. emergencies with new audio, approved just before each
                emergencies_of(ctx, driver, watch, list(net), len(everyone), args.rounds)
            finally:
                driver.stop("bench over")
                close_outputs(outputs)
                watch.close()
                ctx.close()
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    main()
