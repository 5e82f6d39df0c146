"""Emergencies air only what was written as one, and every typed alert is its own text."""

from __future__ import annotations

from stationkit import Cli, played, rows


def test_a_normal_bulletin_is_refused_as_an_emergency(cli: Cli) -> None:
    r = cli("emergency", "nq57-mot", "--zones", "thon-a", "--by", "Trực ban")
    assert r.code != 0
    assert "not an emergency" in r.err and "--force" in r.err
    assert "Traceback" not in r.err
    assert rows(cli.root, "select * from airing where origin='emergency'") == []
    assert rows(cli.root, "select * from as_run_log") == []
    assert played(cli.root) == []


def test_forcing_a_normal_bulletin_is_logged_with_who_forced_it(cli: Cli) -> None:
    r = cli("emergency", "nq57-mot", "--zones", "thon-a", "--force", "--by", "Trực ban")
    assert r.code == 0, r.out + r.err
    (entry,) = rows(cli.root, "select * from as_run_log")
    assert entry["outcome"] == "aired" and entry["bulletin_id"] == "nq57-mot"
    assert entry["triggered_by"].startswith("emergency:Trực ban")
    assert "forced" in entry["triggered_by"] and "normal" in entry["triggered_by"]


def test_two_alerts_typed_in_the_same_second_each_air_their_own_text(cli: Cli) -> None:
    """Both commands start at the same pinned instant, so they share the second; each
    must write its own script and air exactly it on its own zone."""
    texts = {
        "thon-a": "Nước lũ lên nhanh ở thôn A, bà con di chuyển lên chỗ cao.",
        "thon-b": "Nguy cơ sạt lở đất ở thôn B, bà con rời khỏi sườn đồi.",
    }
    procs = {
        zone: cli.popen(
            "emergency", "--text", text, "--approved-by", "Chủ tịch UBND xã", "--zones", zone
        )
        for zone, text in texts.items()
    }
    for zone, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{zone}: {out}\n{err}"
    aired = rows(cli.root, "select * from as_run_log where outcome='aired'")
    assert sorted(a["zone_id"] for a in aired) == ["thon-a", "thon-b"]
    assert len({a["bulletin_id"] for a in aired}) == 2
    for entry in aired:
        script = (cli.root / "scripts" / f"{entry['bulletin_id']}.md").read_text("utf-8")
        assert texts[entry["zone_id"]] in script
        approved = rows(
            cli.root,
            "select audio_sha256 from approval where bulletin_id=?",
            entry["bulletin_id"],
        )
        assert [a["audio_sha256"] for a in approved] == [entry["audio_sha256"]]
    for start in played(cli.root):
        mine = [a for a in aired if a["zone_id"] == start["zone"]]
        assert mine and start["sha256"] == mine[0]["audio_sha256"]
