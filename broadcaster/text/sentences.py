"""Sentence and paragraph boundaries for TTS chunking.

TTS engines sound best (and some only work) on one sentence at a time. Library
splitters were considered: underthesea's ``sent_tokenize`` pulls in
scikit-learn, NLTK and a native core for what is, on normalised broadcast text,
a punctuation rule; so the rule is written here, with the Vietnamese
abbreviations that end in a dot ("TP.", "ThS.") guarded.
"""

from __future__ import annotations

import re

# Split after . ! ? … (plus closing quotes/brackets) when the next sentence
# starts with a capital letter, a digit or an opening quote.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[^\W_a-zà-ỹđ])")
_ABBREV_END = re.compile(
    r"(?:^|[\s(])(?:TP|Tp|TX|TT|TM|KT|TL|TUQ|ThS|TS|PGS|GS|BS|KS|Q|P|St|Th\.S|[A-ZĐ])\.$"
)
_CLAUSE = re.compile(r"(?<=[;,:])\s+")


def _split_line(line: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(line):
        head = line[start : m.start()].rstrip('"”’)]')
        if _ABBREV_END.search(head):
            continue
        piece = line[start : m.start()].strip()
        if piece:
            sentences.append(piece)
        start = m.end()
    tail = line[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _limit(sentence: str, max_chars: int) -> list[str]:
    """Cut an over-long sentence at ; , : so no chunk exceeds ``max_chars`` where possible."""
    if len(sentence) <= max_chars:
        return [sentence]
    chunks: list[str] = []
    current = ""
    for clause in _CLAUSE.split(sentence):
        candidate = f"{current} {clause}" if current else clause
        if current and len(candidate) > max_chars:
            chunks.append(current)
            current = clause
        else:
            current = candidate
    if current:
        chunks.append(current)
    result: list[str] = []
    for chunk in chunks:  # still too long: fall back to word boundaries
        while len(chunk) > max_chars:
            cut = chunk.rfind(" ", 0, max_chars + 1)
            if cut <= 0:
                break
            result.append(chunk[:cut])
            chunk = chunk[cut + 1 :]
        result.append(chunk)
    return result


def split_sentences(text: str, *, max_chars: int | None = None) -> list[str]:
    """Split text into sentences; every line break is also a boundary (a paragraph).

    Empty lines produce nothing. With ``max_chars``, long sentences are further
    cut at clause punctuation, then at spaces, for engines with an input limit.
    """
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for sentence in _split_line(line.strip()):
            out.extend(_limit(sentence, max_chars) if max_chars else [sentence])
    return out
