"""Is an upper-case token a Vietnamese word ("HOẠCH") or an abbreviation ("HĐND")?

Headings are typed in capitals ("KẾ HOẠCH", "TM. ỦY BAN NHÂN DÂN"); those words
must be read as words, not spelled. A token that fits Vietnamese syllable
structure (onset + vowel nucleus + optional coda) is a word; one that does not
(no vowel, impossible clusters) is an abbreviation.
"""

from __future__ import annotations

import re
import unicodedata

# Tone marks only; breve, circumflex and horn change the letter and are kept.
_TONE_MARKS = frozenset({"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"})

_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x)?"
_VOWELS = "aăâeêioôơuưy"
_STRICT = re.compile(rf"{_ONSET}[{_VOWELS}]{{1,3}}(?:ch|nh|ng|c|m|n|p|t)?")
# Looser shape for capitalised headings, which also carry minority-language
# place names ("ĐĂK PXI") that break the Kinh syllable rules.
_CONS = "bcdđghklmnpqrstvxfjwz"
_LOOSE = re.compile(rf"[{_CONS}]{{0,3}}[{_VOWELS}]{{1,3}}[{_CONS}]{{0,2}}")


def strip_tones(word: str) -> str:
    """Lowercase ``word`` and drop the five tone marks (keeps ă, â, ê, ô, ơ, ư, đ)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))


def is_syllable(word: str) -> bool:
    """True if ``word`` (any case) has the shape of one Vietnamese syllable."""
    return _STRICT.fullmatch(strip_tones(word)) is not None


def is_loose_syllable(word: str) -> bool:
    """True if ``word`` is pronounceable as one syllable under relaxed rules."""
    return _LOOSE.fullmatch(strip_tones(word)) is not None
