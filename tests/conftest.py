"""Fixtures: the small station rendered once per session and copied for each test; and
a check at the end of the session that no test left a process behind."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
from pathlib import Path

import pytest

# The tests assert English messages: they ask for English as a user would, before
# broadcaster.i18n is imported (tests/test_catalogue.py asks for the other languages).
os.environ["LANGUAGE"] = "en"

from prockit import survivors
from stationkit import FORK_SERVER, REPO, SCRIPTS, Cli, write_station

#: What the xdist workers reported left behind (in the controlling process).
_LEFT_BY_WORKERS: list[str] = []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any child process of pytest survives it (a daemon, a broker, a
    fork server...): a suite that leaves processes behind eats a shared machine. They are
    named, then stopped. The tests' own fork server (tests/forkkit.py) is stopped first.

    Under pytest-xdist each worker checks its own children and hands what it found to
    the controlling process (``workeroutput``), which names them, checks its own (the
    workers, once they have exited) and fails the run."""
    FORK_SERVER.stop()
    left = survivors()
    for pid, _cmd in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    lines = [f"  pid {pid}: {cmd}" for pid, cmd in left]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller reports
        workeroutput["survivors"] = lines
    else:
        lines = [*_LEFT_BY_WORKERS, *lines]
    if not lines:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "\n".join(["processes the tests left behind:", *lines])
    if reporter is not None:
        reporter.write_line(message, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist (controller): collect what a finished worker found left behind."""
    found = getattr(node, "workeroutput", {}).get("survivors", [])
    worker = getattr(node, "gateway", None)
    name = getattr(worker, "id", "worker")
    _LEFT_BY_WORKERS.extend(f"{line} (on {name})" for line in found)


#: The longest tests (a minute or more each on a loaded 2-core machine) start first, so
#: that under pytest-xdist the run does not end waiting on one of them alone.
LONGEST_FIRST = (
    "tests/test_benches.py",
    "tests/test_programme.py",
    "tests/test_cli_flow.py::test_demo_on_the_sample_commune",
    "tests/test_plan_bench.py",
    "tests/test_daemon.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest tests first (the order is otherwise the files' own). ``make test``
    runs them with pytest-xdist's ``--dist load``: module-scoped fixtures are then built
    on each worker that runs a test of that module (xdist 3.8's ``loadgroup`` would keep
    them on one, but its groups are lost under pytest 9.2: items' ids are no longer
    ``_nodeid``)."""
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))


def _render_template(root: Path) -> Path:
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.fail("espeak-ng and ffmpeg are required (make test installs them)")
    write_station(root)
    cli = Cli(root)
    cli("render", check=True)
    for bid in SCRIPTS:
        cli("approve", bid, "--by", "Chủ tịch UBND xã", check=True)
    return root


@pytest.fixture(scope="session")
def rendered_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small station, rendered and approved once per test run: under pytest-xdist
    the first worker to need it renders it into the run's shared temporary folder while
    the others wait on a lock, then all copy it (tests never write into it)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _render_template(tmp_path_factory.mktemp("template"))
    shared = tmp_path_factory.getbasetemp().parent / "template"
    done = shared.parent / "template.rendered"
    with open(shared.parent / "template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                if shared.exists():
                    shutil.rmtree(shared)  # a worker that failed half-way
                _render_template(shared)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return shared


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
