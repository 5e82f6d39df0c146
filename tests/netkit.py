"""Test kit for the network outputs: real Mosquitto and Icecast servers on 127.0.0.1
(each on a free port, with a generated config and a temp dir, stopped by the test), a
station whose zones are networked clusters, and the reference receiver as a process."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from stationkit import BIN, STATION_HEAD

BROKER_USERS = {"station": "station-secret", "receivers": "receivers-secret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def need(binary: str, package: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if path is None:
        pytest.skip(
            f"{binary} is not installed (Debian package '{package}'; make setup installs it)"
        )
    return path


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Broker:
    port: int
    dir: Path
    proc: subprocess.Popen


@contextlib.contextmanager
def mosquitto(tmp: Path) -> Iterator[Broker]:
    """A private Mosquitto requiring a username and password, on a free loopback port."""
    binary = need("mosquitto", "mosquitto")
    passwd = need("mosquitto_passwd", "mosquitto")
    tmp.mkdir(parents=True, exist_ok=True)
    pwfile = tmp / "passwd"
    for i, (user, password) in enumerate(BROKER_USERS.items()):
        args = [passwd, "-b", *(["-c"] if i == 0 else []), str(pwfile), user, password]
        subprocess.run(args, check=True, capture_output=True)
    os.chmod(pwfile, 0o600)
    port = free_port()
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {pwfile}",
        "persistence false",
        f"log_dest file {tmp / 'mosquitto.log'}",
        "max_queued_messages 10000",
    ]
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to 'mosquitto', who cannot read tmp
    conf = tmp / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_port(port, proc, "mosquitto")
        yield Broker(port, tmp, proc)
    finally:
        stop(proc)


@dataclass
class Network:
    """Zones -> receivers, their keys, and the files both sides read."""

    zones: dict[str, list[str]]
    keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, zones: dict[str, int]) -> Network:
        net = cls({z: [f"{z}-r{i + 1}" for i in range(n)] for z, n in zones.items()})
        net.keys = {r: secrets.token_hex(32) for ids in net.zones.values() for r in ids}
        return net

    def zone_of(self, receiver: str) -> str:
        return next(z for z, ids in self.zones.items() if receiver in ids)


def network_station_yaml(
    net: Network, broker_port: int, *, start_timeout: float = 1.5, per_day: bool = True
) -> str:
    zones = "\n".join(
        f"  - {{id: {z}, name: Cụm loa {z}, kind: cluster, output: hamlets}}" for z in net.zones
    )
    receivers = "\n".join(f"      {z}: [{', '.join(ids)}]" for z, ids in net.zones.items())
    daily = (
        """  - id: nq57-ngay
    title: Tuyên truyền hằng ngày
    campaign: nq57
    min: 1
    per: day
    zones: all
"""
        if per_day
        else ""
    )
    return (
        STATION_HEAD
        + f"""\
  hamlets:
    type: mqtt
    broker: {{host: 127.0.0.1, port: {broker_port}, username: station, password_file: secrets/mqtt-station.pass}}
    keys_file: secrets/receiver-keys.yaml
    start_timeout_seconds: {start_timeout}
    done_margin_seconds: 3
    receivers:
{receivers}
zones:
{zones}
sessions:
  - {{id: sang, zones: all, days: [mon, tue, wed, thu, fri, sat, sun], start: "06:00", max_minutes: 10}}
  - {{id: chieu, zones: all, days: [mon, tue, wed, thu, fri, sat, sun], start: "17:00", max_minutes: 10}}
requirements:
  - id: nq57-tuan
    title: Tuyên truyền Nghị quyết 57 tối thiểu 02 lần/tuần
    campaign: nq57
    min: 2
    per: week
    zones: all
{daily}"""
    )


def make_network_station(
    root: Path, net: Network, broker: Broker, **kwargs: object
) -> tuple[Path, Path]:
    """Rewrite a rendered station for networked zones; write the station's secrets and
    the receivers' own file. Returns (station root, receivers file)."""
    (root / "schedules" / "station.yaml").write_text(
        network_station_yaml(net, broker.port, **kwargs), encoding="utf-8"
    )
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    (secrets_dir / "mqtt-station.pass").write_text(BROKER_USERS["station"] + "\n")
    (secrets_dir / "receiver-keys.yaml").write_text(
        "keys:\n" + "".join(f"  {r}: {k}\n" for r, k in net.keys.items())
    )
    field_dir = root.parent / "field"
    field_dir.mkdir(exist_ok=True)
    (field_dir / "mqtt.pass").write_text(BROKER_USERS["receivers"] + "\n")
    entries = "".join(
        f"  - {{id: {r}, zone: {net.zone_of(r)}, key: {net.keys[r]}}}\n" for r in net.keys
    )
    receivers_file = field_dir / "receivers.yaml"
    receivers_file.write_text(
        f"""station: test-xa
broker: {{host: 127.0.0.1, port: {broker.port}, username: receivers, password_file: mqtt.pass}}
state_dir: state
out_dir: played
pace: 0
heartbeat_seconds: 1
firmware: ref-fw-1.0
receivers:
{entries}""",
        encoding="utf-8",
    )
    return root, receivers_file


class Listener:
    """A test-side MQTT client holding the station's broker account: it sees every
    report and can publish whatever an attacker with broker access could."""

    def __init__(self, broker) -> None:
        import paho.mqtt.client as mqtt

        self.messages: queue.Queue = queue.Queue()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set("station", BROKER_USERS["station"])
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic.rsplit("/", 1)[-1], json.loads(m.payload))
        )
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe([("loa/test-xa/+/+/" + k, 1) for k in ("ack", "done", "error")])
        self.client.loop_start()

    def send(self, receiver: str, payload: bytes) -> None:
        self.client.publish(f"loa/test-xa/z1/{receiver}/cmd", payload, qos=1).wait_for_publish(5)

    def next(self, kind: str | None = None) -> dict:
        while True:
            got_kind, body = self.messages.get(timeout=15)
            if kind is None or got_kind == kind:
                return {"kind": got_kind, **body}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ReceiverProcess:
    """``broadcaster receiver`` running some receivers, stopped (or killed) by the test."""

    def __init__(self, config: Path, only: list[str] | None = None, pace: float | None = None):
        args = [str(BIN), "receiver", str(config)]
        if only:
            args += ["--only", ",".join(only)]
        if pace is not None:
            args += ["--pace", str(pace)]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        line = self.lines.get(timeout=30)
        if not line.startswith("ready"):
            raise RuntimeError(f"receiver did not start: {line}")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("exited: " + (self.proc.stderr.read() if self.proc.stderr else ""))

    def kill(self) -> None:
        """A dropout: the process dies, the broker publishes each receiver's last will."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        stop(self.proc)


def events(field_dir: Path, receiver: str) -> list[dict]:
    path = field_dir / "state" / receiver / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


ICECAST_XML = """<icecast>
  <location>test</location><admin>test@localhost</admin>
  <limits><clients>{clients}</clients><sources>{sources}</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout><burst-size>16384</burst-size></limits>
  <authentication><source-password>{password}</source-password>
    <admin-user>admin</admin-user><admin-password>{password}-admin</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths><basedir>{dir}</basedir><logdir>{dir}/log</logdir><webroot>{dir}</webroot>
    <adminroot>{dir}</adminroot><pidfile>{dir}/icecast.pid</pidfile></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>
    <loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""

ICECAST_SOURCE_PASSWORD = "source-secret"


@dataclass
class Icecast:
    port: int
    dir: Path


@contextlib.contextmanager
def icecast(sources: int = 8, clients: int = 20) -> Iterator[Icecast]:
    """A private Icecast on a free loopback port. Icecast refuses to run as root, so as
    root it drops to its own user: its directory is a fresh one under /tmp (pytest's are
    private to root), removed afterwards."""
    binary = need("icecast2", "icecast2")
    tmp = Path(tempfile.mkdtemp(prefix="broadcaster-icecast-", dir="/tmp"))  # not $TMPDIR
    os.chmod(tmp, 0o755)
    try:
        with _icecast(binary, tmp, sources, clients) as server:
            yield server
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _icecast(binary: str, tmp: Path, sources: int, clients: int) -> Iterator[Icecast]:
    (tmp / "log").mkdir(parents=True, exist_ok=True)
    owner = ""
    if os.geteuid() == 0:
        owner = "<changeowner><user>icecast2</user><group>icecast</group></changeowner>"
        shutil.chown(tmp, "icecast2", "icecast")
        shutil.chown(tmp / "log", "icecast2", "icecast")
    port = free_port()
    conf = tmp / "icecast.xml"
    conf.write_text(
        ICECAST_XML.format(
            password=ICECAST_SOURCE_PASSWORD,
            port=port,
            dir=tmp,
            owner=owner,
            sources=sources,
            clients=clients,
        ),
        encoding="utf-8",
    )
    os.chmod(conf, 0o644)
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_port(port, proc, "icecast2")
        yield Icecast(port, tmp)
    finally:
        stop(proc)
