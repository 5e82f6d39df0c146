"""The public API of broadcaster.text beyond the corpus: lexicon files, warnings, splitting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from broadcaster.text import Lexicon, LexiconError, normalize, split_sentences, unknown_tokens

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- normalize --------------------------------------------------------------------------


def test_keeps_one_output_line_per_input_line() -> None:
    text = "KẾ HOẠCH\n\n- UBND xã: 01 lần/tuần\r\n---\n2.1. Năm 2026\n"
    out = normalize(text)
    assert out.split("\n") == [
        "Kế hoạch",
        "",
        "Ủy ban nhân dân xã: một lần mỗi tuần",
        "",
        "Năm hai nghìn không trăm hai mươi sáu",
        "",
    ]


def test_empty_text() -> None:
    assert normalize("") == ""
    assert unknown_tokens("") == []
    assert split_sentences("") == []


def test_unknown_dialect_is_rejected() -> None:
    with pytest.raises(ValueError, match="dialect"):
        normalize("1", dialect="central")


def test_output_never_contains_digits_on_the_seed_plans() -> None:
    if not SEEDS.is_dir():
        pytest.skip("shared seeds not present")
    for path in sorted(SEEDS.glob("*.txt")):
        out = normalize(path.read_text(encoding="utf-8"))
        assert not re.search(r"\d", out), path.name


def test_decomposed_unicode_is_accepted() -> None:
    import unicodedata

    text = unicodedata.normalize("NFD", "Ngày 4 tháng 4, UBND xã họp")
    assert normalize(text) == "Ngày bốn tháng tư, ủy ban nhân dân xã họp"


def test_normalize_is_idempotent_on_its_output() -> None:
    once = normalize("Ngày 22/12/2024, UBND xã tổ chức 01 hội nghị lúc 17h30 tại 57-NQ/TW.")
    assert normalize(once) == once


# --- lexicon ------------------------------------------------------------------------------


def test_builtin_is_shared_and_immutable() -> None:
    lex = Lexicon.builtin()
    assert lex is Lexicon.builtin()
    assert lex.lookup("UBND") == "ủy ban nhân dân"
    with pytest.raises(TypeError):
        lex.entries["UBND"] = "x"  # type: ignore[index]


def test_station_file_overrides_builtin_and_adds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries:\n"
        "  UBND: ủy ban\n"
        "  Tân Kỳ: Tân Kì\n"
        "  HTXDV: hợp tác xã dịch vụ\n"
        "  livestream: lai xờ trim\n"
        "codes:\n"
        "  KH: kế hoạch số\n",
    )
    lex = Lexicon.load(path)
    assert normalize("UBND xã Tân Kỳ", lex) == "Ủy ban xã Tân Kì"
    assert normalize("Thành lập HTXDV", lex) == "Thành lập hợp tác xã dịch vụ"
    assert normalize("Xem livestream", lex) == "Xem lai xờ trim"
    assert normalize("Văn bản 5/KH-UBND", lex) == "Văn bản năm kế hoạch số của ủy ban"
    # The built-in lexicon itself is untouched.
    assert normalize("UBND xã") == "Ủy ban nhân dân xã"


def test_later_entries_win(tmp_path: Path) -> None:
    path = write(tmp_path, "entries:\n  HTX: một\n  HTX: hai\n")
    assert Lexicon.load(path).lookup("HTX") == "hai"


def test_load_on_explicit_base(tmp_path: Path) -> None:
    base = Lexicon({"ABC": "a bê xê"})
    lex = Lexicon.load(write(tmp_path, "entries:\n  XYZ: ích i dét\n"), base=base)
    assert lex.lookup("ABC") == "a bê xê"
    assert lex.lookup("XYZ") == "ích i dét"
    assert lex.lookup("UBND") is None


def test_empty_file_is_the_base(tmp_path: Path) -> None:
    lex = Lexicon.load(write(tmp_path, "# nothing yet\n"))
    assert lex.lookup("UBND") == "ủy ban nhân dân"


def test_numeric_looking_keys_keep_their_spelling(tmp_path: Path) -> None:
    lex = Lexicon.load(write(tmp_path, "entries:\n  Chỉ thị 06: Chỉ thị không sáu\n"))
    assert normalize("Thực hiện Chỉ thị 06", lex) == "Thực hiện Chỉ thị không sáu"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("entries:\n  UBND: [a, b]\n", 2, "must be text"),
        ("entries:\n  UBND:\n", 2, "has no reading"),
        ("entries:\n  UBND: ''\n", 2, "has no reading"),
        ("entries:\n  - UBND\n", 2, "must be a mapping"),
        ("words:\n  UBND: ủy ban\n", 1, "unknown section"),
        ("entries:\n  UBND: ủy ban\n   bad: indent\n", 3, "invalid YAML"),
        ("- a\n- b\n", 1, "must be a mapping"),
        ("entries:\n  UBND: 'unterminated\n", 3, "invalid YAML"),
    ],
)
def test_bad_files_raise_lexicon_error_with_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LexiconError) as info:
        Lexicon.load(path)
    err = info.value
    assert err.path == path
    assert err.line == line
    assert fragment in err.message
    assert "\n" not in str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="file not found") as info:
        Lexicon.load(tmp_path / "absent.yaml")
    assert info.value.line == 0
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("entries:\n  UBND: \xfby ban\n".encode("latin-1"))
    with pytest.raises(LexiconError, match="UTF-8"):
        Lexicon.load(bad)


def test_lexicon_error_is_an_exception() -> None:
    assert issubclass(LexiconError, Exception)


# --- unknown_tokens --------------------------------------------------------------------------


def test_unknown_tokens_reports_line_and_token() -> None:
    text = "UBND xã họp.\nMời VTV1 và HTXNN dự.\n\nGặp ông ABCD, dùng iPhone và eGov."
    assert unknown_tokens(text) == [(2, "HTXNN"), (4, "ABCD"), (4, "eGov")]


def test_unknown_tokens_ignores_known_words_headings_and_codes() -> None:
    text = (
        "KẾ HOẠCH TRIỂN KHAI\n"
        "Nghị quyết 57-NQ/TW, KHCN, ĐMST và CĐS, VNeID, Zalo, Quý IV, Chương II.\n"
        "TM. ỦY BAN NHÂN DÂN\n"
        "Mạng 5G, dịch COVID-19, lớp 10A1."
    )
    assert unknown_tokens(text) == []


def test_unknown_code_parts_are_reported() -> None:
    assert unknown_tokens("Văn bản 12/XYZW-UBND") == [(1, "XYZW")]


def test_station_lexicon_silences_warning(tmp_path: Path) -> None:
    lex = Lexicon.load(write(tmp_path, "entries:\n  HTXNN: hợp tác xã nông nghiệp\n"))
    assert unknown_tokens("HTXNN Tân Kỳ", lex) == []
    assert normalize("HTXNN Tân Kỳ", lex) == "Hợp tác xã nông nghiệp Tân Kỳ"


def test_seed_plans_warn_only_about_typos() -> None:
    if not SEEDS.is_dir():
        pytest.skip("shared seeds not present")
    found = {
        tok
        for path in SEEDS.glob("*.txt")
        for _, tok in unknown_tokens(path.read_text(encoding="utf-8"))
    }
    assert found == {"UBNDTTQ", "VHXX"}


# --- split_sentences ----------------------------------------------------------------------------


def test_split_sentences_on_punctuation_and_lines() -> None:
    text = "Ủy ban nhân dân xã thông báo. Mời bà con dự họp!\n\nNội dung: chuyển đổi số? Có.\nHết"
    assert split_sentences(text) == [
        "Ủy ban nhân dân xã thông báo.",
        "Mời bà con dự họp!",
        "Nội dung: chuyển đổi số?",
        "Có.",
        "Hết",
    ]


def test_split_sentences_keeps_abbreviations_and_lowercase_continuations() -> None:
    text = "Người dân TP. Hồ Chí Minh tham gia... rất đông. “Bình dân học vụ số” lan tỏa."
    assert split_sentences(text) == [
        "Người dân TP. Hồ Chí Minh tham gia... rất đông.",
        "“Bình dân học vụ số” lan tỏa.",
    ]


def test_split_sentences_max_chars() -> None:
    sentence = (
        "Tuyên truyền sâu rộng, hướng dẫn người dân, hỗ trợ doanh nghiệp, phát triển kinh tế số."
    )
    chunks = split_sentences(sentence, max_chars=40)
    assert all(len(c) <= 40 for c in chunks)
    assert " ".join(chunks) == sentence
