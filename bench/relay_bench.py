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

``--smoke`` (2 mounts, the window cut short by stopping the driver after 8 s) runs in
the test suite (tests/test_benches.py) so the bench cannot rot. 1,000 MQTT receivers are
not part of this bench yet (the reference receiver pulls each relay itself: 1,000
ffmpeg processes do not fit on this machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the kits that start Icecast and the upstream

from netkit import ICECAST_SOURCE_PASSWORD, icecast  # noqa: E402
from relaykit import upstreams  # noqa: E402

from broadcaster.app import logbook, schedule  # noqa: E402
from broadcaster.app.context import StationContext  # noqa: E402
from broadcaster.engine.clock import SystemClock  # noqa: E402
from broadcaster.engine.realtime import RealtimeDriver  # noqa: E402
from broadcaster.playout.base import close_outputs  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = datetime(2026, 11, 23, 5, 30, tzinfo=TZ)  # a Monday, 05:30-05:31


def build(root: Path, port: int, mounts: int) -> list[str]:
    zones = [f"z{i:02d}" for i in range(mounts)]
    (root / "schedules").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "secrets").mkdir()
    (root / "secrets" / "icecast.pass").write_text(ICECAST_SOURCE_PASSWORD + "\n")
    mount_map = ", ".join(f"{z}: /{z}.mp3" for z in zones)
    lines = [
        "station: {id: bench, name: Bench, timezone: Asia/Ho_Chi_Minh, tts: [espeak]}",
        "outputs:",
        f"  stream: {{type: icecast, host: 127.0.0.1, port: {port}, "
        f"password_file: secrets/icecast.pass, mounts: {{{mount_map}}}}}",
        "zones:",
        *(f"  - {{id: {z}, name: Cụm {z}, output: stream}}" for z in zones),
        "sources:",
        f'  - {{id: vov1, name: VOV1, url: "http://127.0.0.1:{port}/vov1.mp3"}}',
        "relays:",
        '  - {id: vov1-sang, source: vov1, zones: all, days: [mon], start: "05:30", '
        'end: "05:31", min_share: 0.5}',
    ]
    (root / "schedules" / "station.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return zones


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mounts", type=int, default=20)
    parser.add_argument("--lead", type=float, default=5.0, help="seconds until the window")
    parser.add_argument("--smoke", action="store_true", help="2 mounts, 8 s of the window")
    args = parser.parse_args(argv)
    if args.smoke:
        args.mounts, args.lead = 2, 3.0
    with (
        tempfile.TemporaryDirectory() as tmp,
        icecast(sources=args.mounts + 4, clients=2 * args.mounts + 10) as server,
    ):
        root = Path(tmp)
        zones = build(root, server.port, args.mounts)
        with upstreams(server.port, "/vov1.mp3"):
            offset = (WINDOW - timedelta(seconds=args.lead)).astimezone(UTC) - datetime.now(UTC)
            clock = SystemClock(offset)
            ctx = StationContext.open(root, clock=clock)
            outputs = ctx.outputs(ctx.clock)
            engine = schedule.engine_for(ctx, outputs)
            driver = RealtimeDriver(engine, clock, sweep_seconds=1.0)
            pid = os.getpid()
            peak_children = [0, 0]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.wait(0.5):
                    rss, pss = children_memory_kib(pid)
                    peak_children[:] = [max(peak_children[0], rss), max(peak_children[1], pss)]

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
            finally:
                driver.stop("bench over")
                sampling.set()
                close_outputs(outputs)
            records = [r for r in logbook.log_rows(ctx, None, None, None) if r["origin"] == "relay"]
            ctx.close()
    began = [
        (datetime.fromisoformat(r["started_at"]) - WINDOW).total_seconds() * 1000 for r in records
    ]
    came_up = [p.came_up_at for p in pulls if p.came_up_at is not None]
    flowing_ms = (came_up[0].astimezone(UTC) - WINDOW).total_seconds() * 1000 if came_up else None
    on_air = [max(b, flowing_ms) for b in began] if flowing_ms is not None else []
    print(f"one upstream relayed to {args.mounts} icecast mounts ({len(records)} zones logged)")
    if began:
        print(
            f"began: p50 {statistics.median(began):.0f} ms, p99 {pct(began, 0.99):.0f} ms, "
            f"max {max(began):.0f} ms after the window's start"
        )
    if on_air:
        print(
            f"programme flowing: {flowing_ms:.0f} ms; on air (the later of the two) p99 "
            f"{pct(on_air, 0.99):.0f} ms"
        )
    print(
        f"station CPU over {wall:.1f} s: {cpu:.1f} s ({100 * cpu / wall:.0f} % of one core; "
        "this process, the pull and the mounts' encoders)"
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"memory: this process peak {own / 1024:.0f} MB; its children together at most "
        f"{peak_children[1] / 1024:.0f} MB proportional ({peak_children[0] / 1024:.0f} MB "
        "resident, shared pages counted in each)"
    )
    outcomes = {r["zone"]: (r["outcome"], r["relayed_seconds"] or 0.0) for r in records}
    print("entries: " + ", ".join(f"{z}={o} {s:.0f} s" for z, (o, s) in sorted(outcomes.items())))
    if len(outcomes) != len(zones):
        print(f"only {len(outcomes)} of {len(zones)} zones have an entry", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
