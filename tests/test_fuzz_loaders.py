"""Fuzzing the loaders (Hypothesis): whatever the file says, the answer is a value or a
located problem, never another exception, and loading writes nothing.

Budgets are small (``make test`` runs them every time: a few seconds each); the example
strategies start from the real files and break them (YAML fragments, aliases, control
characters, very long and very deep values), which finds far more than random text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stationkit import STATION_YAML, script_text, write_station

from broadcaster.app.context import load_config
from broadcaster.config.scripts_loader import load_script
from broadcaster.config.station_loader import load_station
from broadcaster.config.yamlmarks import YamlSyntaxError, load_with_lines
from broadcaster.core.errors import ConfigErrors
from broadcaster.playout.base import output_types
from broadcaster.speech.engines import available_engines
from broadcaster.text import Lexicon, LexiconError

FUZZ = settings(
    max_examples=int(os.environ.get("BROADCASTER_FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Pieces that have broken YAML loaders: aliases, merges, tags, odd scalars, deep nesting.
FRAGMENTS = [
    "&a [*a]",
    "*nowhere",
    "<<: *x",
    "!!python/object/apply:os.system ['true']",
    "!!binary AAAA",
    "? [a, b]\n: c",
    "1" * 5000,
    "0x" + "f" * 80,
    "1e99999",
    "-.inf",
    "[" * 200 + "]" * 200,
    "{a: 1, a: 2}",
    "'\x00'",
    '"\\x1b[2J"',
    "~",
    "- - - -",
    "2026-02-30",
    "25:61",
    "\t",
    "\ufeff",
    "%YAML 1.1",
    "--- !!set {a, b}",
]

fragment = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40))


def mutate(base: str, data: st.DataObject) -> str:
    """The base text with a few fragments spliced in at line starts or after colons."""
    text = base
    for _ in range(data.draw(st.integers(1, 4))):
        lines = text.split("\n")
        i = data.draw(st.integers(0, len(lines) - 1))
        piece = data.draw(fragment)
        where = data.draw(st.sampled_from(["replace-value", "insert-line", "append"]))
        if where == "replace-value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {piece}"
        elif where == "insert-line":
            lines.insert(i, piece)
        else:
            lines[i] += piece
        text = "\n".join(lines)
    return text


def known() -> tuple[set[str], dict]:
    return set(output_types()), {n: c.Settings for n, c in available_engines().items()}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def fuzz_station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_station(tmp_path_factory.mktemp("fuzz"))


@FUZZ
@given(data=st.data())
def test_any_station_yaml_loads_or_is_located(fuzz_station: Path, data: st.DataObject) -> None:
    text = data.draw(st.one_of(st.text(max_size=300), st.just(STATION_YAML).map(str)))
    if data.draw(st.booleans()):
        text = mutate(STATION_YAML, data)
    (fuzz_station / "schedules" / "station.yaml").write_text(text, encoding="utf-8")
    before = tree(fuzz_station)
    outputs, engines = known()
    try:
        load_station(fuzz_station, outputs, engines)
    except ConfigErrors as exc:
        assert exc.problems, "ConfigErrors without a problem"
        for p in exc.problems:
            assert p.path == "schedules/station.yaml", p
            assert "\n" not in p.message, p
    assert tree(fuzz_station) == before


@FUZZ
@given(data=st.data())
def test_any_script_loads_or_is_located(fuzz_station: Path, data: st.DataObject) -> None:
    (fuzz_station / "schedules" / "station.yaml").write_text(STATION_YAML, encoding="utf-8")
    station = load_config(fuzz_station)
    base = script_text("mo", "normal", "nq57", "Bà con chú ý.", "all")
    text = mutate(base, data) if data.draw(st.booleans()) else data.draw(st.text(max_size=300))
    path = fuzz_station / "scripts" / "mo.md"
    path.write_text(text, encoding="utf-8")
    before = tree(fuzz_station)
    bulletin, problems = load_script(path, fuzz_station, station)
    assert (bulletin is None) == bool(problems)
    for p in problems:
        assert p.path == "scripts/mo.md" and "\n" not in p.message, p
    assert tree(fuzz_station) == before


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=400), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    )
)
def test_any_yaml_text_is_data_or_a_located_error(text: str) -> None:
    try:
        load_with_lines(text)
    except YamlSyntaxError as exc:
        assert exc.message and "\n" not in exc.message


@FUZZ
@given(data=st.data())
def test_any_lexicon_is_a_lexicon_or_a_lexicon_error(tmp_path: Path, data: st.DataObject) -> None:
    base = "entries:\n  HTX: hợp tác xã\ncodes:\n  KH: kế hoạch\n"
    path = tmp_path / "lexicon.yaml"
    path.write_text(mutate(base, data), encoding="utf-8")
    try:
        Lexicon.load(path)
    except LexiconError as exc:
        assert "\n" not in str(exc)
