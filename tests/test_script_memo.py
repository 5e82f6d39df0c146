"""The scripts read once and kept while unchanged (every web page reads them): a script
changed, added, removed or broken, or a recorded bulletin's audio file replaced, is what
the next reading shows."""

from __future__ import annotations

import os
from pathlib import Path

from stationkit import script_text, write_station

from broadcaster.app.context import StationContext, load_config
from broadcaster.config.scripts_loader import ScriptMemo, load_scripts
from broadcaster.core.model import Station


def _titles(root: Path, station: Station, memo: ScriptMemo) -> dict[str, str]:
    bulletins, _problems = load_scripts(root, station, memo)
    return {b.id: b.title for b in bulletins}


def _rewrite(path: Path, text: str) -> None:
    """Written whole under another name and renamed over, as the pages write scripts."""
    tmp = path.with_suffix(".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_an_unchanged_script_is_not_read_again(tmp_path: Path) -> None:
    root = write_station(tmp_path / "st")
    station = load_config(root)
    memo = ScriptMemo()
    first, _ = load_scripts(root, station, memo)
    again, _ = load_scripts(root, station, memo)
    assert [b.id for b in again] == [b.id for b in first]
    assert all(a is b for a, b in zip(first, again, strict=True))  # kept, not parsed again
    fresh, _ = load_scripts(root, station)
    assert fresh == again  # and what was kept is what a reading finds


def test_a_changed_added_or_removed_script_shows_at_the_next_reading(tmp_path: Path) -> None:
    root = write_station(tmp_path / "st")
    station = load_config(root)
    memo = ScriptMemo()
    assert _titles(root, station, memo)["nq57-mot"] == "Bản tin nq57-mot"
    script = root / "scripts" / "nq57-mot.md"
    _rewrite(script, script.read_text(encoding="utf-8").replace("Bản tin nq57-mot", "Tin mới"))
    (root / "scripts" / "moi.md").write_text(
        script_text("moi", "normal", "nq57", "Một bản tin mới.", "all"), encoding="utf-8"
    )
    (root / "scripts" / "nq57-ba.md").unlink()
    titles = _titles(root, station, memo)
    assert titles["nq57-mot"] == "Tin mới"
    assert "moi" in titles and "nq57-ba" not in titles


def test_a_script_edited_in_place_with_the_same_size_is_read_again(tmp_path: Path) -> None:
    root = write_station(tmp_path / "st")
    station = load_config(root)
    memo = ScriptMemo()
    _titles(root, station, memo)
    script = root / "scripts" / "nq57-hai.md"
    before = script.stat()
    script.write_text(
        script.read_text(encoding="utf-8").replace("nq57-hai\ncampaign", "nq57-HAI\ncampaign"),
        encoding="utf-8",
    )
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert _titles(root, station, memo)["nq57-hai"] == "Bản tin nq57-HAI"


def test_a_broken_script_is_a_problem_each_time_until_fixed(tmp_path: Path) -> None:
    root = write_station(tmp_path / "st")
    station = load_config(root)
    memo = ScriptMemo()
    load_scripts(root, station, memo)
    script = root / "scripts" / "lua-dao.md"
    good = script.read_text(encoding="utf-8")
    _rewrite(script, good.replace("priority: priority", "priority: khẩn"))
    for _ in range(2):
        bulletins, problems = load_scripts(root, station, memo)
        assert "lua-dao" not in {b.id for b in bulletins}
        assert [p.field for p in problems if p.path == "scripts/lua-dao.md"] == ["priority"]
    _rewrite(script, good)
    bulletins, problems = load_scripts(root, station, memo)
    assert "lua-dao" in {b.id for b in bulletins} and not problems


def test_a_recorded_bulletins_audio_file_removed_is_a_problem_at_once(tmp_path: Path) -> None:
    root = write_station(tmp_path / "st")
    (root / "audio").mkdir()
    (root / "audio" / "loa.wav").write_bytes(b"RIFF0000WAVE")
    (root / "scripts" / "ghi-am.md").write_text(
        "---\nid: ghi-am\ntitle: Ghi âm\ncampaign: nq57\npriority: normal\n"
        "zones: all\nlanguage: vi\naudio: audio/loa.wav\n---\n",
        encoding="utf-8",
    )
    station = load_config(root)
    memo = ScriptMemo()
    assert "ghi-am" in {b.id for b in load_scripts(root, station, memo)[0]}
    (root / "audio" / "loa.wav").unlink()
    bulletins, problems = load_scripts(root, station, memo)
    assert "ghi-am" not in {b.id for b in bulletins}
    assert [p.field for p in problems] == ["audio"]


def test_the_station_context_keeps_its_scripts(tmp_path: Path) -> None:
    root = write_station(tmp_path / "st")
    ctx = StationContext.open(root)
    try:
        first = ctx.scripts()[0]
        assert all(a is b for a, b in zip(first, ctx.scripts()[0], strict=True))
    finally:
        ctx.close()
