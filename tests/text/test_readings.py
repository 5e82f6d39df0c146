"""The reading classes of storm, flood and epidemic bulletins, checked as rules (issue 11,
"Readings"): document numbers, phone numbers, alert levels, virus strains and a Roman
numeral with a year. corpus.tsv holds the literal cases; these tests sweep each class."""

from __future__ import annotations

import re

import pytest

from broadcaster.text import builtin, normalize, unknown_tokens
from broadcaster.text.numbers import DIGIT_WORDS, read_int, read_month

YEAR_2026 = "năm hai nghìn không trăm hai mươi sáu"
_WORD_DIGIT = {word: str(i) for i, word in enumerate(DIGIT_WORDS)}


def _spoken_groups(spoken: str) -> list[str]:
    """The digit groups a phone reading says, recovered from its words and commas."""
    return ["".join(_WORD_DIGIT[w] for w in part.split()) for part in spoken.split(",")]


# --- document numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("doc_type", sorted(builtin.DOC_TYPES - builtin.JOINT_DOC_TYPES))
def test_a_document_type_named_before_its_code_is_not_said_again(doc_type: str) -> None:
    reading = builtin.CODES[doc_type]
    spoken = normalize(f"Theo {reading} số 12/{doc_type}-UBND về việc")
    assert spoken == f"Theo {reading} số mười hai của ủy ban nhân dân về việc"


@pytest.mark.parametrize("doc_type", sorted(builtin.DOC_TYPES))
def test_a_code_standing_alone_says_its_type_then_its_issuer(doc_type: str) -> None:
    reading = builtin.CODES[doc_type]
    assert normalize(f"Theo 12/2026/{doc_type}-UBND") == (
        f"Theo mười hai {YEAR_2026} {reading} của ủy ban nhân dân"
    )


@pytest.mark.parametrize(
    "after",
    [
        " của Thủ tướng Chính phủ",
        " ngày 16/6/2025 của Thủ tướng Chính phủ",
        ", ngày 16 tháng 6 năm 2025 của Thủ tướng Chính phủ",
    ],
)
def test_the_issuer_is_not_read_when_the_text_names_it_after_the_code(after: str) -> None:
    spoken = normalize("Quyết định số 1169/QĐ-TTg" + after)
    assert spoken.startswith("Quyết định số một nghìn một trăm sáu mươi chín")
    assert spoken.count("thủ tướng chính phủ") + spoken.count("Thủ tướng Chính phủ") == 1


def test_a_list_of_codes_after_one_type_word_says_the_type_once() -> None:
    spoken = normalize("Các Kế hoạch số 25/KH-UBND, 26/KH-UBND và 27/KH-UBND")
    assert spoken.count("kế hoạch") + spoken.count("Kế hoạch") == 1
    assert spoken.count("của ủy ban nhân dân") == 3


def test_a_joint_document_names_all_its_issuers() -> None:
    assert normalize("Theo 01/2026/TTLT-BTC-BNV-BYT") == (
        f"Theo một {YEAR_2026} thông tư liên tịch của bộ tài chính, bộ nội vụ và bộ y tế"
    )


def test_document_type_abbreviations_in_running_text_are_words() -> None:
    assert normalize("Theo QĐ số 12, NQ số 5 và NĐ số 30") == (
        "Theo quyết định số mười hai, nghị quyết số năm và nghị định số ba mươi"
    )
    assert unknown_tokens("Theo QĐ số 12, NQ số 5, NĐ số 30, ID, eKYC, KYC") == []


# --- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "groups"),
    [
        ("0912 345 678", ["0912", "345", "678"]),
        ("0912.345.678", ["0912", "345", "678"]),
        ("0912-345-678", ["0912", "345", "678"]),
        ("0912 34 56 78", ["0912", "34", "56", "78"]),  # the written grouping is kept
        ("0912345678", ["0912", "345", "678"]),  # one run: 4-3-3
        ("02383123456", ["0238", "3123", "456"]),
        ("02438251234", ["024", "3825", "1234"]),  # Hà Nội: 3-digit area code
        ("0238.3123456", ["0238", "312", "3456"]),
        ("19001234", ["1900", "1234"]),
        ("1900 1234", ["1900", "1234"]),
        ("1800.1091", ["1800", "1091"]),
        ("(0238) 3123 456", ["0238", "3123", "456"]),
    ],
)
def test_a_phone_number_is_read_in_groups_with_pauses(written: str, groups: list[str]) -> None:
    spoken = normalize(f"Gọi {written} ngay")
    assert spoken.startswith("Gọi ") and spoken.endswith(" ngay")
    assert _spoken_groups(spoken[len("Gọi ") : -len(" ngay")]) == groups


def test_an_international_number_keeps_the_country_code_as_its_own_group() -> None:
    for written in ("+84 912 345 678", "+84912345678"):
        spoken = normalize(f"Gọi {written}")
        assert spoken == "Gọi cộng tám bốn, chín một hai, ba bốn năm, sáu bảy tám"


@pytest.mark.parametrize("service", ["111", "112", "113", "114", "115"])
def test_emergency_numbers_stay_one_group(service: str) -> None:
    spoken = normalize(f"Khi cần, gọi {service}.")
    digits = " ".join(DIGIT_WORDS[int(d)] for d in service)
    assert spoken == f"Khi cần, gọi {digits}."


# --- flood alert levels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "level"),
    [("BĐ1", 1), ("BĐ2", 2), ("BĐ3", 3), ("BĐ 2", 2), ("BĐI", 1), ("BĐII", 2), ("BĐIII", 3)],
)
def test_a_flood_alert_level_is_read_as_words(written: str, level: int) -> None:
    assert normalize(f"Lũ trên {written}.") == f"Lũ trên báo động {read_int(level)}."
    assert unknown_tokens(f"Lũ trên {written}.") == []


@pytest.mark.parametrize("written", ["BĐ1-BĐ2", "BĐ1 - BĐ2", "BĐ1 – BĐ2"])
def test_a_range_of_alert_levels_reads_den(written: str) -> None:
    assert normalize(f"Lũ ở mức {written}") == "Lũ ở mức báo động một đến báo động hai"


# --- virus strains ------------------------------------------------------------------------------


@pytest.mark.parametrize("h", range(1, 19))
@pytest.mark.parametrize("n", [1, 2, 6, 9, 11])
def test_influenza_a_subtypes_are_read_letter_and_number(h: int, n: int) -> None:
    want = f"Cúm A hát {read_int(h)} en {read_int(n)} ở gia cầm"
    for written in (f"A/H{h}N{n}", f"A(H{h}N{n})", f"A (H{h}N{n})"):
        assert normalize(f"Cúm {written} ở gia cầm") == want


def test_a_strain_inside_brackets_keeps_the_closing_bracket() -> None:
    assert normalize("Dịch cúm (chủng A/H5N1) lan rộng") == (
        "Dịch cúm (chủng A hát năm en một) lan rộng"
    )


# --- a Roman numeral or a period number with a year --------------------------------------------


@pytest.mark.parametrize("value", range(1, 13))
@pytest.mark.parametrize("word", ["quý", "Quý", "đợt", "kỳ", "tháng", "giai đoạn"])
def test_a_roman_numeral_with_a_year_is_the_period_then_the_year(word: str, value: int) -> None:
    from broadcaster.text.numbers import int_to_roman

    number = read_month(value) if word == "tháng" else read_int(value)
    spoken = normalize(f"Kết quả {word} {int_to_roman(value)}/2026.")
    assert spoken == f"Kết quả {word} {number} {YEAR_2026}."


@pytest.mark.parametrize("word", ["quý", "đợt", "kỳ", "giai đoạn"])
def test_a_period_number_with_a_year_is_not_a_month(word: str) -> None:
    assert normalize(f"Kết quả {word} 2/2026") == f"Kết quả {word} hai {YEAR_2026}"


def test_no_class_leaves_a_digit_or_slash_for_the_engine() -> None:
    text = (
        "Nghị quyết số 57-NQ/TW; gọi 0912 345 678; lũ trên BĐ3; cúm A/H5N1; quý IV/2026; "
        "tháng XII/2025; Công điện 15/CĐ-TTg."
    )
    spoken = normalize(text)
    assert not re.search(r"[\d/]", spoken), spoken
