"""What the announcer reads: the title, then the body, normalised to spoken Vietnamese."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.core.errors import BroadcasterError
from broadcaster.core.model import Bulletin

# broadcaster.text (its compiled patterns and the built-in lexicon) is imported when text is
# first normalised, not when a command that never speaks imports this module (issue 15).
if TYPE_CHECKING:
    from broadcaster.text import Lexicon

LEXICON = Path("schedules") / "lexicon.yaml"


@lru_cache(maxsize=16)
def _lexicon(path: str, mtime_ns: int) -> Lexicon:
    from broadcaster.text import Lexicon, LexiconError

    try:
        return Lexicon.load(Path(path))
    except LexiconError as exc:
        raise BroadcasterError(exc.message, path=str(LEXICON), line=exc.line or None) from None


def station_lexicon(root: Path) -> Lexicon:
    """The built-in lexicon with the station's own entries on top (later ones win)."""
    from broadcaster.text import Lexicon

    path = root / LEXICON
    if path.is_file():
        return _lexicon(str(path), path.stat().st_mtime_ns)
    return Lexicon.builtin()


def normalized(text: str, root: Path, dialect: str = "north") -> str:
    from broadcaster.text import normalize

    return normalize(text, station_lexicon(root), dialect=dialect)


def spoken_text(bulletin: Bulletin, root: Path, dialect: str = "north") -> str:
    return normalized(f"{bulletin.title}.\n\n{bulletin.body}", root, dialect)
