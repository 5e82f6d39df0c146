"""Relays in what operators read (issue 16, first part), through the real executable:
``plan`` and ``status`` (text and --json: a ``relays`` list per zone with source, start and
end), ``schedule export`` (one ICS event per relay window per zone), and ``plan`` and
``queue`` keeping bulletins off a relay inside a session."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from stationkit import VN, Cli

STATION = "schedules/station.yaml"
ZONES = ("xa", "thon-a", "thon-b")
EXTRA = """\
sources:
  - {id: vov1, name: Đài Tiếng nói Việt Nam (VOV1), url: "http://127.0.0.1:8000/vov1.mp3"}
relays:
  - {id: vov1-sang, source: vov1, zones: all, days: [mon, tue, wed, thu, fri, sat], start: "05:00", end: "05:30"}
  - {id: vov1-buoi, source: vov1, zones: all, days: [mon, tue, wed, thu, fri, sat], start: "06:00", end: "06:03"}
  - {id: vov1-chieu, source: vov1, zones: [xa], days: [sun], start: "17:00", end: "17:10"}
"""
WINDOWS_PER_ZONE = {"xa": 13, "thon-a": 12, "thon-b": 12}  # 6 + 6 (+ Sunday evening on xa)


@pytest.fixture
def rcli(cli: Cli) -> Cli:
    path = cli.root / STATION
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", EXTRA + "requirements:\n", 1), "utf-8")
    return cli


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def test_plan_json_lists_relays_per_zone_and_books_around_them(rcli: Cli):
    r = rcli("plan", "--week", "2026-W48", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert set(data["relays"]) == set(ZONES)
    for zone, count in WINDOWS_PER_ZONE.items():
        assert len(data["relays"][zone]) == count
    first = data["relays"]["thon-a"][0]
    assert first == {
        "relay": "vov1-sang",
        "source": "vov1",
        "start": "2026-11-23 05:00:00",
        "end": "2026-11-23 05:30:00",
    }
    windows = {
        z: [(local(w["start"]), local(w["end"])) for w in ws] for z, ws in data["relays"].items()
    }
    assert data["created"]
    for a in data["created"]:
        start = local(a["scheduled_at"])
        end = start + timedelta(seconds=a["duration_seconds"])
        for w0, w1 in windows[a["zone"]]:
            assert end <= w0 or start >= w1, (a, w0, w1)
    monday = [a for a in data["created"] if a["scheduled_at"].startswith("2026-11-23 06")]
    assert monday and min(a["scheduled_at"] for a in monday) == "2026-11-23 06:03:00"


def test_plan_and_status_text_show_the_relays(rcli: Cli):
    r = rcli("plan", "--week", "2026-W48")
    assert r.code == 0, r.err
    assert "Relays" in r.out
    assert "vov1 (Đài Tiếng nói Việt Nam (VOV1))" in r.out
    assert "05:00–05:30" in r.out and "23/11–28/11" in r.out and "all zones (3)" in r.out
    assert "17:00–17:10" in r.out and "29/11" in r.out
    s = rcli("status", "--week", "2026-W48")
    assert s.code == 0, s.err
    assert "Relays" in s.out and "06:00–06:03" in s.out
    vi = rcli("--lang", "vi", "status", "--week", "2026-W48")
    assert "Tiếp sóng" in vi.out and "nguồn" in vi.out and "mọi cụm loa (3)" in vi.out


def test_status_json_carries_each_zones_relays(rcli: Cli):
    r = rcli("status", "--week", "2026-W48", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert {row["zone"] for row in rows} == set(ZONES)
    for row in rows:
        relays = row["relays"]
        assert len(relays) == WINDOWS_PER_ZONE[row["zone"]]
        assert all(w["source"] == "vov1" for w in relays)
        assert relays == sorted(relays, key=lambda w: w["start"])


def test_a_station_without_relays_shows_none(cli: Cli):
    r = cli("plan", "--week", "2026-W48", "--json")
    assert json.loads(r.out)["relays"] == {z: [] for z in ZONES}
    assert "Relays" not in cli("status", "--week", "2026-W48").out


def test_ics_has_one_event_per_relay_window_per_zone(rcli: Cli, tmp_path: Path):
    rcli("plan", "--week", "2026-W48", check=True)
    target = tmp_path / "lich.ics"
    r = rcli("schedule", "export", "--ics", str(target), "--period", "2026-W48")
    assert r.code == 0, r.err
    assert "37 relay windows" in r.out
    events = list(Calendar.from_ical(target.read_bytes()).walk("VEVENT"))
    relay_events = [e for e in events if "relay:vov1" in [str(c) for c in e["CATEGORIES"].cats]]
    assert len(relay_events) == sum(WINDOWS_PER_ZONE.values())
    assert len({str(e["UID"]) for e in events}) == len(events)
    for e in relay_events:
        assert str(e["SUMMARY"]).endswith("tiếp sóng Đài Tiếng nói Việt Nam (VOV1)")
    sunday = [e for e in relay_events if e.decoded("DTSTART").astimezone(VN).weekday() == 6]
    assert len(sunday) == 1
    assert sunday[0].decoded("DTSTART") == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert sunday[0].decoded("DTEND") == datetime(2026, 11, 29, 10, 10, tzinfo=UTC)
    # the same export again: the same UIDs (re-importing updates the events)
    again = tmp_path / "lai.ics"
    rcli("schedule", "export", "--ics", str(again), "--period", "2026-W48", check=True)
    uids = {str(e["UID"]) for e in Calendar.from_ical(again.read_bytes()).walk("VEVENT")}
    assert uids == {str(e["UID"]) for e in events}


def test_queue_starts_after_a_relay_and_counts_its_minutes(rcli: Cli):
    """Queued at 06:01 on Tuesday, inside the 06:00–06:03 relay: it starts at 06:03. On
    Sunday the 17:00–17:10 relay fills xa's evening session: refused, naming the relay."""
    r = rcli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-24 06:01")
    assert r.code == 0, r.err
    listed = json.loads(rcli("schedule", "list", "--week", "2026-W48", "--json").out)
    queued = [a for a in listed if a["origin"] == "queue"]
    assert [a["scheduled_at"] for a in queued] == ["2026-11-24 06:03:00"]
    full = rcli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-29 17:05")
    assert full.code == 1, (full.out, full.err)
    assert "is full" in full.err and "relay vov1 until 17:10" in full.err
    other = rcli("queue", "nq57-mot", "--zone", "thon-a", "--at", "2026-11-29 17:05")
    assert other.code == 0, other.err  # thon-a does not relay on Sunday evening


def test_no_retry_runs_into_a_relay(cli: Cli):
    """nq57-mot is queued on xa at 06:04:50, before a relay at 06:05–06:08 inside the
    06:00 session; an emergency at 06:04:52 cuts it. Aired again after the alert it would
    run into the relay: no retry is booked in that session (make-ups are planned instead),
    and nothing airs on xa inside the relay window."""
    from simkit import sim_root
    from stationkit import rows

    path = cli.root / STATION
    extra = EXTRA.split("relays:\n")[0] + (
        'relays:\n  - {source: vov1, zones: [xa], days: [mon], start: "06:05", end: "06:08"}\n'
    )
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("requirements:\n", extra + "requirements:\n", 1), "utf-8")
    cli("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:04:50", check=True)
    r = cli(
        "simulate",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-23",
        "--emergency",
        "bao-lu@2026-11-23 06:04:52",
    )
    assert r.code == 0, r.err
    root = sim_root(cli.root)
    log = rows(root, "select * from as_run_log where zone_id='xa' order by seq")
    assert [e["bulletin_id"] for e in log if e["outcome"] == "interrupted"] == ["nq57-mot"]
    on_xa = rows(root, "select * from airing where zone_id='xa'")
    assert not [a for a in on_xa if a["origin"] == "retry"], [dict(a) for a in on_xa]
    relay_start = datetime(2026, 11, 22, 23, 5, tzinfo=UTC)
    relay_end = relay_start + timedelta(minutes=3)
    for a in on_xa:
        if a["status"] != "aired":
            continue
        began = datetime.fromisoformat(a["started_at"]).replace(tzinfo=UTC)
        ended = datetime.fromisoformat(a["ended_at"]).replace(tzinfo=UTC)
        assert ended <= relay_start or began >= relay_end, dict(a)
