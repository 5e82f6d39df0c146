"""``broadcaster check`` and bad input, through the real executable.

Every problem an officer can make in ``schedules/station.yaml`` or ``scripts/*.md`` must be
reported as ``path:line: field: message`` on stderr (all of them, not only the first), with
exit code 1 and no traceback; ``check`` itself writes nothing; other commands refuse a
broken configuration before they open (and create) the database.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from stationkit import REPO, SCRIPTS, STATION_YAML, Cli, Result, script_text

# A fixed 'now' (Friday before ISO week 2026-W48) so week and expiry checks are stable.
NOW = "2026-11-20T08:00+07:00"
STATION = "schedules/station.yaml"


# -- helpers ------------------------------------------------------------------------------
def run(root: Path, *args: str) -> Result:
    return Cli(root, env={"BROADCASTER_NOW": NOW})(*args)


def line_no(text: str, needle: str) -> int:
    """1-based number of the only line of ``text`` containing ``needle``."""
    found = [i for i, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} found on lines {found}"
    return found[0]


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not unique in the text"
    return text.replace(old, new)


def write_yaml(root: Path, text: str) -> None:
    (root / STATION).write_text(text, encoding="utf-8")


def err_lines(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if line.strip()]


def assert_clean_failure(result: Result, code: int = 1) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    assert "Traceback" not in result.out


def snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every file and folder under ``root`` (and ``root`` itself): kind, size, mtime."""
    entries = {}
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.stat()
        entries[str(path.relative_to(root))] = (path.is_dir(), st.st_size, st.st_mtime_ns)
    return entries


def db_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("station.db*"))


# Three problems pydantic accepts but the station loader refuses.
UNKNOWN_ZONE = '  - {id: ma, zones: [thon-z], days: [mon], start: "08:00", max_minutes: 10}\n'
IN_QUIET = '  - {id: dem, zones: [xa], days: [mon], start: "22:00", max_minutes: 10}\n'
OVERLAP = '  - {id: chong, zones: [thon-a], days: [mon], start: "06:05", max_minutes: 10}\n'
# Two problems the schema refuses.
BAD_TIME = '  - {id: muon, zones: [xa], days: [sat], start: "25:00", max_minutes: 10}\n'
UNKNOWN_FIELD = "  colour: red\n"


def add_sessions(text: str, *sessions: str) -> str:
    """Append sessions to the ``sessions:`` list (it is followed by ``requirements:``)."""
    return edit(text, "requirements:\n", "".join(sessions) + "requirements:\n")


def with_semantic_problems() -> str:
    return add_sessions(STATION_YAML, UNKNOWN_ZONE, IN_QUIET, OVERLAP)


def expected_semantic(text: str) -> list[str]:
    return [
        f"{STATION}:{line_no(text, 'id: ma,')}: sessions.2.zones: unknown zone 'thon-z'",
        f"{STATION}:{line_no(text, 'id: dem,')}: sessions.3.start: "
        "session 22:00 + 10 min falls in quiet hours 21:30–05:00",
        f"{STATION}:{line_no(text, 'id: chong,')}: sessions.4.start: "
        "overlaps session 'sang' on zone thon-a",
    ]


# -- a valid station ----------------------------------------------------------------------
def test_valid_station_passes(bare_station: Path):
    """The small station is valid: exit 0, a one-line summary, nothing on stderr."""
    result = run(bare_station, "check")
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.startswith("ok: station 'Đài truyền thanh xã Thử Nghiệm', 3 zones")
    assert f"{len(SCRIPTS)} bulletins" in result.out


def test_check_json_lists_bulletins_and_no_problems(bare_station: Path):
    """``check --json``: ok, each bulletin with id, title, priority and approval state."""
    result = run(bare_station, "check", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["ok"] is True
    assert data["problems"] == []
    by_id = {b["id"]: b for b in data["bulletins"]}
    assert set(by_id) == set(SCRIPTS)
    for bid, (priority, campaign, _body, _zones) in SCRIPTS.items():
        b = by_id[bid]
        assert b["title"] == f"Bản tin {bid}"
        assert b["priority"] == priority
        assert b["campaign"] == campaign
        assert b["approval"] == "not-rendered"  # nothing rendered in a bare station
        assert b["path"] == f"scripts/{bid}.md"


# -- station.yaml problems ------------------------------------------------------------------
def test_every_station_problem_is_reported_with_its_line(bare_station: Path):
    """An unknown zone, a session in quiet hours and two overlapping sessions on one zone:
    all three reported, each at the line of the offending session, exit 1."""
    text = with_semantic_problems()
    write_yaml(bare_station, text)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    assert err_lines(result) == expected_semantic(text)
    assert result.out == ""


def test_check_json_reports_the_same_problems(bare_station: Path):
    """``--json`` carries the problems as data: path, line, field, message, severity."""
    text = with_semantic_problems()
    write_yaml(bare_station, text)

    result = run(bare_station, "check", "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["ok"] is False
    assert data["bulletins"] == []
    assert [(p["path"], p["line"], p["field"], p["severity"]) for p in data["problems"]] == [
        (STATION, line_no(text, "id: ma,"), "sessions.2.zones", "error"),
        (STATION, line_no(text, "id: dem,"), "sessions.3.start", "error"),
        (STATION, line_no(text, "id: chong,"), "sessions.4.start", "error"),
    ]


def test_every_schema_problem_is_reported_with_its_line(bare_station: Path):
    """A bad time ("25:00"), an unknown field and an unknown weekday: all reported at once."""
    text = edit(STATION_YAML, "  grace_minutes: 20\n", "  grace_minutes: 20\n" + UNKNOWN_FIELD)
    every_day = 'days: [mon, tue, wed, thu, fri, sat, sun], start: "17:00"'
    text = edit(text, every_day, 'days: [mon, funday], start: "17:00"')
    text = add_sessions(text, BAD_TIME)
    write_yaml(bare_station, text)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    chieu = line_no(text, "id: chieu,")
    assert err_lines(result) == [
        f"{STATION}:{line_no(text, 'colour:')}: station.colour: unknown field",
        f"{STATION}:{chieu}: sessions.1.days.1: must be one of 'mon', 'tue', 'wed', 'thu', "
        "'fri', 'sat' or 'sun'",
        f"{STATION}:{line_no(text, 'id: muon,')}: sessions.2.start: "
        "'25:00' is not a time like \"06:00\" (quote it)",
    ]


def test_schema_and_station_problems_are_reported_together(bare_station: Path):
    """One file with five mistakes of both kinds: check lists all five."""
    text = edit(STATION_YAML, "  grace_minutes: 20\n", "  grace_minutes: 20\n" + UNKNOWN_FIELD)
    text = add_sessions(text, UNKNOWN_ZONE, IN_QUIET, OVERLAP, BAD_TIME)
    write_yaml(bare_station, text)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    lines = err_lines(result)
    for needle, fragment in [
        ("colour:", "station.colour: unknown field"),
        ("id: ma,", "unknown zone 'thon-z'"),
        ("id: dem,", "quiet hours"),
        ("id: chong,", "overlaps session 'sang'"),
        ("id: muon,", "'25:00' is not a time"),
    ]:
        prefix = f"{STATION}:{line_no(text, needle)}: "
        assert any(ln.startswith(prefix) and fragment in ln for ln in lines), (needle, lines)


def test_session_running_into_quiet_hours_between_samples_is_refused(bare_station: Path):
    """A session 21:27–21:32 overlaps quiet hours starting 21:30 and must be refused."""
    text = edit(STATION_YAML, 'start: "17:00", max_minutes: 10', 'start: "21:27", max_minutes: 5')
    write_yaml(bare_station, text)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    assert err_lines(result) == [
        f"{STATION}:{line_no(text, 'id: chieu,')}: sessions.1.start: "
        "session 21:27 + 5 min falls in quiet hours 21:30–05:00"
    ]


def test_sessions_overlapping_across_midnight_are_refused(bare_station: Path):
    """Without quiet hours, Mon 23:55 (10 min) and Tue 00:00 on zone xa overlap."""
    text = edit(STATION_YAML, 'quiet_hours:\n  - {start: "21:30", end: "05:00"}\n', "")
    text = add_sessions(
        text,
        '  - {id: khuya, zones: [xa], days: [mon], start: "23:55", max_minutes: 10}\n',
        '  - {id: som, zones: [xa], days: [tue], start: "00:00", max_minutes: 10}\n',
    )
    write_yaml(bare_station, text)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    lines = {line_no(text, "id: khuya,"), line_no(text, "id: som,")}
    assert any(
        ln.startswith(tuple(f"{STATION}:{n}: " for n in lines)) for ln in err_lines(result)
    ), result.err


@pytest.mark.parametrize(
    ("name", "old", "new", "bad_line"),
    [
        ("tab", "  tts: [espeak]\n", "\ttts: [espeak]\n", "tts: [espeak]"),
        ("unclosed bracket", "  tts: [espeak]\n", "  tts: [espeak\n", "tts: [espeak"),
        (
            "unclosed brace",
            "  - {id: thon-b, name: Cụm loa thôn B, kind: cluster, output: files}\n",
            "  - {id: thon-b, name: Cụm loa thôn B, kind: cluster, output: files\n",
            "id: thon-b",
        ),
    ],
)
def test_malformed_yaml_is_one_line(bare_station: Path, name: str, old: str, new: str, bad_line):
    """Broken YAML syntax: a single ``station.yaml:N: invalid YAML`` line, exit 1. N is the
    line of the mistake (or, for an unclosed bracket, where the parser noticed it: the next
    line)."""
    text = edit(STATION_YAML, old, new)
    write_yaml(bare_station, text)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    [line] = err_lines(result)
    m = re.match(rf"^{re.escape(STATION)}:(\d+): invalid YAML: \S", line)
    assert m, line
    mistake = line_no(text, bad_line)
    assert int(m.group(1)) in (mistake, mistake + 1), (name, line)


# -- script problems --------------------------------------------------------------------------
def good_script(bid: str = "moi", **changes: str) -> str:
    """A valid script; ``changes`` replace front-matter lines by key (value '' drops it)."""
    text = script_text(bid, "normal", "nq57", "Bà con lưu ý.", "all")
    for key, value in changes.items():
        old = next(ln for ln in text.split("\n") if ln.startswith(f"{key}:"))
        text = edit(text, old + "\n", value + "\n" if value else "")
    return text


def first_body_line(text: str) -> int:
    """Line number of the first line after the front matter's closing '---'."""
    return [i for i, ln in enumerate(text.split("\n"), start=1) if ln == "---"][1] + 1


SCRIPT_CASES = {
    # name: (text, expected line (from the text), field or None, message fragment)
    "unknown-zone": (
        good_script(zones="zones: [xa, thon-z]"),
        "zones:",
        "zones",
        "unknown zone 'thon-z'",
    ),
    "empty-body": (
        good_script().replace("Bà con lưu ý.\n", "\n   \n"),
        first_body_line,
        "body",
        "no text to read and no audio file",
    ),
    "missing-audio": (
        good_script(language="language: vi\naudio: audio/recorded/khong-co.mp3"),
        "audio:",
        "audio",
        "audio file 'audio/recorded/khong-co.mp3' not found",
    ),
    "until-before-from": (
        good_script(valid_from="valid_from: 2026-06-01", valid_until="valid_until: 2026-05-01"),
        "valid_until:",
        "valid_until",
        "valid_until is before valid_from",
    ),
    "unknown-priority": (
        good_script(priority="priority: khan-cap"),
        "priority:",
        "priority",
        "must be one of 'normal', 'priority' or 'emergency'",
    ),
    "unknown-key": (
        good_script(language="language: vi\ntac_gia: Văn phòng UBND"),
        "tac_gia:",
        "tac_gia",
        "unknown field",
    ),
    "no-front-matter": ("Bà con lưu ý.\n", lambda text: 1, None, "no front matter"),
}


def expected_line(text: str, where) -> int:
    return where(text) if callable(where) else line_no(text, where)


@pytest.mark.parametrize("case", sorted(SCRIPT_CASES))
def test_script_problem_is_located(bare_station: Path, case: str):
    """Each broken script: ``scripts/<file>.md:<line>: <field>: ...``, exit 1."""
    text, where, field, fragment = SCRIPT_CASES[case]
    (bare_station / "scripts" / f"{case}.md").write_text(text, encoding="utf-8")

    result = run(bare_station, "check")
    assert_clean_failure(result)
    prefix = f"scripts/{case}.md:{expected_line(text, where)}: " + (f"{field}: " if field else "")
    [line] = err_lines(result)
    assert line.startswith(prefix), (line, prefix)
    assert fragment in line


def test_non_utf8_script_is_located(bare_station: Path):
    """A script saved as Latin-1: the line of the first undecodable byte, 'not UTF-8'."""
    raw = b"---\nid: cafe\ntitle: Cafe\ncampaign: nq57\n---\nQu\xe1n c\xe0 ph\xea.\n"
    (bare_station / "scripts" / "cafe.md").write_bytes(raw)

    result = run(bare_station, "check")
    assert_clean_failure(result)
    assert err_lines(result) == ["scripts/cafe.md:6: not UTF-8 text (save the file as UTF-8)"]


def test_duplicate_bulletin_id_is_reported_on_the_second_file(bare_station: Path):
    """Two files with the same id: the later file (by name) is reported, naming the other."""
    copy = (bare_station / "scripts" / "nq57-mot.md").read_text(encoding="utf-8")
    (bare_station / "scripts" / "z-ban-sao.md").write_text(copy, encoding="utf-8")

    result = run(bare_station, "check")
    assert_clean_failure(result)
    assert err_lines(result) == [
        f"scripts/z-ban-sao.md:{line_no(copy, 'id:')}: id: duplicate bulletin id 'nq57-mot' "
        "(also in scripts/nq57-mot.md)"
    ]


def test_duplicate_bulletin_id_points_at_the_id_line(bare_station: Path):
    """The duplicate's ``id:`` is on line 3 (after ``title:``): the message says line 3."""
    text = "---\ntitle: Bản sao\nid: nq57-mot\ncampaign: nq57\n---\nBà con lưu ý.\n"
    (bare_station / "scripts" / "z-ban-sao.md").write_text(text, encoding="utf-8")

    result = run(bare_station, "check")
    assert_clean_failure(result)
    [line] = err_lines(result)
    assert line.startswith("scripts/z-ban-sao.md:3: id: duplicate bulletin id"), line


def test_all_script_problems_are_reported_not_just_the_first(bare_station: Path):
    """Every broken script at once: one line per problem, each on its own file."""
    for case, (text, _where, _field, _fragment) in SCRIPT_CASES.items():
        (bare_station / "scripts" / f"{case}.md").write_text(text, encoding="utf-8")

    result = run(bare_station, "check")
    assert_clean_failure(result)
    lines = err_lines(result)
    assert len(lines) == len(SCRIPT_CASES)
    for case, (text, where, _field, fragment) in SCRIPT_CASES.items():
        prefix = f"scripts/{case}.md:{expected_line(text, where)}: "
        assert any(ln.startswith(prefix) and fragment in ln for ln in lines), (case, lines)


def test_station_and_script_problems_do_not_mix_up(bare_station: Path):
    """A broken station.yaml is reported alone: scripts cannot be judged without it."""
    write_yaml(bare_station, with_semantic_problems())
    (bare_station / "scripts" / "no-front-matter.md").write_text("x\n", encoding="utf-8")

    result = run(bare_station, "check")
    assert_clean_failure(result)
    assert all(ln.startswith(f"{STATION}:") for ln in err_lines(result))


# -- check writes nothing -------------------------------------------------------------------------
def test_passing_check_writes_nothing(bare_station: Path):
    """A passing check leaves the station tree as it was: no station.db, no output folder."""
    before = snapshot(bare_station)
    assert run(bare_station, "check").code == 0
    assert run(bare_station, "check", "--json").code == 0
    assert snapshot(bare_station) == before
    assert db_files(bare_station) == []


def test_failing_check_writes_nothing(bare_station: Path):
    """Failing checks (bad station, then bad script) leave the station tree untouched."""
    write_yaml(bare_station, with_semantic_problems())
    before = snapshot(bare_station)
    assert run(bare_station, "check").code == 1
    assert snapshot(bare_station) == before

    write_yaml(bare_station, STATION_YAML)
    (bare_station / "scripts" / "hong.md").write_text("x\n", encoding="utf-8")
    before = snapshot(bare_station)
    assert run(bare_station, "check", "--json").code == 1
    assert snapshot(bare_station) == before
    assert db_files(bare_station) == []


def test_check_writes_nothing_next_to_an_existing_database(bare_station: Path):
    """Once a database exists (created here by ``plan``), check still adds no file."""
    run(bare_station, "plan", "--week", "2026-W48")
    assert db_files(bare_station) == ["station.db"]
    before = snapshot(bare_station)

    assert run(bare_station, "check").code == 0
    assert db_files(bare_station) == ["station.db"]
    assert snapshot(bare_station) == before


# -- other commands on a broken configuration -------------------------------------------------
BROKEN_TIME = edit(STATION_YAML, 'start: "17:00"', 'start: "25:00"')


@pytest.mark.parametrize(
    "args",
    [
        ("render",),
        ("plan", "--week", "2026-W48"),
        ("queue", "nq57-mot", "--zone", "xa", "--at", "2026-11-23 06:00"),
        ("approve", "nq57-mot", "--by", "Chủ tịch UBND xã"),
        ("status",),
    ],
    ids=lambda args: args[0],
)
def test_commands_refuse_a_broken_config_before_opening_the_database(
    bare_station: Path, args: tuple[str, ...]
):
    """The configuration is loaded first: one line, exit 1, and no station.db created."""
    write_yaml(bare_station, BROKEN_TIME)

    result = run(bare_station, *args)
    assert_clean_failure(result)
    assert err_lines(result) == [
        f"{STATION}:{line_no(BROKEN_TIME, 'id: chieu,')}: sessions.1.start: "
        "'25:00' is not a time like \"06:00\" (quote it)"
    ]
    assert db_files(bare_station) == []


# -- usage errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-W99", "--week: 2026 has no week 99"),
        ("nonsense", "--week: 'nonsense' is not an ISO week like 2026-W48"),
        ("2026-W00", "--week: 2026 has no week 0"),
    ],
)
def test_impossible_week_is_a_usage_error(bare_station: Path, week: str, message: str):
    """A week that does not exist: exit 2, one line, and nothing created."""
    result = run(bare_station, "plan", "--week", week)
    assert_clean_failure(result, code=2)
    assert err_lines(result) == [message]
    assert db_files(bare_station) == []


@pytest.mark.parametrize(
    "args",
    [("plan", "--bogus"), ("queue",), ("no-such-command",)],
    ids=["unknown-option", "missing-argument", "unknown-command"],
)
def test_command_line_mistakes_are_usage_errors(bare_station: Path, args: tuple[str, ...]):
    """Mistyped command lines exit 2 with click's short message, never a traceback."""
    result = run(bare_station, *args)
    assert_clean_failure(result, code=2)


# -- JSON Schemas ----------------------------------------------------------------------------------
class _Yaml12Loader(yaml.SafeLoader):
    """Reads dates as strings, like the YAML 1.2 editors that use the shipped schemas
    (PyYAML's 1.1 timestamps would turn ``from: 2026-09-24`` into a ``date``)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def test_schema_prints_both_json_schemas(bare_station: Path):
    """``broadcaster schema`` prints the station and script schemas as one JSON object."""
    result = run(bare_station, "schema")
    assert result.code == 0, result.err
    schemas = json.loads(result.out)
    assert set(schemas) == {"station.schema.json", "script.schema.json"}
    assert schemas["station.schema.json"]["type"] == "object"
    assert "zones" in schemas["station.schema.json"]["properties"]
    assert "priority" in schemas["script.schema.json"]["properties"]


def test_repository_files_validate_against_the_printed_schemas(bare_station: Path):
    """The repo's own schedules/station.yaml, the test station and every script's front
    matter validate against the schemas ``broadcaster schema`` prints."""
    jsonschema = pytest.importorskip("jsonschema")
    schemas = json.loads(run(bare_station, "schema").out)
    station_schema = schemas["station.schema.json"]
    script_schema = schemas["script.schema.json"]
    for schema in (station_schema, script_schema):
        jsonschema.Draft202012Validator.check_schema(schema)

    def validate(text: str, schema: dict) -> None:
        data = yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader subclass
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()
        )
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == []

    validate((REPO / STATION).read_text(encoding="utf-8"), station_schema)
    validate(STATION_YAML, station_schema)
    for path in sorted((REPO / "scripts").glob("*.md")):
        front = path.read_text(encoding="utf-8").split("---\n")[1]
        validate(front, script_schema)
