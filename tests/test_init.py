"""``broadcaster init DIR``: a new station folder that ``check`` accepts at once, made all
or nothing (issue 14: "a new, empty station folder for the same purpose on the command
line")."""

from __future__ import annotations

import json
from pathlib import Path

from stationkit import Cli

from broadcaster.app.new_station import slug_of


def test_a_new_station_passes_check_and_plans_an_empty_week(tmp_path: Path):
    cli = Cli(tmp_path / "xa-moi")
    made = cli("init", str(cli.root), "--name", "Đài truyền thanh xã Mường Lống", "--json")
    assert made.code == 0, made.err
    answer = json.loads(made.out)
    assert answer["id"] == "xa-muong-long"
    assert "schedules/station.yaml" in answer["files"]
    text = (cli.root / "schedules" / "station.yaml").read_text(encoding="utf-8")
    assert 'name: "Đài truyền thanh xã Mường Lống"' in text and text.startswith("#")
    assert (cli.root / "scripts").is_dir() and not list((cli.root / "scripts").glob("*.md"))
    check = cli("check", "--json", check=True)
    assert json.loads(check.out)["ok"] is True
    plan = cli("plan", "--week", "2026-W48", "--json", check=True)
    assert json.loads(plan.out)["created"] == []  # nothing to air yet, and no error


def test_a_folder_that_is_not_empty_is_left_alone(tmp_path: Path):
    target = tmp_path / "station"
    target.mkdir()
    (target / "notes.txt").write_text("giữ nguyên", encoding="utf-8")
    r = Cli(tmp_path)("init", str(target), "--name", "Đài xã A")
    assert r.code == 2 and "not empty" in r.err and "Traceback" not in r.err
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_bad_values_name_their_option_and_leave_nothing(tmp_path: Path):
    cli = Cli(tmp_path)
    for args, option in (
        (("--name", "Đài xã A", "--timezone", "Mars/Base"), "--timezone:"),
        (("--name", "Đài xã A", "--id", "Xã A"), "--id:"),
        (("--name", "  "), "--name:"),
        (("--name", "Đài\nxã"), "--name:"),
    ):
        r = cli("init", str(tmp_path / "new"), *args)
        assert r.code == 2 and r.err.startswith(option), (args, r.err)
        assert len(r.err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no folder, no staging left


def test_an_empty_existing_folder_becomes_the_station(tmp_path: Path):
    target = tmp_path / "empty"
    target.mkdir()
    cli = Cli(target)
    cli("init", str(target), "--name", "Đài truyền thanh phường Hạ Long", check=True)
    assert (target / "schedules" / "station.yaml").is_file()
    assert cli("check").code == 0


def test_ids_from_vietnamese_names():
    assert slug_of("Đài truyền thanh xã Tân Kỳ") == "xa-tan-ky"
    assert slug_of("Phường Hạ Long") == "phuong-ha-long"
    assert slug_of("Đài truyền thanh") == "dai-truyen-thanh"
    assert slug_of("Xã Ea H'leo") == "xa-ea-h-leo"
