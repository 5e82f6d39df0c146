"""``broadcaster users`` and ``broadcaster audit``, end to end through the real executable."""

from __future__ import annotations

import getpass
import json
import sqlite3
from pathlib import Path

import pytest
from stationkit import Cli, rows, write_station

from broadcaster.app.actors import Actor
from broadcaster.app.audit import AuditTrail
from broadcaster.app.context import StationContext
from broadcaster.engine.clock import SystemClock

PASSWORD = "mật khẩu của chủ tịch 2026"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = write_station(tmp_path / "station")
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    (tmp_path / "short").write_text("ngan\n", encoding="utf-8")
    return root


def audit(cli: Cli, *args: str) -> list[dict]:
    result = cli("audit", *args, "--json", check=True)
    return json.loads(result.out)


def test_users_from_the_first_admin_to_a_disabled_operator(root: Path, tmp_path: Path):
    cli = Cli(root)
    pw = str(tmp_path / "pw")
    none = cli("users", "list", "--json", check=True)
    assert json.loads(none.out) == []
    added = cli("users", "add", "chu-tich", "--role", "quan-tri", "--password-file", pw, check=True)
    assert "chu-tich" in added.out
    cli(
        "users", "add", "hoa", "--role", "van-hanh,bao-cao", "--zone", "thon-a",
        "--full-name", "Lê Thị Hoa", "--password-file", pw, "--by", "Nguyễn Văn A", check=True,
    )  # fmt: skip
    listed = {u["name"]: u for u in json.loads(cli("users", "list", "--json", check=True).out)}
    assert listed["hoa"]["roles"] == ["bao-cao", "van-hanh"]
    assert listed["hoa"]["zones"] == ["thon-a"]
    assert listed["hoa"]["full_name"] == "Lê Thị Hoa"
    assert listed["chu-tich"]["roles"] == ["quan-tri"] and listed["chu-tich"]["zones"] is None

    roles = cli("users", "roles", "hoa", "--remove", "bao-cao", "--all-zones", "--json", check=True)
    assert json.loads(roles.out)["roles"] == ["van-hanh"]
    assert json.loads(roles.out)["zones"] is None
    cli("users", "disable", "hoa", check=True)
    assert json.loads(cli("users", "roles", "hoa", "--json", check=True).out)["disabled"] is True
    cli("users", "enable", "hoa", check=True)
    cli("users", "passwd", "hoa", "--password-file", pw, check=True)

    (hashed,) = rows(root, "SELECT password_hash FROM user_account WHERE name = 'hoa'")
    assert hashed[0].startswith("$argon2id$") and PASSWORD not in hashed[0]

    entries = audit(cli)
    me = f"cli:{getpass.getuser()}"
    assert [(e["action"], e["target"], e["result"]) for e in entries] == [
        ("users.add", "chu-tich", "ok"),
        ("users.add", "hoa", "ok"),
        ("users.roles", "hoa", "ok"),
        ("users.disable", "hoa", "ok"),
        ("users.enable", "hoa", "ok"),
        ("users.passwd", "hoa", "ok"),
    ]
    assert {e["actor"] for e in entries} == {me}
    assert entries[1]["by"] == "Nguyễn Văn A" and entries[1]["face"] == "cli"
    assert [e["target"] for e in audit(cli, "--user", "Nguyễn Văn A")] == ["hoa"]
    assert audit(cli, "--from", "2026-11-23") == []  # the test's clock says 2026-11-22
    assert len(audit(cli, "--from", "2026-11-22", "--to", "2026-11-22")) == 6
    verified = cli("audit", "verify", check=True)
    assert "6" in verified.out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--role", "quan-tri", "--password-file", "{short}"], 1, "too short"),
        (["--role", "chu-tich", "--password-file", "{pw}"], 1, "'chu-tich' is not a role"),
        (["--role", "van-hanh", "--zone", "thon-z", "--password-file", "{pw}"], 1, "thon-z"),
        (["--role", "quan-tri", "--password-file", "{missing}"], 1, "password file"),
        (["--role", "quan-tri"], 2, "--password-file"),  # no terminal to ask on
    ],
)
def test_a_bad_user_add_is_one_line_and_writes_nothing(
    root: Path, tmp_path: Path, args: list[str], code: int, message: str
):
    names = {"short": tmp_path / "short", "pw": tmp_path / "pw", "missing": tmp_path / "nope"}
    result = Cli(root)("users", "add", "lan", *[a.format(**names) for a in args])
    assert result.code == code, result.err
    assert message in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    if (root / "station.db").exists():
        assert rows(root, "SELECT count(*) FROM user_account")[0][0] == 0


def test_there_is_no_default_account(root: Path):
    Cli(root)("users", "list", check=True)
    assert rows(root, "SELECT count(*) FROM user_account")[0][0] == 0


def seed(root: Path, n: int = 4) -> None:
    ctx = StationContext.open(root, clock=SystemClock.from_env())
    trail = AuditTrail(ctx.db, ctx.clock)
    for i in range(n):
        trail.record(Actor.local_cli(os_user="canbo"), "settings.edit", f"s{i}", "ok", f"d{i}")
    report = trail.verify()
    assert report.ok and report.count == n
    ctx.close()


TAMPERING = {
    "edited": (["UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2"], "edited"),
    "deleted": (["DELETE FROM audit_log WHERE seq = 2"], "deleted"),
    "reordered": (
        [
            "UPDATE audit_log SET seq = 100 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 100",
        ],
        "does not follow",
    ),
    "cut off": (["DELETE FROM audit_log WHERE seq = 4"], "truncated"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_audit_verify_catches_tampering(root: Path, how: str):
    seed(root)
    cli = Cli(root)
    statements, expected = TAMPERING[how]
    with sqlite3.connect(root / "station.db") as conn:
        for sql in statements:
            conn.execute(sql)
    result = cli("audit", "verify")
    assert result.code == 1
    assert expected in result.out and "TAMPERED" in result.out
