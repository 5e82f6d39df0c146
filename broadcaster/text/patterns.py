"""The scanner's regular expressions, compiled once; one master pattern per lexicon.

Kept apart from the reading logic so that a Lexicon can build its own scanner
when it is created (and stay immutable afterwards) without importing the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from broadcaster.text import builtin


def _upper_class() -> str:
    chars = [chr(c) for r in ((0x41, 0x5B), (0xC0, 0x1B1), (0x1EA0, 0x1EFA)) for c in range(*r)]
    return "".join(re.escape(c) for c in chars if c.isupper())


UP = _upper_class()
START, END = "\x01", "\x02"  # wrap number-like readings for the range pass


_UNIT_SPACED_ALT = "|".join(
    re.escape(u) for u in sorted(builtin.UNITS_SPACED, key=len, reverse=True)
)
_UNIT_ATTACHED_ALT = "|".join(
    re.escape(u) for u in sorted(builtin.UNITS_ATTACHED, key=len, reverse=True)
)
_SLASH_UNIT_ALT = "|".join(re.escape(u) for u in sorted(builtin.SLASH_UNITS, key=len, reverse=True))

# URLs, e-mail addresses and bare domains ("dichvucong.gov.vn"); only tried on
# lines that contain a hint, since the e-mail pattern is costly to try everywhere.
URL = re.compile(
    r"(?:https?://|www\.)[^\s,;()<>]*[^\s,;()<>.]"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@.])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:vn|com|net|org|gov|edu|info)(?:\.vn)?(?:/[^\s,;()]*[^\s,;().])?(?![\w])"
)
URL_HINT = re.compile(r"@|://|www\.|\.(?:vn|com|net|org|gov|edu|info)\b")
# Where a master match can start: digits and capitals (as runs), and symbols.
# Scanning only these positions (instead of every character) keeps 1 MB under a second.
TRIGGER_CHARS = "/&~≥≤<>=(+-"
TRIGGER = re.compile(r"[\d" + UP + r"]+|[" + re.escape(TRIGGER_CHARS) + r"]")

FIXED_ALTERNATIVES = [
    # Document numbers: 57-NQ/TW, 1169/QĐ-TTg, 39/2020/TT-BTTTT, 05-QyĐ/TW, "Số: /KH-UBND".
    r"(?P<code>(?<![\w/])(?:(?P<c_num>\d+)(?:/(?P<c_year>\d{4}))?[-/]|/)"
    r"(?P<c_body>[" + UP + r"][a-z]?[" + UP + r"][\w]*(?:[-/&][" + UP + r"][\w]*)*)(?![\w]))",
    # Quý I/2026, quý 2/2025.
    r"(?P<quarter>(?<![\w])(?P<q_word>[Qq]uý|QUÝ)\s+(?P<q_n>IV|I{1,3}|[1-4])\s*/\s*(?P<q_year>\d{4})(?![\w]))",
    # A Roman numeral with a year: "quý IV/2026", "tháng XII/2025", "đợt II/2026".
    r"(?P<rperiod>(?<![\w/])(?P<rp_n>[IVX]+)\s*/\s*(?P<rp_y>\d{4})(?![\w/]|[.,]\d))",
    # 16-20/6, 16 – 20/6/2025.
    r"(?P<drange>(?<![\w/.,])(?P<dr_a>\d{1,2})\s*[-–]\s*(?P<dr_b>\d{1,2})/(?P<dr_m>\d{1,2})(?:/(?P<dr_y>\d{4}))?(?![\w/]))",
    # 2024-12-22 (ISO, as machines write it).
    r"(?P<iso>(?<![\w/.,-])(?P<i_y>\d{4})-(?P<i_m>\d{2})-(?P<i_d>\d{2})(?![\w/]|-\d))",
    # 22/12/2024, 22-12-2024, 22.12.2024.
    r"(?P<dmy>(?<![\w/.,])(?P<d_d>\d{1,2})(?P<d_sep>[/.-])(?P<d_m>\d{1,2})(?P=d_sep)(?P<d_y>\d{4})(?![\w/]))",
    # 17h30, 6h00, 14h, 17g30, 7:30, 7:30:15.
    r"(?P<time>(?<![\w/.,:])(?P<t_h>\d{1,2})"
    r"(?:h(?P<t_m>\d{2})?|g(?P<t_m3>\d{2})|:(?P<t_m2>\d{2})(?::(?P<t_s>\d{2}))?)'?(?![\w/]|:\d))",
    # Phone numbers and hotlines; validated by digit count in the handler.
    r"(?P<phone>(?<![\w.,+/])(?:(?:\+84|\(\+84\))[ .\-]?|0)\d{1,4}(?:[ .\-]\d{2,8}){1,4}"
    r"(?![\w/]|[.,]\d)"
    r"|(?<![\w.,/])(?:0\d{9,10}|\+84\d{9,10}|1[89]00[ .]?\d{2,4}(?:[ .]?\d{2,4})?)(?![\w/]|[.,]\d)"
    r"|\(0\d{2,3}\)[ .]?\d{3,4}[ .]?\d{3,4}(?![\w/]|[.,]\d))",
    # Coordinates: 17°30' (độ, phút).
    r"(?P<deg>(?<![\w.,])(?P<g_d>\d{1,3})°\s?(?P<g_m>\d{1,2})['′](?:\s?(?P<g_s>\d{1,2})(?:\"|″|''))?)",
    # a/b: date, month/year or fraction, decided from context.
    r"(?P<slash>(?<![\w/.,])(?P<s_a>\d{1,4})/(?P<s_b>\d{1,4})(?![\w/]|[.,]\d))",
    # Numbers: 1.500.000 / 85,5 / 2.1 / 2026, optionally followed by a unit.
    r"(?P<num>(?<![\w])(?P<n_neg>-(?=\d))?(?P<n_val>\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![\d.]|,\d)|\d+(?:\.\d+)+|\d+(?:,\d+)?)"
    r"(?:(?P<n_unit>"
    + _UNIT_ATTACHED_ALT
    + r")|\s?(?P<n_sunit>"
    + _UNIT_SPACED_ALT
    + r"))?(?![\w]))",
    # Version tags: v2.0, V1.2.3.
    r"(?P<ver>(?<![\w.])[vV](?P<v_num>\d+(?:\.\d+)+)(?![\w]|\.\d))",
    # Flood alert levels: BĐ1, BĐ 2, BĐIII ("báo động ba").
    r"(?P<alert>(?<![\w])BĐ ?(?P<al_n>III|II|I|\d)(?![\w]))",
    # Influenza strains: A/H5N1, A(H7N9), A/H1N1 ("A hát năm en một").
    r"(?P<flu>(?<![\w/])A(?:/(?P<f_sub>H\d{1,2}(?:N\d{1,2})?)|\s?\((?P<f_par>H\d{1,2}(?:N\d{1,2})?)\))(?![\w]))",
    # Roman numerals (only I, V, X: L, C, D, M are far more often letters).
    r"(?P<roman>(?<![\w])[IVX]+(?![\w]))",
    # "(UBND)" right after its own expansion is dropped; otherwise read.
    r"(?P<paren>\((?P<p_tok>(?=[\w&-]*[" + UP + r"])[^\W_](?:\w|[&\-](?=[^\W_]))*)\))",
    # Any token containing a capital: abbreviation, name, heading word.
    r"(?P<caps>(?<![\w])(?P<ct>(?=[\w&-]*["
    + UP
    + r"])[^\W_](?:\w|[&\-](?=[^\W_]))*)(?P<cd>\.(?=[ \t]*\S))?)",
    # word/unit: "đồng/kg", "%/năm".
    r"(?P<slashunit>(?<=[^\W\d_]|%)/(?P<su>" + _SLASH_UNIT_ALT + r")(?![\w]))",
    # word/word: "lần/tuần" → "mỗi", "Cổng/Trang" → "hoặc".
    r"(?P<slashword>(?<=[^\W\d_]|%)/(?=[^\W\d_]))",
    # Symbols that are words when spoken.
    r"(?P<sym>&|~|≥|≤|>=|<=|(?<=\s)[<>=](?=\s))",
]


@dataclass(frozen=True, slots=True)
class Scanner:
    """The scanner built for one lexicon (phrase entries become regex alternatives)."""

    master: re.Pattern[str]
    phrases: re.Pattern[str] | None  # phrases starting with a lowercase letter, run as a pre-pass


def phrase_pattern(keys: list[str]) -> str:
    """Alternation of literal phrases with word boundaries.

    The boundary check sits after the first character ("b(?<!\\wb)/c") so that
    every alternative starts with a literal: the regex engine then skips ahead
    with a first-character set instead of trying each phrase at every position.
    """
    parts = []
    for key in sorted(keys, key=len, reverse=True):
        first = re.escape(key[0])
        pat = first
        if key[0].isalnum() or key[0] == "_":
            pat += r"(?<!\w" + first + ")"
        pat += re.escape(key[1:])
        if key[-1].isalnum() or key[-1] == "_":
            pat += r"(?![\w])"
        parts.append(pat)
    return "|".join(parts)


def compile_scanner(phrases: Iterable[str]) -> Scanner:
    """Build the scanner for a lexicon whose phrase entries are ``phrases``."""
    keys = list(phrases)
    alternatives = list(FIXED_ALTERNATIVES)
    triggered = [k for k in keys if TRIGGER.match(k)]
    others = [k for k in keys if not TRIGGER.match(k)]
    if triggered:
        alternatives.insert(0, "(?P<phrase>" + phrase_pattern(triggered) + ")")
    return Scanner(
        master=re.compile("|".join(alternatives)),
        phrases=re.compile(phrase_pattern(others)) if others else None,
    )
