"""Fixtures: the small station rendered once per session and copied for each test; and
a check at the end of the session that no test left a process behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

import pytest

# The tests assert English messages: they ask for English as a user would, before
# broadcaster.i18n is imported (tests/test_catalogue.py asks for the other languages).
os.environ["LANGUAGE"] = "en"

from prockit import survivors
from stationkit import REPO, SCRIPTS, Cli, write_station


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any child process of pytest survives it (a daemon, a broker, a
    fork server...): a suite that leaves processes behind eats a shared machine. They are
    named, then stopped."""
    left = survivors()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"  pid {pid}: {cmd}" for pid, cmd in left]
    message = "\n".join(["processes the tests left behind:", *lines])
    if reporter is not None:
        reporter.write_line(message, red=True)
    for pid, _cmd in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def rendered_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small station, rendered and approved once per test session."""
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.fail("espeak-ng and ffmpeg are required (make test installs them)")
    root = write_station(tmp_path_factory.mktemp("template"))
    cli = Cli(root)
    cli("render", check=True)
    for bid in SCRIPTS:
        cli("approve", bid, "--by", "Chủ tịch UBND xã", check=True)
    return root


@pytest.fixture
def station(rendered_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the rendered, approved small station."""
    root = tmp_path / "station"
    shutil.copytree(rendered_template, root, ignore=shutil.ignore_patterns("*.lock", "out"))
    return root


@pytest.fixture
def cli(station: Path) -> Cli:
    return Cli(station)


@pytest.fixture
def bare_station(tmp_path: Path) -> Path:
    """The small station, not rendered (for config and render tests)."""
    return write_station(tmp_path / "bare")


@pytest.fixture
def sample_station(tmp_path: Path) -> Path:
    """A copy of the repository's own sample commune (schedules, scripts, recordings)."""
    root = tmp_path / "sample"
    root.mkdir()
    for part in ("schedules", "scripts"):
        shutil.copytree(REPO / part, root / part)
    shutil.copytree(REPO / "audio" / "recorded", root / "audio" / "recorded")
    shutil.copytree(REPO / "audio" / "jingles", root / "audio" / "jingles")
    return root
