"""Soak: the daemon airs while hostile MQTT traffic hits the broker (issue 12).

A private Mosquitto on 127.0.0.1 (password logins, the receivers sharing one, as in the
tests), a station whose zones are networked clusters, the real-time driver and the mqtt
output in this process, reference receivers as ``broadcaster receiver`` processes
playing at real pace. Every ``--every`` seconds an airing is booked on every zone. All
along, an attacker holding the receivers' shared login sends, at a bounded ``--rate``
(messages per second, in total), a rotation of:

- deeply nested JSON and junk bytes on report and command topics,
- oversized payloads (``--oversize`` bytes),
- forged reports (unsigned, or signed with a wrong key) for the airings it sees on the
  command topics, claiming every receiver played them,
- genuine reports and commands it captured, replayed,
- forged commands (bad signature) and forged retained status/heartbeat messages.

It stops by itself after ``--seconds``. Then it checks, and exits 1 if any check fails:

1. every airing booked has a final outcome;
2. every outcome is true: an airing logged ``aired`` was started and completed by every
   receiver of its zone (their own ``events.jsonl``), and one that was not logged aired
   really was missed by at least one of them;
3. no thread was lost: the station's network loop never died (and is alive), every
   receiver process is alive and its network loop never restarted.

Short in the suite (tests/test_soak.py); by hand, the 10-minute run of the issue:

    .venv/bin/python bench/hostile_soak.py --seconds 600 --rate 200
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlmodel import select

from broadcaster.app import approvals, bulletins, schedule
from broadcaster.app.context import StationContext
from broadcaster.core.model import Airing, AiringStatus, Origin, Priority
from broadcaster.engine.clock import SystemClock
from broadcaster.engine.planning import new_row
from broadcaster.engine.realtime import RealtimeDriver
from broadcaster.playout.base import close_outputs
from broadcaster.playout.mqtt import protocol
from broadcaster.store.tables import AiringRow, LogEntry

BIN = Path(sys.executable).parent / "broadcaster"
USERS = {"station": "station-secret", "receivers": "receivers-secret"}
STATION = "soak"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(tmp: Path) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    pwfile = tmp / "passwd"
    for i, (user, password) in enumerate(USERS.items()):
        args = [passwd, "-b", *(["-c"] if i == 0 else []), str(pwfile), user, password]
        subprocess.run(args, check=True, capture_output=True)
    os.chmod(pwfile, 0o600)
    port = free_port()
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {pwfile}",
        "persistence false",
        "max_queued_messages 100000",
        f"log_dest file {tmp / 'mosquitto.log'}",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    (tmp / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([binary, "-c", str(tmp / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("mosquitto did not start")


def build(root: Path, port: int, zones: int, per_zone: int) -> dict[str, list[str]]:
    net = {f"z{z}": [f"z{z}-r{i}" for i in range(per_zone)] for z in range(zones)}
    keys = {r: secrets.token_hex(32) for ids in net.values() for r in ids}
    for d in ("schedules", "scripts", "secrets", "field"):
        (root / d).mkdir()
    lines = [
        f"station: {{id: {STATION}, name: Soak, tts: [espeak]}}",
        "outputs:",
        "  hamlets:",
        "    type: mqtt",
        f"    broker: {{host: 127.0.0.1, port: {port}, username: station, "
        "password_file: secrets/mqtt.pass}",
        "    keys_file: secrets/keys.yaml",
        "    start_timeout_seconds: 10",
        "    done_margin_seconds: 5",
        "    receivers:",
        *(f"      {z}: [{', '.join(ids)}]" for z, ids in net.items()),
        "zones:",
        *(f"  - {{id: {z}, name: Cụm {z}, output: hamlets}}" for z in net),
    ]
    (root / "schedules" / "station.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "secrets" / "mqtt.pass").write_text(USERS["station"] + "\n")
    (root / "secrets" / "keys.yaml").write_text(
        "keys:\n" + "".join(f"  {r}: {k}\n" for r, k in keys.items())
    )
    (root / "scripts" / "tin.md").write_text(
        "---\nid: tin\ntitle: Bản tin\ncampaign: nq57\n---\nBản tin ngắn.\n", encoding="utf-8"
    )
    (root / "field" / "mqtt.pass").write_text(USERS["receivers"] + "\n")
    entries = "".join(
        f"  - {{id: {r}, zone: {z}, key: {keys[r]}}}\n" for z, ids in net.items() for r in ids
    )
    (root / "field" / "receivers.yaml").write_text(
        f"station: {STATION}\nbroker: {{host: 127.0.0.1, port: {port}, username: receivers, "
        f"password_file: mqtt.pass}}\nstate_dir: state\nout_dir: played\npace: 1\n"
        f"heartbeat_seconds: 5\nreceivers:\n{entries}",
        encoding="utf-8",
    )
    return net


class Attacker:
    """The receivers' shared login, used against the station at a bounded rate."""

    def __init__(self, port: int, net: dict[str, list[str]], rate: float, oversize: int) -> None:
        self.net = net
        self.receivers = [(z, r) for z, ids in net.items() for r in ids]
        self.rate = rate
        self.oversize = oversize
        self.sent: collections.Counter[str] = collections.Counter()
        self.captured_reports: collections.deque[tuple[str, bytes]] = collections.deque(maxlen=200)
        self.captured_commands: collections.deque[tuple[str, bytes]] = collections.deque(maxlen=200)
        self.airings: collections.deque[int] = collections.deque(maxlen=50)
        self.stop = threading.Event()
        self.rng = random.Random(12)
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set("receivers", USERS["receivers"])
        self.client.max_queued_messages_set(1000)
        self.client.on_message = self._seen
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"loa/{STATION}/#", qos=0)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, name="attacker", daemon=True)

    def _seen(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        kind = msg.topic.rsplit("/", 1)[-1]
        if kind == "cmd":
            self.captured_commands.append((msg.topic, msg.payload))
            try:
                airing = json.loads(msg.payload).get("airing_id")
            except (ValueError, RecursionError, AttributeError):
                return
            if isinstance(airing, int) and airing not in self.airings:
                self.airings.append(airing)
        elif kind in ("ack", "done") and msg.payload.startswith(b"{"):
            self.captured_reports.append((msg.topic, msg.payload))

    def _topic(self, kind: str) -> str:
        zone, receiver = self.rng.choice(self.receivers)
        return protocol.topic(STATION, zone, receiver, kind)

    def _forged_report(self, signed: bool) -> tuple[str, bytes]:
        zone, receiver = self.rng.choice(self.receivers)
        kind = self.rng.choice(["ack", "done"])
        airing = self.airings[-1] if self.airings else 1
        now = time.time_ns() // 1_000_000
        fields = {"airing_id": airing, "started_at": now}
        if kind == "done":
            fields.update(played_ms=1000, completed=True, reason="")
        else:
            fields["counter"] = 1
        key = secrets.token_bytes(32) if signed else None
        payload = protocol.report(kind, receiver, now, key, time.time_ns() // 1000, **fields)
        return protocol.topic(STATION, zone, receiver, kind), payload

    def _next(self) -> tuple[str, str, bytes, bool]:
        """(kind of attack, topic, payload, retain)."""
        choice = self.rng.randrange(10)
        if choice == 0:
            return (
                "nested",
                self._topic(self.rng.choice(["ack", "done", "cmd"])),
                b"[" * 6000,
                False,
            )
        if choice == 1:
            junk = self.rng.randbytes(self.rng.randrange(1, 600))
            return "junk", self._topic(self.rng.choice(["ack", "error", "cmd"])), junk, False
        if choice == 2:
            return "oversized", self._topic("done"), b"{" + b" " * self.oversize + b"}", False
        if choice in (3, 4):
            topic, payload = self._forged_report(signed=choice == 4)
            return ("forged-signed" if choice == 4 else "forged-unsigned"), topic, payload, False
        if choice == 5 and self.captured_reports:
            topic, payload = self.rng.choice(self.captured_reports)
            return "replayed-report", topic, payload, False
        if choice == 6 and self.captured_commands:
            topic, payload = self.rng.choice(self.captured_commands)
            return "replayed-command", topic, payload, False
        if choice == 7:
            zone, receiver = self.rng.choice(self.receivers)
            now = time.time_ns() // 1_000_000
            command = protocol.Command(
                type="volume",
                station=STATION,
                zone=zone,
                receiver=receiver,
                counter=time.time_ns() // 1000,
                issued_at=now,
                expires_at=now + 30_000,
                volume=0,
            )
            payload = command.signed_payload(secrets.token_bytes(32))
            return "forged-command", protocol.topic(STATION, zone, receiver, "cmd"), payload, False
        if choice == 8:
            zone, receiver = self.rng.choice(self.receivers)
            payload = protocol.report(
                "heartbeat", receiver, time.time_ns() // 1_000_000, playing=None, volume=1
            )
            return (
                "forged-retained",
                protocol.topic(STATION, zone, receiver, "heartbeat"),
                payload,
                True,
            )
        topic, payload = self._forged_report(signed=False)
        return "forged-unsigned", topic, payload, False

    def _run(self) -> None:
        interval = 1.0 / self.rate
        nxt = time.monotonic()
        while not self.stop.is_set():
            kind, topic, payload, retain = self._next()
            self.client.publish(topic, payload, qos=self.rng.choice([0, 1]), retain=retain)
            self.sent[kind] += 1
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                nxt = time.monotonic()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for zone, receiver in self.receivers:  # clear the forged retained heartbeats
            self.client.publish(protocol.topic(STATION, zone, receiver, "heartbeat"), b"", 1, True)
        time.sleep(0.5)
        self.client.disconnect()
        self.client.loop_stop()


def book(ctx: StationContext, zones: list[str], at: datetime) -> list[int]:
    bulletin = ctx.bulletin("tin")
    with ctx.db.write() as s:
        rows = []
        for z in zones:
            airing = Airing(
                None,
                z,
                "tin",
                at,
                at + timedelta(minutes=10),
                None,
                Priority.NORMAL,
                Origin.QUEUE,
                created_by="soak",
            )
            rows.append(new_row(airing, bulletin, ctx.station, at))
            s.add(rows[-1])
        s.flush()
        return [r.id for r in rows if r.id is not None]


def events(root: Path, receiver: str) -> list[dict]:
    path = root / "field" / "state" / receiver / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check(root: Path, ctx: StationContext, net: dict[str, list[str]], booked: list[int]) -> dict:
    """The truth of every outcome, from the receivers' own logs."""
    problems: list[str] = []
    completed: dict[str, set[int]] = {}
    codes: collections.Counter[str] = collections.Counter()
    restarts = 0
    for ids in net.values():
        for r in ids:
            log = events(root, r)
            completed[r] = {
                e["airing_id"] for e in log if e["event"] == "done" and e.get("completed")
            }
            codes.update(e.get("code", "?") for e in log if e["event"] == "rejected")
            codes["duplicate (ignored)"] += sum(1 for e in log if e["event"] == "duplicate")
            restarts += sum(1 for e in log if e["event"] == "loop-restarted")
    outcomes: collections.Counter[str] = collections.Counter()
    with ctx.db.read() as s:
        for airing_id in booked:
            row = s.get(AiringRow, airing_id)
            if row is None or not AiringStatus(row.status).is_final:
                problems.append(f"airing {airing_id}: no final outcome ({row and row.status})")
                continue
            outcomes[row.status] += 1
            played_everywhere = all(airing_id in completed[r] for r in net[row.zone_id])
            if row.status == "aired" and not played_everywhere:
                problems.append(f"airing {airing_id} logged aired but a receiver did not play it")
            if row.status != "aired" and played_everywhere:
                problems.append(
                    f"airing {airing_id} logged {row.status} but every receiver played it"
                )
        reasons = collections.Counter(
            reason.split(";")[0][:60]
            for reason in s.exec(select(LogEntry.reason).where(LogEntry.outcome != "aired"))
        )
    return {
        "problems": problems,
        "outcomes": dict(outcomes),
        "failure_reasons": dict(reasons),
        "receiver_refusals": dict(codes),
        "receiver_loop_restarts": restarts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="how long the attack runs")
    parser.add_argument("--rate", type=float, default=200, help="hostile messages per second")
    parser.add_argument("--every", type=float, default=6, help="seconds between slots")
    parser.add_argument("--zones", type=int, default=3)
    parser.add_argument("--per-zone", type=int, default=2, help="receivers per zone")
    parser.add_argument("--oversize", type=int, default=256 * 1024)
    parser.add_argument("--json", action="store_true", help="figures as JSON")
    parser.add_argument(
        "--smoke", action="store_true", help="12 s at 60 messages/s (tests/test_soak.py)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rate, args.every = 12, 60, 4
    if not 0 < args.rate <= 2000:
        raise SystemExit("--rate: 0 < rate <= 2000 messages per second")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="broadcaster-soak-") as tmp:
        root = Path(tmp)
        broker, port = start_broker(root)
        receivers = None
        try:
            net = build(root, port, args.zones, args.per_zone)
            ctx = StationContext.open(root, clock=SystemClock())
            bulletins.render(ctx)
            approvals.approve_as(ctx, "tin", "soak")
            receivers = subprocess.Popen(
                [str(BIN), "receiver", str(root / "field" / "receivers.yaml")],
                stdout=subprocess.PIPE,
                stderr=(root / "receivers.stderr").open("w"),
                text=True,
            )
            assert receivers.stdout is not None
            if not receivers.stdout.readline().startswith("ready"):
                raise SystemExit("receivers did not start")
            outputs = ctx.outputs(ctx.clock)
            output = outputs["hamlets"]
            engine = schedule.engine_for(ctx, outputs)
            driver = RealtimeDriver(engine, ctx.clock, sweep_seconds=0.5)
            attacker = Attacker(port, net, args.rate, args.oversize)
            booked: list[int] = []
            try:
                driver.start()
                attacker.thread.start()
                end = time.monotonic() + args.seconds
                while time.monotonic() < end:
                    at = datetime.now(UTC) + timedelta(seconds=2)
                    booked += book(ctx, list(net), at)
                    time.sleep(min(args.every, max(0.0, end - time.monotonic())))
                attacker.close()
                # Let the last slots finish: start timeout + audio + done margin.
                limit = time.monotonic() + 40
                while time.monotonic() < limit:
                    with ctx.db.read() as s:
                        pending = [
                            i
                            for i in booked
                            if not AiringStatus(s.get(AiringRow, i).status).is_final
                        ]
                    if not pending:
                        break
                    time.sleep(0.5)
                loop_alive = output._loop.is_alive()
                health = output.health.snapshot()
            finally:
                driver.stop("soak over")
                close_outputs(outputs)
            receivers_alive = receivers.poll() is None
            figures = check(root, ctx, net, booked)
            ctx.close()
        finally:
            if receivers is not None:
                receivers.terminate()
                try:
                    receivers.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    receivers.kill()
            broker.terminate()
            broker.wait(timeout=10)
    problems = figures["problems"]
    if not loop_alive or health["loop_restarts"]:
        problems.append(
            f"station network loop: alive={loop_alive}, restarts={health['loop_restarts']}"
        )
    if not receivers_alive or figures["receiver_loop_restarts"]:
        problems.append(
            f"receivers: alive={receivers_alive}, loop restarts={figures['receiver_loop_restarts']}"
        )
    result = {
        "seconds": round(time.monotonic() - started, 1),
        "attack_seconds": args.seconds,
        "rate": args.rate,
        "receivers": sum(len(v) for v in net.values()),
        "airings_booked": len(booked),
        **{k: v for k, v in figures.items() if k != "problems"},
        "hostile_sent": dict(attacker.sent),
        "hostile_total": sum(attacker.sent.values()),
        "station_ignored_reports": health["ignored_reports"],
        "station_handler_faults": health["handler_faults"],
        "station_loop_restarts": health["loop_restarts"],
        "threads_lost": not (loop_alive and receivers_alive),
        "problems": problems,
        "ok": not problems,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
