"""Shared fixtures: a small real station (3 zones, short bulletins rendered once with
espeak-ng), copied fresh for each test, and a way to run the CLI in-process or as the
real ``broadcaster`` executable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "broadcaster"

STATION_YAML = """\
station:
  id: test-xa
  name: Đài truyền thanh xã Thử Nghiệm
  timezone: Asia/Ho_Chi_Minh
  tts: [espeak]
  grace_minutes: 20
quiet_hours:
  - {start: "21:30", end: "05:00"}
outputs:
  files: {type: file, dir: out}
zones:
  - {id: xa, name: Đài xã, kind: station, output: files}
  - {id: thon-a, name: Cụm loa thôn A, kind: cluster, output: files}
  - {id: thon-b, name: Cụm loa thôn B, kind: cluster, output: files}
sessions:
  - {id: sang, zones: all, days: [mon, tue, wed, thu, fri, sat, sun], start: "06:00", max_minutes: 10}
  - {id: chieu, zones: all, days: [mon, tue, wed, thu, fri, sat, sun], start: "17:00", max_minutes: 10}
requirements:
  - id: nq57-tuan
    title: Tuyên truyền Nghị quyết 57 tối thiểu 02 lần/tuần
    campaign: nq57
    min: 2
    per: week
    zones: all
"""

SCRIPTS = {
    "nq57-mot": ("normal", "nq57", "Nghị quyết 57 về khoa học và công nghệ.", "all"),
    "nq57-hai": ("normal", "nq57", "Bà con hãy cài đặt ứng dụng định danh điện tử.", "all"),
    "nq57-ba": ("normal", "nq57", "Thanh toán không dùng tiền mặt an toàn.", "all"),
    "lua-dao": ("priority", "nq57", "Cảnh giác với cuộc gọi lừa đảo.", "all"),
    "bao-lu": ("emergency", "canh-bao", "Bão sắp đổ bộ, bà con chằng chống nhà cửa.", "all"),
}


def script_text(bulletin_id: str, priority: str, campaign: str, body: str, zones: str) -> str:
    return (
        f"---\nid: {bulletin_id}\ntitle: Bản tin {bulletin_id}\ncampaign: {campaign}\n"
        f"priority: {priority}\nvalid_from: 2026-01-01\nvalid_until: 2027-12-31\n"
        f"zones: {zones}\nlanguage: vi\n---\n{body}\n"
    )


def write_station(root: Path) -> Path:
    (root / "schedules").mkdir(parents=True, exist_ok=True)
    (root / "scripts").mkdir(exist_ok=True)
    (root / "schedules" / "station.yaml").write_text(STATION_YAML, encoding="utf-8")
    for bid, (prio, camp, body, zones) in SCRIPTS.items():
        (root / "scripts" / f"{bid}.md").write_text(
            script_text(bid, prio, camp, body, zones), encoding="utf-8"
        )
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """Runs ``broadcaster`` against one station directory."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})

    def __call__(self, *args: str, check: bool = False) -> Result:
        return self.subprocess(*args, check=check)

    def subprocess(self, *args: str, check: bool = False, timeout: float = 120) -> Result:
        env = {**os.environ, "BROADCASTER_STATION": str(self.root), **self.env}
        env.pop("BROADCASTER_DB", None)
        proc = subprocess.run(
            [str(BIN), *args], capture_output=True, text=True, env=env, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"broadcaster {' '.join(args)} -> {proc.returncode}\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "BROADCASTER_STATION": str(self.root), **self.env}
        return subprocess.Popen(
            [str(BIN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, stdin=subprocess.DEVNULL,
        )


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
    return root
