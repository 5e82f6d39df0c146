"""Remove document and Markdown markup from one line, keeping sentence punctuation.

Officers paste from Word and Markdown: bullets, "2.1." numbering, "## " headings,
"**bold**", Word bookmarks, table pipes. None of it is meant to be heard, but
commas and full stops are, because the TTS engine pauses on them.
"""

from __future__ import annotations

import re

_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]", re.IGNORECASE)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]*\)")
_EMPHASIS = re.compile(r"\*\*|__|`+|~~")
_STARS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_HEADING = re.compile(r"^\s*#{1,6}(?:\s+|$)")
_QUOTE = re.compile(r"^\s*>\s+")
_RULE = re.compile(r"^\s*([-*_=])(?:\s*\1){2,}\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?[\s:|-]*-[\s:|-]*\|?\s*$")
_BULLET = re.compile(r"^\s*(?:[-–—+*](?:\s+|(?=[^\W\d_]))|[•●○◦▪▫■□·➢➤►▶✓✔❖\uf0b7\uf0a7\uf0d8]\s*)")
_NUMBERING = re.compile(
    r"^\s*(?:"
    r"(?:[IVX]+|\d{1,2}(?:\.\d{1,2})*)[.)/]"  # "I.", "2.", "2.1.", "1)", "1/"
    r"|\(\d{1,2}\)"  # "(1)"
    r"|\(?[a-zđ]\)|[a-zđ]\."  # "a)", "đ)", "(b)", "a."
    r")(?:\s+|$)"
)
# "2.1 Hình thức ..." (no final dot) counts as numbering only before a capital.
_SECTION_NO_DOT = re.compile(r"^\s*\d{1,2}(?:\.\d{1,2})+\s+(?=[^\W\d_])")
_BRACES = re.compile(r"[{}]")
_SPACES = re.compile(
    r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]"
)
# Only a line starting like this can carry a heading, bullet, rule or numbering.
_MARKER_START = re.compile(
    r"\s*(?:[#>\-–—_=+*•●○◦▪▫■□·➢➤►▶✓✔❖\uf0b7\uf0a7\uf0d8(\d]|[IVX]+[.)]|[a-zđ][.)])"
)


def strip_markup(line: str) -> str:
    """Return ``line`` without bullets, numbering, headings and inline markup.

    The line structure is the caller's business: this never adds or removes
    line breaks.
    """
    line = _SPACES.sub(" ", line).strip()
    if not line:
        return ""
    if line[0] == "|" and line[-1] == "|":
        if _TABLE_SEP.match(line):
            return ""
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        line = ", ".join(cell for cell in cells if cell)
    # Cheap membership tests first: most lines carry no markup at all.
    if "[" in line:
        line = _BOOKMARK.sub("", line)
        line = _MD_IMAGE.sub(r"\1", line)
        line = _MD_LINK.sub(r"\1", line)
    if "*" in line or "_" in line or "`" in line or "~" in line:
        line = _EMPHASIS.sub("", line)
        line = _STARS.sub(r"\1", line)
    if _MARKER_START.match(line):
        if _RULE.match(line):
            return ""
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        for _ in range(3):  # "- a) ..." and "### 1.3. ..." stack markers
            before = line
            line = _BULLET.sub("", line)
            line = _NUMBERING.sub("", line)
            line = _SECTION_NO_DOT.sub("", line)
            if line == before:
                break
    if "{" in line or "}" in line:
        line = _BRACES.sub("", line)
    return line.strip()
