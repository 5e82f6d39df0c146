"""Vietnamese number reading: cardinals, decimals, digits, ordinals, months, Roman numerals.

Everything here is a pure function of its arguments. The dialect object carries
the few words on which northern and southern announcers differ, so callers never
branch on the dialect themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

DIGIT_WORDS: tuple[str, ...] = (
    "không",
    "một",
    "hai",
    "ba",
    "bốn",
    "năm",
    "sáu",
    "bảy",
    "tám",
    "chín",
)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The words that differ between northern and southern readings of numbers.

    Northern broadcast standard: 24 = "hai mươi tư", 105 = "một trăm linh năm",
    1000 = "một nghìn". Southern stations say "hai mươi bốn", "một trăm lẻ năm",
    "một ngàn". Everything else ("mốt", "lăm", "mười", "mươi") is shared.
    """

    name: str
    thousand: str
    zero_tens: str
    four_after_tens: str


NORTH = Dialect(name="north", thousand="nghìn", zero_tens="linh", four_after_tens="tư")
SOUTH = Dialect(name="south", thousand="ngàn", zero_tens="lẻ", four_after_tens="bốn")
DIALECTS: dict[str, Dialect] = {"north": NORTH, "south": SOUTH}


def get_dialect(name: str) -> Dialect:
    """Return the dialect called ``name`` ("north" or "south"); reject anything else.

    A typo in a station setting must fail loudly rather than silently fall back
    to northern readings on a southern station.
    """
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}: expected 'north' or 'south'") from None


def _units_after_tens(unit: int, dialect: Dialect) -> str:
    """Read the units digit that follows "mươi" (tens >= 2): mốt, tư/bốn, lăm."""
    if unit == 1:
        return "mốt"
    if unit == 4:
        return dialect.four_after_tens
    if unit == 5:
        return "lăm"
    return DIGIT_WORDS[unit]


def _read_triple(n: int, full: bool, dialect: Dialect) -> list[str]:
    """Read 0..999. ``full`` forces "không trăm"/"linh" because a higher group precedes.

    That is why 1005 is "một nghìn không trăm linh năm" while 5 alone is "năm".
    """
    hundreds, tens, unit = n // 100, (n // 10) % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if unit:
            if hundreds or full:
                words.append(dialect.zero_tens)
            words.append(DIGIT_WORDS[unit])
    elif tens == 1:
        words.append("mười")
        if unit == 5:
            words.append("lăm")
        elif unit:
            words.append(DIGIT_WORDS[unit])
    else:
        words += [DIGIT_WORDS[tens], "mươi"]
        if unit:
            words.append(_units_after_tens(unit, dialect))
    return words


def _read_below_billion(n: int, full: bool, dialect: Dialect) -> list[str]:
    """Read 0..999,999,999 as triples of triệu / nghìn / units, skipping empty groups."""
    groups = ((n // 1_000_000, "triệu"), ((n // 1000) % 1000, dialect.thousand), (n % 1000, ""))
    words: list[str] = []
    for value, scale in groups:
        if value == 0:
            continue
        words += _read_triple(value, full or bool(words), dialect)
        if scale:
            words.append(scale)
    return words


def read_int(n: int, dialect: Dialect = NORTH) -> str:
    """Read a non-negative integer the way a Vietnamese announcer says it.

    Groups above a billion recurse ("một nghìn tỷ"), which is how large budgets
    are read on air.
    """
    if n < 0:
        return "âm " + read_int(-n, dialect)
    if n == 0:
        return "không"
    words: list[str] = []
    billions, rest = divmod(n, 1_000_000_000)
    if billions:
        words += read_int(billions, dialect).split()
        words.append("tỷ")
    if rest:
        words += _read_below_billion(rest, bool(billions), dialect)
    return " ".join(words)


def read_digits(digits: str) -> str:
    """Read a digit string one digit at a time (phone numbers, codes, "Đề án 06")."""
    return " ".join(DIGIT_WORDS[int(ch)] for ch in digits if ch.isdigit())


def read_int_string(digits: str, dialect: Dialect = NORTH) -> str:
    """Read a written integer, deciding between a number and a digit string.

    "01" (as in "01 lần") is a count and reads "một"; a zero-led string of four or
    more digits ("0238") or a very long one (an ID number) is read digit by digit,
    because nobody says such strings as quantities.
    """
    if len(digits) >= 4 and digits[0] == "0":
        return read_digits(digits)
    if len(digits) > 12:
        return read_digits(digits)
    return read_int(int(digits), dialect)


def read_fraction_digits(digits: str, dialect: Dialect = NORTH) -> str:
    """Read the part after a decimal comma: "5" → "năm", "25" → "hai mươi lăm", "05" → "không năm".

    Announcers read short decimal parts as a number and fall back to digits when
    the part starts with zero or is long.
    """
    if digits[0] == "0" or len(digits) > 3:
        return read_digits(digits)
    return read_int(int(digits), dialect)


def read_decimal(integer: str, fraction: str | None, dialect: Dialect = NORTH) -> str:
    """Read "85,5" as "tám mươi lăm phẩy năm" (Vietnamese uses a decimal comma)."""
    text = read_int_string(integer, dialect)
    if fraction:
        text += " phẩy " + read_fraction_digits(fraction, dialect)
    return text


def read_ordinal(n: int, dialect: Dialect = NORTH) -> str:
    """Read the number after "thứ": 1 → "nhất", 4 → "tư", others as cardinals.

    "thứ tư" is the ordinal in both dialects ("thứ bốn" is never said).
    """
    if n == 1:
        return "nhất"
    if n == 4:
        return "tư"
    return read_int(n, dialect)


def read_month(n: int, dialect: Dialect = NORTH) -> str:
    """Read a month number: "tháng tư" in every dialect, otherwise the cardinal."""
    if n == 4:
        return "tư"
    return read_int(n, dialect)


_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_to_int(token: str) -> int | None:
    """Convert a well-formed Roman numeral to an int, or None if it is not one.

    The strict round-trip check rejects acronyms such as "IIV" or "VX".
    """
    if not token or any(ch not in _ROMAN_VALUES for ch in token):
        return None
    total = 0
    prev = 0
    for ch in reversed(token):
        value = _ROMAN_VALUES[ch]
        if value < prev:
            total -= value
        else:
            total += value
            prev = value
    if total <= 0 or int_to_roman(total) != token:
        return None
    return total


def int_to_roman(n: int) -> str:
    """Canonical Roman numeral for 1..3999 (used to validate parsed numerals)."""
    table = (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    )
    out = []
    for value, sym in table:
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)
