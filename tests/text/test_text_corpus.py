"""Every case of corpus.tsv: written input → expected spoken text."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.text import Lexicon, normalize

HERE = Path(__file__).parent
CORPUS = HERE / "corpus.tsv"
STATION = HERE / "station_lexicon.yaml"


def _unescape(field: str) -> str:
    return field.replace("\\n", "\n")


def load_cases() -> list[tuple[int, str, str, dict[str, str]]]:
    cases = []
    header_seen = False
    for line_no, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if not header_seen:
            header_seen = True  # "input  expected  options"
            continue
        fields = line.split("\t")
        assert len(fields) in (2, 3), f"corpus.tsv:{line_no}: expected 2 or 3 tab-separated fields"
        options = dict(opt.split("=", 1) for opt in (fields[2].split() if len(fields) == 3 else []))
        cases.append((line_no, _unescape(fields[0]), _unescape(fields[1]), options))
    return cases


CASES = load_cases()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 200


@pytest.mark.parametrize(
    ("line_no", "written", "spoken", "options"), CASES, ids=[f"L{c[0]}" for c in CASES]
)
def test_case(line_no: int, written: str, spoken: str, options: dict[str, str]) -> None:
    lexicon = Lexicon.load(STATION) if options.get("lexicon") == "station" else None
    got = normalize(written, lexicon=lexicon, dialect=options.get("dialect", "north"))
    assert got == spoken, f"corpus.tsv:{line_no}"
