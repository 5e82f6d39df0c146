"""Fuzzing the command line (Hypothesis): any argument the operator types is accepted or
refused with exit 1 or 2 and a short message, never a traceback or an 'internal error',
and a refusal writes nothing (no database appears, the station's files are unchanged).

The CLI runs in-process (``cli.app.run``, what the ``broadcaster`` executable calls) so a
few hundred argument lists cost seconds; the parsers behind them are fuzzed directly too.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stationkit import write_station

from broadcaster.cli import app as cli_app
from broadcaster.core.errors import UsageProblem
from broadcaster.core.timeutil import parse_local_date, parse_local_datetime, parse_week
from broadcaster.reports.period import parse_period

FUZZ = settings(
    max_examples=int(os.environ.get("BROADCASTER_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
VN = ZoneInfo("Asia/Ho_Chi_Minh")

weeks = st.one_of(
    st.text(max_size=12),
    st.builds(lambda y, w: f"{y:04d}-W{w:02d}", st.integers(0, 9999), st.integers(0, 99)),
)
days = st.one_of(
    st.text(max_size=12),
    st.dates().map(lambda d: d.isoformat()),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", *(st.integers(0, n) for n in (9999, 19, 39))
    ),
)
instants = st.one_of(
    st.text(max_size=20),
    st.datetimes().map(lambda t: t.strftime("%Y-%m-%d %H:%M")),
)
names = st.one_of(st.text(max_size=30), st.text(min_size=190, max_size=260))
ids = st.one_of(st.text(max_size=20), st.integers().map(str), st.just("9" * 30))
periods = st.one_of(
    st.text(max_size=12),
    st.builds(lambda y, q: f"{y}-Q{q}", st.integers(-5, 99999), st.integers(-1, 9)),
    st.builds(lambda y, h: f"{y}-H{h}", st.integers(0, 99999), st.integers(-1, 4)),
    st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(0, 99999), st.integers(0, 99)),
    st.integers(-10, 100000).map(str),
)


@contextlib.contextmanager
def environment(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if not p.name.startswith("station.db")
    }


def call(root: Path, *argv: str) -> tuple[int, str]:
    """The CLI in-process; returns the exit code and everything it printed."""
    said = io.StringIO()
    with (
        environment(BROADCASTER_NOW="2026-11-20T08:00+07:00", BROADCASTER_STATION=str(root)),
        contextlib.redirect_stderr(said),
        contextlib.redirect_stdout(said),
    ):
        code = cli_app.run(["--station", str(root), *argv])
    return code, said.getvalue()


def assert_rule(root: Path, *argv: str) -> None:
    db_before = (root / "station.db").exists()
    before = tree(root)
    code, said = call(root, *argv)
    assert code in (0, 1, 2), (argv, code, said)
    assert "Traceback" not in said and "internal error" not in said, (argv, said)
    if code != 0:
        assert (root / "station.db").exists() == db_before or argv[0] in ("status", "log"), argv
        assert tree(root) == before, argv


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_station(tmp_path_factory.mktemp("fuzzcli"))


@FUZZ
@given(week=weeks)
def test_week_options(root: Path, week: str) -> None:
    assert_rule(root, "status", "--week", week)
    assert_rule(root, "plan", "--week", week + "x")  # never a valid week: refused


@FUZZ
@given(first=days, last=days)
def test_simulate_and_log_days(root: Path, first: str, last: str) -> None:
    assert_rule(root, "log", "--from", first, "--to", last)
    # simulate is only parsed here: a valid range would run the engine
    assert_rule(root, "simulate", "--from", first, "--to", last, "--fail", "nowhere@x/y")


@FUZZ
@given(bulletin=ids, zone=st.text(max_size=10), at=instants, by=names)
def test_queue_arguments(root: Path, bulletin: str, zone: str, at: str, by: str) -> None:
    assert_rule(root, "queue", bulletin, "--zone", zone, "--at", at, "--by", by)


@FUZZ
@given(airing=ids, by=names)
def test_cancel_and_approve_arguments(root: Path, airing: str, by: str) -> None:
    assert_rule(root, "cancel", airing, "--by", by)
    assert_rule(root, "approve", airing, "--by", by)


@FUZZ
@given(period=periods, zones=st.text(max_size=20))
def test_report_arguments(root: Path, tmp_path_factory, period: str, zones: str) -> None:
    out = tmp_path_factory.mktemp("rep") / "r.json"
    assert_rule(
        root, "report", "--period", period, "--zones", zones + ",khong-co", "--out", str(out)
    )


@FUZZ
@given(
    offset=st.one_of(st.text(max_size=12), st.floats().map(repr)).filter(lambda t: "\x00" not in t),
    now=instants.filter(lambda t: "\x00" not in t),  # an environment cannot hold a NUL
)
def test_clock_environment(root: Path, offset: str, now: str) -> None:
    for env in (
        {"BROADCASTER_CLOCK_OFFSET": offset},
        {"BROADCASTER_NOW": now.replace(" ", "T") + "+07:00"},
    ):
        said = io.StringIO()
        with environment(**env), contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            code = cli_app.run(["--station", str(root), "check"])
        assert code in (0, 1, 2), (env, said.getvalue())
        assert "Traceback" not in said.getvalue() and "internal error" not in said.getvalue()


@FUZZ
@given(week=weeks, first=days, at=instants, period=periods)
def test_parsers_answer_or_refuse(week: str, first: str, at: str, period: str) -> None:
    for parse in (
        lambda: parse_week(week),
        lambda: parse_local_date(first, "--from"),
        lambda: parse_local_datetime(at, VN),
        lambda: parse_period(period, None, None, VN),
        lambda: parse_period(None, first, first, VN),
    ):
        with contextlib.suppress(UsageProblem):
            parse()
