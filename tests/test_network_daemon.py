"""The real-time daemon with networked clusters: a real Mosquitto, receivers playing at
real pace, and an emergency cutting into a bulletin playing on every zone."""

from __future__ import annotations

import time

import pytest
from netkit import Network, ReceiverProcess, events, make_network_station, mosquitto, stop
from stationkit import offset_to, rows, script_text

pytestmark = pytest.mark.realtime

LONG = (
    "Nghị quyết 57 của Bộ Chính trị về đột phá phát triển khoa học, công nghệ, đổi mới "
    "sáng tạo và chuyển đổi số quốc gia. Bà con hãy cài đặt ứng dụng định danh điện tử, "
    "thanh toán không dùng tiền mặt và cảnh giác với các cuộc gọi lừa đảo qua mạng."
)


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_emergency_interrupts_a_playing_bulletin_on_every_networked_zone(cli, tmp_path):
    with mosquitto(tmp_path / "mosquitto") as broker:
        net = Network.make({"z1": 2, "z2": 2, "z3": 2})
        root, receivers_file = make_network_station(
            cli.root, net, broker, start_timeout=5, per_day=False
        )
        (root / "scripts" / "nq57-dai.md").write_text(
            script_text("nq57-dai", "normal", "nq57", LONG, "all"), encoding="utf-8"
        )
        cli("render", "nq57-dai", check=True)
        cli("approve", "nq57-dai", "--by", "Chủ tịch UBND xã", check=True)
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:50:00")
        for zone in net.zones:
            cli("queue", "nq57-dai", "--zone", zone, "--at", "2026-11-23 06:00", check=True)
        receivers = ReceiverProcess(receivers_file, pace=1)
        # Booked well ahead (a loaded machine is slow to run CLI calls); now 06:00 is near.
        cli.env["BROADCASTER_CLOCK_OFFSET"] = offset_to("2026-11-23T05:59:58")
        daemon = cli.popen("run", "--no-autoplan", "--sweep-seconds", "0.2")
        field_dir = receivers_file.parent
        try:
            # Every receiver has started the bulletin.
            wait_for(
                lambda: all(
                    any(e["event"] == "started" for e in events(field_dir, r)) for r in net.keys
                )
            )
            r = cli("emergency", "bao-lu", "--zones", "all", "--by", "Trực ban")
            assert r.code == 0, r.err
            assert "handed to the running daemon" in r.out
            wait_for(
                lambda: (
                    len(
                        rows(
                            root,
                            "select * from as_run_log where bulletin_id='bao-lu' "
                            "and outcome='aired'",
                        )
                    )
                    == 3
                ),
                timeout=40,
            )
        finally:
            stop(daemon)
            receivers.stop()

    cut = rows(root, "select * from as_run_log where outcome='interrupted' order by seq")
    first_cut: dict = {}
    for c in cut:  # the retry after the alert may be cut again when the daemon stops
        first_cut.setdefault(c["zone_id"], c)
    assert set(first_cut) == {"z1", "z2", "z3"}
    assert all("emergency" in c["reason"] for c in first_cut.values())
    alerts = rows(root, "select * from as_run_log where bulletin_id='bao-lu'")
    assert {a["zone_id"] for a in alerts} == {"z1", "z2", "z3"}
    assert all(a["outcome"] == "aired" for a in alerts)
    assert all(
        set(v.split("=")[1] for v in a["receivers"].split(",")) == {"played"} for a in alerts
    )
    # Each receiver stopped the bulletin before it ended, then played the alert in full.
    alert_ids = {a["airing_id"] for a in alerts}
    for receiver in net.keys:
        log = events(field_dir, receiver)
        done = [e for e in log if e["event"] == "done"]
        assert done[0]["completed"] is False
        assert any(e["completed"] and e["airing_id"] in alert_ids for e in done)
    seqs = ",".join(str(c["seq"]) for c in first_cut.values())
    reports = rows(root, f"select * from receiver_report where log_seq in ({seqs})")
    assert len(reports) == 6 and {r["outcome"] for r in reports} == {"interrupted"}
