"""What the announcer reads: the title, then the body, normalised to spoken Vietnamese."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from broadcaster.core.model import Bulletin
from broadcaster.text import Lexicon, normalize


@lru_cache(maxsize=16)
def _lexicon(path: str, mtime: float) -> Lexicon:
    return Lexicon.load(Path(path))


def station_lexicon(root: Path) -> Lexicon:
    path = root / "schedules" / "lexicon.yaml"
    if path.is_file():
        return _lexicon(str(path), path.stat().st_mtime)
    return Lexicon.builtin()


def spoken_text(bulletin: Bulletin, root: Path, dialect: str = "north") -> str:
    text = f"{bulletin.title}.\n\n{bulletin.body}"
    return normalize(text, station_lexicon(root), dialect=dialect)
