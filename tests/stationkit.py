"""Test kit: a small real station (3 zones, short bulletins) and a runner for the real
``broadcaster`` executable, plus readers for a station's database and output folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from forkkit import ForkServer

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "broadcaster"

#: Short commands run as forks of one warm process (tests/forkkit.py); TESTS_REAL_CLI=1
#: runs every command through the real executable instead.
FORK_SERVER = ForkServer(BIN)
REAL_CLI = os.environ.get("TESTS_REAL_CLI", "") not in ("", "0")

# The station block every test station shares; each adds its zones, sessions and rules.
STATION_HEAD = """\
station:
  id: test-xa
  name: Đài truyền thanh xã Thử Nghiệm
  timezone: Asia/Ho_Chi_Minh
  tts: [espeak]
  grace_minutes: 20
  fill: minimum  # these tests count the guaranteed airings; fill: rotate has its own tests
quiet_hours:
  - {start: "21:30", end: "05:00"}
outputs:
  files: {type: file, dir: out}
"""

STATION_YAML = (
    STATION_HEAD
    + """\
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
)

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
        # Tests live in late November 2026 whatever the date they run on.
        self.env = {"BROADCASTER_NOW": "2026-11-22T12:00:00+07:00", **(env or {})}

    def __call__(self, *args: str, check: bool = False) -> Result:
        return self.subprocess(*args, check=check)

    # The time limit only guards against a hang: on a loaded shared machine a plain
    # `render` of the small station took over 120 s (issue 11), so it is generous.
    def subprocess(
        self, *args: str, check: bool = False, timeout: float = 900, real: bool = False
    ) -> Result:
        """Run one command to its end. It is a fork of the tests' warm CLI process
        (tests/forkkit.py) unless ``real`` (the installed executable started afresh, for
        tests about start-up itself) or its environment needs a fresh process."""
        env = self._env()
        if real or REAL_CLI or not FORK_SERVER.accepts(env):
            proc = subprocess.run(
                [str(BIN), *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        else:
            proc = FORK_SERVER.run(list(args), env, timeout)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"broadcaster {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return result

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "BROADCASTER_STATION": str(self.root), "LANGUAGE": "en", **self.env}
        env.pop("BROADCASTER_DB", None)
        if "BROADCASTER_CLOCK_OFFSET" in os.environ and "BROADCASTER_CLOCK_OFFSET" not in self.env:
            env.pop("BROADCASTER_CLOCK_OFFSET")
        return env

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = self._env()
        return subprocess.Popen(
            [str(BIN), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )


VN = ZoneInfo("Asia/Ho_Chi_Minh")


def db(root: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(root / "station.db")
    conn.row_factory = sqlite3.Row
    return conn


def rows(root: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    with db(root) as conn:
        return list(conn.execute(sql, params))


def played(root: Path, out: str = "out") -> list[dict]:
    """Every 'started' record of every zone's manifest: what reached an output."""
    found = []
    for manifest in sorted((root / out).glob("*/manifest.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["event"] == "started":
                found.append({**record, "zone": manifest.parent.name})
    return found


def offset_to(local: str) -> str:
    """BROADCASTER_CLOCK_OFFSET making 'now' the given local wall time."""
    target = datetime.fromisoformat(local).replace(tzinfo=VN)
    return str((target - datetime.now(UTC)).total_seconds())


WEEK_48_MONDAY = datetime(2026, 11, 23)


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """Local wall time on day ``day`` of 2026-W48 (0 = Monday), as an aware UTC instant."""
    local = WEEK_48_MONDAY.replace(hour=hh, minute=mm, second=ss, tzinfo=VN)
    return (local + timedelta(days=day)).astimezone(UTC)
