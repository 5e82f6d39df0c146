"""Written official Vietnamese → what an announcer says.

Design: each line is cleaned of markup; URLs and lowercase lexicon phrases are
replaced by cheap pre-passes; then the line is scanned once by a single
compiled regular expression whose alternatives recognise, in priority order,
lexicon phrases, document codes, dates, times, phone numbers, fractions,
numbers with units, Roman numerals and upper-case tokens. Each match is
replaced by its reading, decided with a look at the few words before it
("ngày", "tháng", "thứ", "gọi" ...). Number-like readings are wrapped in
private markers so a second, tiny pass can turn the dash between two of them
into "đến" ("2026 - 2030", "85–90%") while leaving "kinh tế - xã hội" alone.

The module is pure: no I/O, no clock, no global mutable state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from broadcaster.text import builtin
from broadcaster.text.lexicon import Lexicon
from broadcaster.text.markup import strip_markup
from broadcaster.text.numbers import (
    DIGIT_WORDS,
    Dialect,
    get_dialect,
    read_decimal,
    read_digits,
    read_int,
    read_int_string,
    read_month,
    read_ordinal,
    roman_to_int,
)
from broadcaster.text.patterns import END, START, TRIGGER, UP, URL, URL_HINT
from broadcaster.text.syllable import is_loose_syllable, is_syllable, strip_tones

# --------------------------------------------------------------------------------------
# Context patterns (compiled once at import)
# --------------------------------------------------------------------------------------


_WORD = re.compile(r"[^\W\d_]+")
_CLAUSE_SPLIT = re.compile(r"[;:.!?()“”\"]")
# "ngày 30/4 và 1/5", "các ngày 18, 19 và 20/5": "ngày" already covers the list.
_DATE_LIST = re.compile(
    r"(?:^|[^\w])ngày\s+\d[\d/\s,–-]*(?:(?:và|đến|tới|hoặc)\s+)?$", re.IGNORECASE
)
# "Ngày Chuyển đổi số quốc gia 10/10": a named day, its date follows without "ngày".
_NAMED_DAY = re.compile(
    r"(?:^|[^\w])(?:Ngày\s+[^\W\d_]+|ngày\s+[" + UP + r"][^\W\d_]*)(?:\s+[^\W\d_]+){0,7}\s+$"
)
_DIGITS = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?")
_NON_LETTER = re.compile(r"[\W\d_]+")
_UPPER_CHAR = re.compile("[" + UP + "]+")
_RANGE = re.compile(
    END
    + r"[ \t]*[-–—][ \t]*(?:((?:thứ|ngày|tháng|năm|quý)[ \t]+)?"
    + START
    + r"|(?=[Cc]hủ [Nn]hật))"
)
# Weekday abbreviations ("T2 - CN") take part in ranges like numbers do.
_WEEKDAY_ABBR = re.compile(r"(?:T[2-7]|CN)(?:-(?:T[2-7]|CN))?")
_WEEKDAYS = frozenset({"thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật"})
_MARKERS = re.compile("[" + START + END + "]")
_SPACE_RUN = re.compile(r"[ \t]{2,}|\t")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?…)\]”’])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[“‘]) +")
# "./." closes an official document; a hyphen left at the end of a line is a
# code or word broken across lines ("1169/QĐ-" / "TTg").
_END_MARK = re.compile(r"\./\.|/\.$|(?<=\w)-$")
_PUNCT_STRIP = re.compile(r"[^\w\s]")

_DATE_CUES = frozenset(
    {
        "ngày",
        "mùng",
        "mồng",
        "hôm",
        "sáng",
        "trưa",
        "chiều",
        "tối",
        "đêm",
        "từ",
        "đến",
        "tới",
        "trước",
        "sau",
        "vào",
        "dịp",
        "hạn",
        "lúc",
        "nay",
        "đầu",
        "cuối",
        "giữa",
    }
)
_VERSION_WORD = re.compile(r"phiên bản\s*$", re.IGNORECASE)
_ADDRESS_CUES = frozenset({"nhà", "hẻm", "ngõ", "ngách", "kiệt"})
_FRACTION_PREV = frozenset({"khoảng", "gần", "hơn", "chiếm", "bằng", "đạt", "còn", "tăng", "giảm"})
_FRACTION_NEXT = frozenset(
    {"số", "dân", "diện", "tổng", "lượng", "phần", "thời", "quãng", "đoạn", "cán", "hộ"}
)
_ORDINAL_CONTEXT = re.compile(
    r"(?:^|[^\w])thứ\s+(?:\d+\s*(?:,|và|hoặc|-|–|đến)\s*)*$", re.IGNORECASE
)
_MONTH_CONTEXT = re.compile(
    r"(?:^|[^\w])tháng\s+(?:\d+\s*(?:,|và|hoặc|-|–|đến)\s*)*$", re.IGNORECASE
)
_CALL_CONTEXT = re.compile(
    r"(?:gọi|tổng đài|đường dây nóng|hotline|điện thoại|số máy|liên hệ|bấm|nhắn tin|đầu số"
    r"|khẩn cấp)[^.;!?\d]{0,24}$",
    re.IGNORECASE,
)
_ROMAN_CONTEXT = re.compile(
    r"(?:^|[^\w])(?:chương|phần|mục|quý|khóa|khoá|đại hội|thứ|thế kỷ|thế kỉ|tập|phụ lục|giai đoạn"
    r"|bài|vòng|kỳ|kì|điều|loại|hạng|cấp|nhóm|đợt|tiểu mục|quân khu|khối|số|hội nghị"
    r"|báo động|tháng)\s*$",
    re.IGNORECASE,
)
# Words before a number + "/year" that name the period ("quý 2/2026", "đợt II/2026"):
# the number is that period's, not a month.
_PERIOD_WORDS = frozenset({"quý", "đợt", "kỳ", "kì", "khóa", "khoá", "tuần", "giai đoạn"})
# Before a document code: "số", "số:" and earlier codes of a list ("57-NQ/TW và 58-NQ/TW")
# stand between the type word and the code.
_CODE_LEAD = re.compile(
    r"(?:\s*(?:(?<![\w])(?:số|Số|SỐ)\s*:?\s*)?(?=[^\s,;]*\d)[^\s,;]+(?:\s*[,;]\s*|\s+(?:và|hoặc)\s+))*"
    r"\s*(?:(?<![\w])(?:số|Số|SỐ)\s*:?)?\s*$"
)
_SO_WORD = re.compile(r"(?<![\w])số(?![\w])", re.IGNORECASE)
_CODE_CLAUSE = re.compile(r"[.;!?()“”\"]")
# After a document code, the text names its issuer itself: "57-NQ/TW ngày 22/12/2024 của
# Bộ Chính trị", "1169/QĐ-TTg của Thủ tướng Chính phủ".
_ISSUER_NAMED = re.compile(
    r"\s*,?\s*(?:ngày\s+\d{1,2}(?:[/.-]\d{1,2}(?:[/.-]\d{4})?|\s+tháng\s+\d{1,2}"
    r"(?:\s+năm\s+\d{4})?)\s*,?\s*)?của(?![\w])",
    re.IGNORECASE,
)
# How an unbroken run of digits is grouped when read, by its length: a mobile number is
# said 4-3-3 ("0912 345 678"), a hotline 4-4 ("1900 1234"), as people write them down.
_DIGIT_GROUPS: dict[int, tuple[int, ...]] = {
    6: (3, 3),
    7: (3, 4),
    8: (4, 4),
    9: (3, 3, 3),
    10: (4, 3, 3),
    11: (4, 4, 3),
    12: (4, 4, 4),
}
# Hà Nội and Hồ Chí Minh City landlines: a 3-digit area code and 8 digits.
_SHORT_AREA_CODES = ("024", "028")
# Tone placement differs between writers ("hoá"/"hóa", "uỷ"/"ủy"); compare on one form.
_TONE_VARIANTS = (
    ("oà", "òa"),
    ("oá", "óa"),
    ("oả", "ỏa"),
    ("oã", "õa"),
    ("oạ", "ọa"),
    ("oè", "òe"),
    ("oé", "óe"),
    ("oẻ", "ỏe"),
    ("oẽ", "õe"),
    ("oẹ", "ọe"),
    ("uỳ", "ùy"),
    ("uý", "úy"),
    ("uỷ", "ủy"),
    ("uỹ", "ũy"),
    ("uỵ", "ụy"),
)


# Proper nouns restored after a capitalised heading was lowercased.
_PROPER_NOUNS = {"việt nam": "Việt Nam", "hồ chí minh": "Hồ Chí Minh", "hà nội": "Hà Nội"}
_PROPER_CAPS = re.compile(r"(?<![\w])(?:" + "|".join(_PROPER_NOUNS) + r")(?![\w])", re.IGNORECASE)


def _canon_words(text: str) -> list[str]:
    """Lowercase words without punctuation or "và", with one tone placement, for comparison."""
    text = text.lower()
    for old, new in _TONE_VARIANTS:
        text = text.replace(old, new)
    return [w for w in _PUNCT_STRIP.sub(" ", text).split() if w != "và"]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


class _LineNormalizer:
    """Reads lines for one (lexicon, dialect) pair, optionally recording unknown tokens."""

    def __init__(
        self, lexicon: Lexicon, dialect: Dialect, report: Callable[[str], None] | None = None
    ) -> None:
        self.lex = lexicon
        self.d = dialect
        self.report = report
        self.master = lexicon.scanner.master
        self.phrase_pass = lexicon.scanner.phrases
        self.line = ""
        self.caps_line = False
        self.handlers: dict[str, Callable[[re.Match[str]], str]] = {
            "phrase": self._phrase,
            "code": self._code,
            "quarter": self._quarter,
            "rperiod": self._rperiod,
            "drange": self._drange,
            "dmy": self._dmy,
            "iso": self._iso,
            "time": self._time,
            "phone": self._phone,
            "slash": self._slash,
            "num": self._num,
            "deg": self._deg,
            "ver": self._ver,
            "alert": self._alert,
            "flu": self._flu,
            "roman": self._roman,
            "paren": self._paren,
            "caps": self._caps,
            "slashunit": self._slashunit,
            "slashword": self._slashword,
            "sym": self._sym,
        }

    # -- driver -----------------------------------------------------------------------
    def __call__(self, raw: str) -> str:
        line = strip_markup(raw)
        if not line:
            return ""
        self.caps_line = self._is_caps_line(line)
        if URL_HINT.search(line):
            self.line = line
            line = URL.sub(self._url, line)
        if self.phrase_pass is not None:
            self.line = line
            line = self.phrase_pass.sub(self._phrase, line)
        self.line = line
        out = self._scan(line)
        if self.caps_line:
            out = _PROPER_CAPS.sub(lambda m: _PROPER_NOUNS[m.group().lower()], out)
        if START in out:
            out = _RANGE.sub(self._range, out)
            out = _MARKERS.sub("", out)
        if _DIGITS.search(out):
            # Safety net: digits glued to letters ("x12") escaped every rule; a TTS
            # engine must still never see a digit.
            out = _DIGITS.sub(self._loose_number, out)
        out = _END_MARK.sub(lambda m: "" if m.group() == "-" else ".", out)
        out = _SPACE_RUN.sub(" ", out)
        out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
        out = _SPACE_AFTER_OPEN.sub(r"\1", out)
        return out.strip()

    @staticmethod
    def _range(m: re.Match[str]) -> str:
        if m.group().endswith(START):
            return END + " đến " + (m.group(1) or "") + START
        return END + " đến "

    def _scan(self, line: str) -> str:
        """Replace every master match, trying only positions the trigger finds."""
        out: list[str] = []
        pos = 0
        match = self.master.match
        for trig in TRIGGER.finditer(line):
            start = trig.start()
            if start < pos:
                continue
            word_start = start
            if line[start].isalnum():  # "iPhone": the token starts before the capital
                while word_start > pos and (
                    line[word_start - 1].isalnum() or line[word_start - 1] == "_"
                ):
                    word_start -= 1
            m = match(line, word_start)
            if (m is None or m.end() == word_start) and word_start != start:
                m = match(line, start)
            if m is None or m.end() == m.start():
                continue
            replacement = self.handlers[m.lastgroup or ""](m)
            head = line[pos : m.start()]
            if not replacement:  # a dropped "(UBND)" takes its leading space with it
                head = head.rstrip(" \t")
            out.append(head)
            out.append(replacement)
            pos = m.end()
        out.append(line[pos:])
        return "".join(out)

    @staticmethod
    def _is_caps_line(line: str) -> bool:
        """A heading typed in capitals: read its capitalised words as words."""
        letters = _NON_LETTER.sub("", line)
        upper = len(letters) - len(_UPPER_CHAR.sub("", letters))
        if upper < 2 or (len(letters) - upper) * 9 > upper:
            return False
        return any(len(w) > 1 and w.isupper() and is_syllable(w) for w in _WORD.findall(line))

    # -- context helpers --------------------------------------------------------------
    def _before(self, pos: int, width: int = 40) -> str:
        return self.line[max(0, pos - width) : pos]

    def _prev_word(self, pos: int) -> str:
        words = _WORD.findall(self._before(pos, 24))
        return words[-1].lower() if words else ""

    def _next_word(self, pos: int) -> str:
        m = _WORD.search(self.line, pos, pos + 24)
        return m.group().lower() if m and not self.line[pos : m.start()].strip(" \t") else ""

    def _at_sentence_start(self, pos: int) -> bool:
        width = 16
        while True:
            start = max(0, pos - width)
            before = self.line[start:pos].rstrip(" \t\"“‘'([*")
            if before:
                if before[-1] == "." and start > 0 and len(before) < 12:
                    width *= 4  # need the whole abbreviation before the dot
                    continue
                if before[-1] != ".":
                    return before[-1] in "!?…"
                abbrev = re.search(r"([^\W\d_]+)\.$", before)
                return not (abbrev and self.lex.lookup_dotted(abbrev.group(1)) is not None)
            if start == 0:
                return True
            width *= 4

    def _finish(self, m: re.Match[str], text: str) -> str:
        """Capitalise a reading that opens a sentence, as the written text did."""
        lead = 1 if text[:1] == START else 0
        if text[lead : lead + 1].islower() and self._at_sentence_start(m.start()):
            return text[:lead] + _cap(text[lead:])
        return text

    # -- reading helpers --------------------------------------------------------------
    def _int(self, digits: str) -> str:
        return read_int_string(digits, self.d)

    def _year(self, digits: str) -> str:
        return read_int(int(digits), self.d)

    def _spell(self, letters: str) -> str:
        names = []
        for ch in letters:
            base = strip_tones(ch).upper() if ch.isalpha() else ch
            if ch.isdigit():
                names.append(DIGIT_WORDS[int(ch)])
            elif base in builtin.LETTER_NAMES:
                names.append(builtin.LETTER_NAMES[base])
            elif ch.isalpha():
                names.append(ch.lower())
        return " ".join(names)

    def _spell_unknown(self, token: str) -> str:
        if self.report is not None:
            self.report(token)
        return self._spell(token)

    @staticmethod
    def _wrap(text: str) -> str:
        return START + text + END

    def _loose_number(self, m: re.Match[str]) -> str:
        integer, _, frac = m.group().replace(".", "").partition(",")
        return " " + read_decimal(integer, frac or None, self.d) + " "

    def _generic(self, text: str) -> str:
        """Fallback for a match that failed validation: read each digit run as a number."""
        text = re.sub(r"\d+", lambda m: self._wrap(self._int(m.group())), text)
        return text.replace("/", " trên ")

    # -- handlers -----------------------------------------------------------------------
    def _url(self, m: re.Match[str]) -> str:
        text = re.sub(r"^https?://", "", m.group())
        spoken = {
            "www": "vê kép vê kép vê kép",
            "vn": "vê en",
            "gov": "gờ o vê",
            "org": "o rờ gờ",
            "edu": "e đu",
        }
        seps = {
            ".": "chấm",
            "/": "gạch chéo",
            "@": "a còng",
            "-": "gạch ngang",
            "_": "gạch dưới",
            ":": "hai chấm",
        }
        words = []
        for part in re.findall(r"[A-Za-z]+|\d+|[./@\-_:]", text):
            if part in seps:
                words.append(seps[part])
            elif part.isdigit():
                words.append(read_digits(part))
            else:
                words.append(spoken.get(part.lower(), part.lower()))
        return " ".join(words)

    def _phrase(self, m: re.Match[str]) -> str:
        return self._finish(m, self.lex.phrases[m.group()])

    def _code_part(self, part: str) -> str:
        found = self.lex.lookup_code(part)
        if found is not None:
            return found
        tail = re.fullmatch(r"(.*?[^\W\d_])(\d+)", part)
        if tail:
            letters, digits = tail.groups()
            head = self.lex.lookup_code(letters)
            if head is not None:
                joiner = " khóa " if letters == "QH" else " "
                return head + joiner + self._int(digits)
        return self._spell_unknown(part)

    def _code_segment(self, segment: str) -> str:
        """One part between "-" or "/" of a code; "&" inside it is "và"."""
        return " và ".join(self._code_part(p) for p in segment.split("&") if p)

    def _code(self, m: re.Match[str]) -> str:
        """A document number as announcers read it: the number, "năm" and the year, the
        document type unless the words before already name it, then "của" and the issuing
        body unless the words after name it ("… ngày 22/12/2024 của Bộ Chính trị")."""
        words = []
        if m.group("c_num"):
            words.append(self._int(m.group("c_num")))
        if m.group("c_year"):
            words.append("năm " + self._year(m.group("c_year")))
        segments = [seg for seg in re.split(r"[-/]", m.group("c_body")) if seg]
        issuers = segments
        if segments and segments[0] in builtin.DOC_TYPES:
            issuers = segments[1:]
            doc_type = self._code_segment(segments[0])
            if not self._type_named(m.start(), doc_type):
                words.append(doc_type)
        if issuers and not _ISSUER_NAMED.match(self.line, m.end()):
            bodies = [self._code_segment(seg) for seg in issuers]
            if segments[0] in builtin.JOINT_DOC_TYPES and len(bodies) > 1:
                # A joint circular is issued by all its bodies: "của A, B và C".
                words.append("của " + ", ".join(bodies[:-1]) + " và " + bodies[-1])
            else:
                # "UBND-VP": the office of the body, said in the order written.
                words.append("của " + " ".join(bodies))
        return self._finish(m, " ".join(words))

    def _type_named(self, pos: int, doc_type: str) -> bool:
        """True if the words just before the code already say its type: "Nghị quyết 57-NQ/TW",
        and, before "số", up to three words later ("Kế hoạch hành động số 359-KH/TU")."""
        want = _canon_words(doc_type)
        if not want:
            return False
        clause = _CODE_CLAUSE.split(self._before(pos, 160))[-1]
        lead = _CODE_LEAD.search(clause)
        start = lead.start() if lead else len(clause)
        said_so = lead is not None and _SO_WORD.search(lead.group()) is not None
        have = _canon_words(clause[:start])[-(len(want) + (3 if said_so else 0)) :]
        return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))

    def _quarter(self, m: re.Match[str]) -> str:
        word = m.group("q_word")
        word = word.lower() if word.isupper() else word
        n = m.group("q_n")
        value = int(n) if n.isdigit() else roman_to_int(n) or 0
        text = f"{word} {read_int(value, self.d)} năm {self._year(m.group('q_year'))}"
        return self._finish(m, self._wrap(text))

    def _rperiod(self, m: re.Match[str]) -> str:
        """ "quý IV/2026" → "quý bốn năm hai nghìn không trăm hai mươi sáu"."""
        value = roman_to_int(m.group("rp_n"))
        year = self._year(m.group("rp_y"))
        if value is None:  # "IIX/2026" is no numeral: letters, then the year
            return self._finish(m, f"{self._read_token(m.group('rp_n'))} {year}")
        prev = self._prev_word(m.start())
        if prev == "tháng" and value <= 12:
            number = read_month(value, self.d)
        elif prev == "thứ":
            number = read_ordinal(value, self.d)
        else:
            number = read_int(value, self.d)
        text = f"{number} năm {year}"
        return self._finish(m, self._wrap(text))

    def _day_prefix(self, pos: int) -> str:
        """ "ngày " unless the text already says it: "ngày 22/12", or a named day
        such as "Ngày Chuyển đổi số quốc gia 10/10" earlier in the same clause."""
        if self._prev_word(pos) in ("ngày", "mùng", "mồng"):
            return ""
        clause = _CLAUSE_SPLIT.split(self._before(pos, 60))[-1]
        if _DATE_LIST.search(clause) or _NAMED_DAY.search(clause):
            return ""
        return "ngày "

    def _drange(self, m: re.Match[str]) -> str:
        a, b, month = int(m.group("dr_a")), int(m.group("dr_b")), int(m.group("dr_m"))
        if not (1 <= a <= 31 and 1 <= b <= 31 and 1 <= month <= 12):
            return self._generic(m.group())
        first, last, mon = read_int(a, self.d), read_int(b, self.d), read_month(month, self.d)
        text = f"{self._day_prefix(m.start())}{first} đến ngày {last} tháng {mon}"
        if m.group("dr_y"):
            text += " năm " + self._year(m.group("dr_y"))
        return self._finish(m, self._wrap(text))

    def _date_text(self, pos: int, day: int, month: int, year: str | None) -> str:
        text = f"{self._day_prefix(pos)}{read_int(day, self.d)} tháng {read_month(month, self.d)}"
        if year:
            text += " năm " + self._year(year)
        return text

    def _dmy(self, m: re.Match[str]) -> str:
        day, month = int(m.group("d_d")), int(m.group("d_m"))
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return self._generic(m.group())
        return self._finish(m, self._wrap(self._date_text(m.start(), day, month, m.group("d_y"))))

    def _iso(self, m: re.Match[str]) -> str:
        day, month = int(m.group("i_d")), int(m.group("i_m"))
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return self._generic(m.group())
        return self._finish(m, self._wrap(self._date_text(m.start(), day, month, m.group("i_y"))))

    def _time(self, m: re.Match[str]) -> str:
        hour = int(m.group("t_h"))
        minute_s = m.group("t_m") or m.group("t_m2") or m.group("t_m3")
        minute = int(minute_s) if minute_s else 0
        second = int(m.group("t_s")) if m.group("t_s") else 0
        if hour > 24 or minute > 59 or second > 59:
            return self._generic(m.group())
        text = read_int(hour, self.d) + " giờ"
        if minute:
            text += " " + read_int(minute, self.d) + " phút"
        if second:
            text += " " + read_int(second, self.d) + " giây"
        return self._finish(m, self._wrap(text))

    def _phone(self, m: re.Match[str]) -> str:
        text = m.group()
        digits = re.sub(r"\D", "", text)
        plus = "+" in text
        if plus:
            ok = digits.startswith("84") and 10 <= len(digits) <= 12
        elif digits.startswith("0"):
            ok = 10 <= len(digits) <= 11
        else:
            ok = 8 <= len(digits) <= 10
        if not ok:
            return self._generic(text)
        groups = _phone_groups(re.findall(r"\d+", text), plus)
        spoken = ", ".join(read_digits(g) for g in groups)
        return self._finish(m, ("cộng " if plus else "") + spoken)

    def _slash(self, m: re.Match[str]) -> str:
        a_s, b_s = m.group("s_a"), m.group("s_b")
        a, b = int(a_s), int(b_s)
        prev = self._prev_word(m.start())
        if len(b_s) == 4 and 1 <= a <= 12:
            if prev in _PERIOD_WORDS or self._before(m.start(), 11).lower().rstrip().endswith(
                "giai đoạn"
            ):
                # "quý 2/2026", "đợt 1/2026": the period's number, not a month.
                text = f"{read_int(a, self.d)} năm {self._year(b_s)}"
            else:
                prefix = "" if prev == "tháng" else "tháng "
                text = f"{prefix}{read_month(a, self.d)} năm {self._year(b_s)}"
            return self._finish(m, self._wrap(text))
        nxt = self._next_word(m.end())
        if (
            _ADDRESS_CUES.intersection(
                w.lower() for w in _WORD.findall(self._before(m.start(), 20))[-2:]
            )
            or nxt == "điểm"
        ):
            # "số nhà 12/3", "70/100 điểm": read with "trên", as said aloud.
            return self._finish(m, self._wrap(f"{self._int(a_s)} trên {self._int(b_s)}"))
        is_date = 1 <= a <= 31 and 1 <= b <= 12 and len(a_s) <= 2 and len(b_s) <= 2
        if (
            is_date
            and prev not in _DATE_CUES
            and (prev in _FRACTION_PREV or nxt in _FRACTION_NEXT or a < b <= 4)
        ):
            is_date = False
        if is_date:
            return self._finish(m, self._wrap(self._date_text(m.start(), a, b, None)))
        # "một phần tư": a denominator of 4 is "tư" in both dialects.
        denominator = "tư" if b == 4 else self._int(b_s)
        text = f"{self._int(a_s)} phần {denominator}"
        return self._finish(m, self._wrap(text))

    def _num(self, m: re.Match[str]) -> str:
        val = m.group("n_val")
        unit = m.group("n_unit")
        sunit = m.group("n_sunit")
        neg = m.group("n_neg")
        start = m.start("n_val")
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", val):
            integer, _, frac = val.replace(".", "").partition(",")
            text = read_decimal(integer, frac or None, self.d)
        elif "." in val:
            text = " chấm ".join(self._int(p) for p in val.split("."))
        elif "," in val:
            integer, _, frac = val.partition(",")
            text = read_decimal(integer, frac, self.d)
        else:
            text = self._plain_int(val, start, m.end(), bool(unit or sunit))
        reading = ""
        if unit:
            reading = builtin.UNITS_ATTACHED[unit]
        elif sunit:
            reading = builtin.UNITS_SPACED[sunit]
        if reading:
            text += " " + reading
        if neg:
            if reading.startswith("độ"):
                text = "âm " + text
            else:
                return "-" + self._finish(m, self._wrap(text))
        return self._finish(m, self._wrap(text))

    def _ver(self, m: re.Match[str]) -> str:
        text = " chấm ".join(self._int(p) for p in m.group("v_num").split("."))
        if not _VERSION_WORD.search(self._before(m.start(), 14)):
            text = "phiên bản " + text
        return self._finish(m, self._wrap(text))

    def _alert(self, m: re.Match[str]) -> str:
        """Flood alert level: "BĐ2", "BĐ 2", "BĐII" → "báo động hai" (a range end, too)."""
        level = m.group("al_n")
        value = int(level) if level.isdigit() else roman_to_int(level) or 0
        return self._finish(m, self._wrap("báo động " + read_int(value, self.d)))

    def _flu(self, m: re.Match[str]) -> str:
        """Influenza A subtype: "A/H5N1", "A(H7N9)" → "A hát năm en một"."""
        subtype = m.group("f_sub") or m.group("f_par")
        return "A " + self._read_part(subtype)

    def _deg(self, m: re.Match[str]) -> str:
        text = f"{self._int(m.group('g_d'))} độ {self._int(m.group('g_m'))} phút"
        if m.group("g_s"):
            text += f" {self._int(m.group('g_s'))} giây"
        return self._finish(m, self._wrap(text))

    def _plain_int(self, val: str, start: int, end: int, has_unit: bool) -> str:
        """An integer with no separators; context decides ordinal, month or digits."""
        if not has_unit:
            before = self._before(start)
            if _ORDINAL_CONTEXT.search(before):
                return read_ordinal(int(val), self.d)
            if _MONTH_CONTEXT.search(before) and 1 <= int(val) <= 12:
                return read_month(int(val), self.d)
            if 3 <= len(val) <= 5 and _CALL_CONTEXT.search(before):
                return read_digits(val)
            if val in builtin.SERVICE_NUMBERS and not self._next_word(end):
                return read_digits(val)
        if len(val) >= 9:
            return read_digits(val)
        return self._int(val)

    def _roman(self, m: re.Match[str]) -> str:
        token = m.group()
        value = roman_to_int(token)
        if value is not None:
            before = self._before(m.start())
            if _ROMAN_CONTEXT.search(before):
                prev = self._prev_word(m.start())
                if prev == "thứ":
                    return self._finish(m, read_ordinal(value, self.d))
                if prev == "tháng" and value <= 12:
                    return self._finish(m, read_month(value, self.d))
                return self._finish(m, read_int(value, self.d))
            if len(token) >= 2 and self.lex.lookup(token) is None:
                return self._finish(m, read_int(value, self.d))
        return self._finish(m, self._read_token(token))

    def _paren(self, m: re.Match[str]) -> str:
        token = m.group("p_tok")
        reading = self._read_token(token)
        if self.lex.lookup(token) is not None:
            want = _canon_words(reading)
            have = _canon_words(self._before(m.start(), 120))
            if want and have[-len(want) :] == want:
                return ""
        lead = m.group()[0] if m.group()[0] in " \t" else ""
        return lead + "(" + reading + ")"

    def _caps(self, m: re.Match[str]) -> str:
        token = m.group("ct")
        if _WEEKDAY_ABBR.fullmatch(token):
            # "T2", "CN", "T2-T6": weekdays take part in ranges like numbers do.
            readings = [self.lex.lookup(part) or part for part in token.split("-")]
            if all(r.lower() in _WEEKDAYS for r in readings):
                text = " đến ".join(readings)
                return self._finish(m, self._wrap(text)) + ("." if m.group("cd") else "")
        if m.group("cd"):
            dotted = self.lex.lookup_dotted(token)
            if dotted is not None:
                return self._finish(m, dotted + " ")
            return self._finish(m, self._read_token(token)) + "."
        return self._finish(m, self._read_token(token))

    def _read_token(self, token: str) -> str:
        """Reading of one token containing a capital (possibly a compound "VH-XH")."""
        found = self.lex.lookup(token)
        if found is not None:
            return found
        if "-" in token or "&" in token:
            words = []
            parts = re.split(r"([-&])", token)
            for i, part in enumerate(parts):
                if part == "&":
                    words.append("và")
                elif part == "-":
                    # "VH-XH" keeps a pause; "COVID-19" does not.
                    if not parts[i + 1][:1].isdigit():
                        words.append("-")
                elif part:
                    words.append(self._read_part(part))
            return " ".join(words)
        return self._read_part(token)

    def _read_part(self, part: str) -> str:
        found = self.lex.lookup(part)
        if found is not None:
            return found
        if part.isdigit():
            return self._int(part)
        letters = "".join(ch for ch in part if not ch.isdigit())
        if any(ch.isdigit() for ch in part):
            # "H5N1", "5G", "QH13": letter runs and digit runs read separately.
            out = []
            for run in re.findall(r"\d+|[^\W\d_]+", part):
                if run.isdigit():
                    out.append(self._int(run))
                else:
                    out.append(self._read_part(run) if len(run) > 1 else self._spell(run))
            return " ".join(out)
        if len(letters) == 1:
            # "Ở", "Ý" in a capitalised heading are words; "A" ("cúm A") stays a letter.
            if self.caps_line and not part.isascii() and is_syllable(part):
                return part.lower()
            return part
        if part.isupper():
            if is_syllable(part) or (self.caps_line and is_loose_syllable(part)):
                return part.lower()
            return self._spell_unknown(part)
        if part[0].isupper() and part[1:].islower():
            return part  # an ordinary capitalised word or name
        return self._spell_unknown(part)  # mixed case: "iPhone", "eKYC"

    def _slashunit(self, m: re.Match[str]) -> str:
        unit = m.group("su")
        before = self.line[max(0, m.start() - 8) : m.start()]
        prev_token = re.findall(r"[\w²³]+$", before)
        joiner = "trên" if prev_token and prev_token[0] in builtin.PHYSICAL_UNITS else "mỗi"
        return f" {joiner} {builtin.SLASH_UNITS[unit]}"

    def _slashword(self, m: re.Match[str]) -> str:
        nxt = self._next_word(m.end())
        if nxt in builtin.PER_WORDS:
            return " mỗi "
        if nxt == "hoặc":
            return " "
        return " hoặc "

    def _sym(self, m: re.Match[str]) -> str:
        return {
            "&": " và ",
            "~": " khoảng ",
            "≥": " lớn hơn hoặc bằng ",
            ">=": " lớn hơn hoặc bằng ",
            "≤": " nhỏ hơn hoặc bằng ",
            "<=": " nhỏ hơn hoặc bằng ",
            ">": "lớn hơn",
            "<": "nhỏ hơn",
            "=": "bằng",
        }[m.group()]


def _split_run(digits: str) -> list[str]:
    """Cut an unbroken run of digits into the groups it is said in (4-3-3 for a mobile)."""
    if len(digits) == 11 and digits.startswith(_SHORT_AREA_CODES):
        sizes: tuple[int, ...] = (3, 4, 4)
    else:
        sizes = _DIGIT_GROUPS.get(len(digits), (len(digits),))
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start : start + size])
        start += size
    return groups


def _phone_groups(written: list[str], plus: bool) -> list[str]:
    """The groups a phone number is read in: as written, a group of six or more digits
    cut the way people say it.

    The pauses between groups let listeners write the number down; a number written
    as one run ("0912345678") is read in the grouping people use for it (4-3-3).
    """
    if plus and written and written[0].startswith("84") and len(written[0]) > 2:
        written = ["84", written[0][2:], *written[1:]]  # "+84912345678"
    groups: list[str] = []
    for index, group in enumerate(written):
        if len(group) <= 5 or (plus and index == 0):
            groups.append(group)
        else:
            groups.extend(_split_run(group))
    return groups


def _prepare(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def normalize(text: str, lexicon: Lexicon | None = None, dialect: str = "north") -> str:
    """Turn written Vietnamese into the words an announcer would say.

    One output line per input line (markup-only lines become empty), so callers
    can map results back to the source and ``split_sentences`` can use line
    breaks as paragraph boundaries. ``dialect`` is "north" (default) or "south".
    """
    reader = _LineNormalizer(
        lexicon if lexicon is not None else Lexicon.builtin(), get_dialect(dialect)
    )
    return "\n".join(reader(line) for line in _prepare(text))


def unknown_tokens(text: str, lexicon: Lexicon | None = None) -> list[tuple[int, str]]:
    """Every all-caps or mixed-case token that would be spelled letter by letter.

    Uses the very same scanner as ``normalize`` so a warning is given exactly
    when the broadcast would spell something. Returns (1-based line, token) for
    each occurrence, in text order.
    """
    found: list[tuple[int, str]] = []
    line_no = 0

    def report(token: str) -> None:
        found.append((line_no, token))

    reader = _LineNormalizer(
        lexicon if lexicon is not None else Lexicon.builtin(), get_dialect("north"), report
    )
    for line_no, line in enumerate(_prepare(text), start=1):  # noqa: B007 - read by report()
        reader(line)
    return found
