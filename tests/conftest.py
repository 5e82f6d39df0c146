"""Fixtures: the small station rendered once per session and copied for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from stationkit import REPO, SCRIPTS, Cli, write_station


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
