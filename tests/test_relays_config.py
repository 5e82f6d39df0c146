"""``sources:`` and ``relays:`` in station.yaml (issue 16, first part), through the real
executable: a valid station passes ``check``; every mistake is one line
``path:line: field: message``, all of them at once, exit 1; the JSON Schema knows both."""

from __future__ import annotations

import json
from pathlib import Path

from stationkit import STATION_YAML, Cli, Result

NOW = "2026-11-20T08:00+07:00"
STATION = "schedules/station.yaml"

SOURCES = """\
sources:
  - id: vov1
    name: Đài Tiếng nói Việt Nam (VOV1)
    url: http://127.0.0.1:8000/vov1.mp3
    backup_url: https://127.0.0.1:8443/vov1.m3u8
  - {id: fm, name: Đài tỉnh qua máy thu FM, url: "device:hw:1,0"}
"""
GOOD_RELAYS = """\
relays:
  - {source: vov1, zones: all, days: [mon, tue, wed, thu, fri, sat], start: "05:00", end: "05:30", min_share: 0.8}
  - {id: tinh, source: fm, zones: [thon-a], days: [mon], start: "05:30", end: "05:45"}
"""


def run(root: Path, *args: str) -> Result:
    return Cli(root, env={"BROADCASTER_NOW": NOW})(*args)


def write(root: Path, extra: str) -> str:
    text = STATION_YAML.replace("requirements:\n", extra + "requirements:\n", 1)
    (root / STATION).write_text(text, encoding="utf-8")
    return text


def line_no(text: str, needle: str) -> int:
    found = [i for i, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} found on lines {found}"
    return found[0]


def test_sources_and_relays_pass_check(bare_station: Path):
    write(bare_station, SOURCES + GOOD_RELAYS)
    result = run(bare_station, "check")
    assert result.code == 0, result.err
    assert result.err == ""


def test_every_relay_problem_is_reported_with_its_line(bare_station: Path):
    """An unknown source, a window ending before it starts, one in quiet hours, one over
    another on the same zone, a duplicate source and a bad address: all six, each at its
    line and field."""
    relays = """\
relays:
  - {id: sang, source: vov1, zones: all, days: [mon, tue], start: "05:00", end: "05:30"}
  - {id: la, source: vov9, zones: [xa], days: [wed], start: "05:00", end: "05:30"}
  - {id: nguoc, source: vov1, zones: [xa], days: [thu], start: "08:00", end: "07:30"}
  - {id: dem, source: vov1, zones: [xa], days: [fri], start: "21:00", end: "22:00"}
  - {id: chong, source: fm, zones: [thon-b], days: [tue], start: "05:20", end: "05:40"}
"""
    sources = SOURCES + (
        "  - {id: vov1, name: Lặp lại, url: http://127.0.0.1/x}\n"
        "  - {id: hong, name: Sai địa chỉ, url: ftp://127.0.0.1/x}\n"
    )
    text = write(bare_station, sources + relays)
    result = run(bare_station, "check")
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert lines == [
        f"{STATION}:{line_no(text, 'url: ftp://')}: sources.3.url: 'ftp://127.0.0.1/x' is not "
        "a stream address: http://..., https://... or device:NAME",
        f"{STATION}:{line_no(text, 'Lặp lại')}: sources.2.id: duplicate source id 'vov1'",
        f"{STATION}:{line_no(text, 'id: la,')}: relays.1.source: unknown source 'vov9' "
        "(defined: vov1, fm)",
        f"{STATION}:{line_no(text, 'id: nguoc,')}: relays.2.end: ends at 07:30, not after its "
        "start 08:00 (a relay ends the day it starts)",
        f"{STATION}:{line_no(text, 'id: dem,')}: relays.3.start: relay 21:00–22:00 falls in "
        "quiet hours 21:30–05:00",
        f"{STATION}:{line_no(text, 'id: chong,')}: relays.4.start: overlaps relay 'sang' on "
        "zone thon-b",
    ]


def test_relay_fields_refused_by_the_schema(bare_station: Path):
    relays = """\
relays:
  - {source: vov1, days: [mon], start: "05:00", end: "25:00", min_share: 1.5}
  - {source: vov1, days: [mon], start: "06:30", end: "07:00", colour: red}
"""
    text = write(bare_station, SOURCES + relays)
    result = run(bare_station, "check")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    first, second = line_no(text, "min_share: 1.5"), line_no(text, "colour: red")
    assert lines[0] == (
        f"{STATION}:{first}: relays.0.end: '25:00' is not a time like \"06:00\" (quote it)"
    )
    assert lines[1].startswith(f"{STATION}:{first}: relays.0.min_share: ")
    assert lines[2] == f"{STATION}:{second}: relays.1.colour: unknown field"
    assert len(lines) == 3


def test_two_unnamed_relays_of_one_source_and_start_need_an_id(bare_station: Path):
    relays = """\
relays:
  - {source: vov1, zones: [xa], days: [mon], start: "05:00", end: "05:30"}
  - {source: vov1, zones: [thon-a], days: [tue], start: "05:00", end: "05:30"}
"""
    text = write(bare_station, SOURCES + relays)
    result = run(bare_station, "check")
    assert result.code == 1
    assert result.err.strip() == (
        f"{STATION}:{line_no(text, 'days: [tue]')}: relays.1.start: two relays would both be "
        "called 'vov1-0500': give this one an id"
    )


def test_relays_on_different_days_or_zones_may_share_a_time(bare_station: Path):
    relays = """\
relays:
  - {id: a, source: vov1, zones: [xa], days: [mon], start: "05:00", end: "05:30"}
  - {id: b, source: vov1, zones: [xa], days: [tue], start: "05:00", end: "05:30"}
  - {id: c, source: fm, zones: [thon-a], days: [mon], start: "05:10", end: "05:30"}
  - {id: d, source: fm, zones: [xa], days: [mon], start: "05:30", end: "05:40"}
"""
    write(bare_station, SOURCES + relays)
    result = run(bare_station, "check")
    assert result.code == 0, result.err


def test_the_json_schema_describes_sources_and_relays(bare_station: Path):
    schema = json.loads(run(bare_station, "schema").out)["station.schema.json"]
    assert {"sources", "relays"} <= set(schema["properties"])
    relay = schema["$defs"]["RelayModel"]
    assert set(relay["required"]) == {"source", "days", "start", "end"}
    assert relay["properties"]["min_share"]["default"] == 0.8
    shipped = Path(__file__).resolve().parent.parent / "broadcaster/schemas/station.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == schema  # regenerated
