"""The hostile-traffic soak (bench/hostile_soak.py), short: the daemon airs while an
attacker with the receivers' broker login sends malformed, oversized, forged and
replayed messages; every airing's outcome must be true and no thread lost. The
10-minute run is by hand (the script's docstring)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from stationkit import REPO

pytestmark = pytest.mark.realtime


def test_short_soak_under_hostile_traffic_keeps_every_outcome_true():
    from netkit import need

    need("mosquitto", "mosquitto")
    r = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "hostile_soak.py"),
            "--smoke",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    figures = json.loads(r.stdout)
    assert figures["ok"] and not figures["threads_lost"]
    assert figures["airings_booked"] >= 6
    assert figures["outcomes"] == {"aired": figures["airings_booked"]}
    assert figures["hostile_total"] >= 300
    ignored = figures["station_ignored_reports"]
    assert ignored.get("unsigned") and ignored.get("bad-signature") and ignored.get("malformed")
