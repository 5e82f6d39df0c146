"""Errors name the operation's field (``zone``, ``at``, ``week``), never a CLI flag; the
CLI turns the field into its option (issue 13), so a web face can put the same message
next to its own ``zone`` input."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from stationkit import Cli

from broadcaster.cli.fields import error_line, option_of
from broadcaster.core.errors import BroadcasterError, FieldProblem, UsageProblem
from broadcaster.core.timeutil import parse_local_datetime, parse_week
from broadcaster.reports.period import parse_period

PACKAGE = Path(__file__).resolve().parent.parent / "broadcaster"
# Everything under the faces: what the CLI and the web pages both stand on.
BELOW_THE_FACES = ("app", "core", "engine", "reports", "store", "playout", "speech", "config")
# A msgid that starts by naming an option: "--zone: ..." or "{option}: ..." filled with one.
NAMES_AN_OPTION = re.compile(r"^(--[a-z]|\{option\})")


def test_no_message_below_the_faces_starts_with_an_option():
    found, flagged = 0, []
    for package in BELOW_THE_FACES:
        for file, line, message, _c, _ctx in extract_from_dir(
            PACKAGE / package,
            method_map=[("**.py", "python")],
            keywords={"_": None, "N_": None, "pgettext": ((1, "c"), 2)},
        ):
            text = message[-1] if isinstance(message, tuple) else message
            found += 1
            if NAMES_AN_OPTION.match(text):
                flagged.append(f"broadcaster/{package}/{file}:{line}: {text!r}")
    assert found > 200  # the scan sees the messages at all
    assert not flagged, "raise FieldProblem(message, field=...) instead:\n" + "\n".join(flagged)


def test_the_scan_would_catch_a_flag_prefix():
    assert NAMES_AN_OPTION.match("--zone: unknown zone 'x'")
    assert NAMES_AN_OPTION.match("{option}: '{text}' is not a date")
    assert not NAMES_AN_OPTION.match("give either --period or --from/--to, not both")


def test_a_field_problem_carries_its_field_and_a_message_without_a_flag():
    exc = FieldProblem("unknown zone 'x'", field="zone")
    assert isinstance(exc, UsageProblem) and isinstance(exc, BroadcasterError)
    assert (exc.field, exc.message, exc.exit_code) == ("zone", "unknown zone 'x'", 2)
    assert exc.problem.as_dict()["field"] == "zone"  # what a JSON face would carry
    assert str(exc) == "zone: unknown zone 'x'"  # a face-neutral line
    assert FieldProblem("cannot write", field="export", exit_code=1).exit_code == 1
    assert UsageProblem.exit_code == 2  # the override is per error, not the class's


def test_the_core_and_the_reports_name_fields():
    with pytest.raises(FieldProblem) as week:
        parse_week("2026-W99")
    assert (week.value.field, week.value.message) == ("week", "2026 has no week 99")
    with pytest.raises(FieldProblem) as at:
        parse_local_datetime("tomorrow", ZoneInfo("Asia/Ho_Chi_Minh"))
    assert at.value.field == "at"
    with pytest.raises(FieldProblem) as to:
        parse_period(None, "2026-11-23", "nonsense", ZoneInfo("Asia/Ho_Chi_Minh"))
    assert to.value.field == "to"


@pytest.mark.parametrize(
    ("field", "option"),
    [
        ("zone", "--zone"),
        ("approved_by", "--approved-by"),
        ("outage", "--fail"),
        ("resume", "--continue"),
        ("BROADCASTER_NOW", "BROADCASTER_NOW"),
    ],
)
def test_the_cli_names_the_option_of_a_field(field: str, option: str):
    assert option_of(field) == option


def test_the_cli_line_puts_the_option_where_the_field_was():
    assert error_line(FieldProblem("unknown zone 'x'", field="zone")) == "--zone: unknown zone 'x'"
    assert error_line(
        FieldProblem("cannot write: Permission denied", field="export", path="h.json")
    ) == ("h.json: --export: cannot write: Permission denied")
    # Any other refusal prints as it is, its field (a YAML path, a user name) untouched.
    assert (
        error_line(BroadcasterError("no user named 'x'", field="name")) == "name: no user named 'x'"
    )


def test_the_cli_prints_the_option_in_either_language(bare_station: Path):
    english = Cli(bare_station)("plan", "--week", "2026-W99")
    assert (english.code, english.err.strip()) == (2, "--week: 2026 has no week 99")
    vietnamese = Cli(bare_station, {"LANGUAGE": "vi"})("plan", "--week", "2026-W99")
    assert (vietnamese.code, vietnamese.err.strip()) == (2, "--week: năm 2026 không có tuần 99")
