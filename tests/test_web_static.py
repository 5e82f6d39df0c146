"""The web station's own style sheets and templates are well formed: a brace lost in a
merge silently drops every rule after it (the emergency button shrank that way once)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[1] / "broadcaster" / "web"
SHEETS = sorted((WEB / "static").glob("*.css"))
FILES = [*SHEETS, *sorted((WEB / "templates").glob("*.html"))]


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.name)
def test_every_block_of_a_style_sheet_is_closed(sheet: Path):
    text = re.sub(
        r"/\*.*?\*/",
        lambda m: "\n" * m[0].count("\n"),  # keep the line numbers
        sheet.read_text(encoding="utf-8"),
        flags=re.S,
    )
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        # A rule written at the left margin belongs at the top level: an earlier block
        # left open would take it in, even if a later stray brace evens the count.
        if line.strip() and not line[0].isspace() and not line.startswith("}"):
            assert depth == 0, f"{sheet.name}:{number} is inside an unclosed block: {line}"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"{sheet.name}:{number}: a '}}' closes nothing"
    assert depth == 0, f"{sheet.name}: {depth} block(s) never closed"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_merge_marker_is_left(path: Path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"^(<{7}|={7}|>{7})( |$)", text, flags=re.M), path.name
