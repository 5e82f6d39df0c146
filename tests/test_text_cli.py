"""The normaliser as officers meet it: check warnings, normalize, preview, the station
lexicon and the dialect setting."""

from __future__ import annotations

import json

from stationkit import Cli, script_text


def test_check_warns_about_capitals_the_lexicon_cannot_say(bare_station):
    (bare_station / "scripts" / "htx.md").write_text(
        script_text("htx", "normal", "nq57", "Dòng một.\nHTXNN thôn A nhận hỗ trợ từ UBND.", "all"),
        encoding="utf-8",
    )
    cli = Cli(bare_station)
    r = cli("check")
    assert r.code == 0  # a warning, not an error
    assert (
        'scripts/htx.md:12: "HTXNN" will be spelled letter by letter: add it to '
        "schedules/lexicon.yaml"
    ) in r.err
    assert "UBND" not in r.err
    warnings = [
        p for p in json.loads(cli("check", "--json").out)["problems"] if p["severity"] == "warning"
    ]
    assert [(w["path"], w["line"]) for w in warnings] == [("scripts/htx.md", 12)]
    # The station lexicon teaches it; the warning goes away and the reading is used.
    (bare_station / "schedules" / "lexicon.yaml").write_text(
        "entries:\n  HTXNN: hợp tác xã nông nghiệp\n", encoding="utf-8"
    )
    assert "HTXNN" not in cli("check").err
    assert "Hợp tác xã nông nghiệp thôn A" in cli("preview", "htx").out


def test_a_broken_station_lexicon_is_an_error_with_its_line(bare_station):
    (bare_station / "schedules" / "lexicon.yaml").write_text(
        "entries:\n  UBND: [not, a, reading]\n", encoding="utf-8"
    )
    r = Cli(bare_station)("check")
    assert r.code == 1
    assert r.err.startswith("schedules/lexicon.yaml:2:")


def test_normalize_reads_standard_input_line_by_line(bare_station):
    cli = Cli(bare_station)
    lines = "Họp lúc 17h30 ngày 22/12/2024.\n\nGọi 113.\n"
    import subprocess

    from stationkit import BIN

    proc = subprocess.run(
        [str(BIN), "--station", str(bare_station), "normalize", "-"],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
    )
    out = proc.stdout.splitlines()
    assert out == [
        "Họp lúc mười bảy giờ ba mươi phút ngày hai mươi hai tháng mười hai năm hai nghìn "
        "không trăm hai mươi tư.",
        "",
        "Gọi một một ba.",
    ]
    assert cli("normalize", "1.500.000 đồng").out.strip() == "Một triệu năm trăm nghìn đồng"


def test_southern_dialect_is_a_station_setting(bare_station):
    path = bare_station / "schedules" / "station.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "  grace_minutes: 20\n", "  grace_minutes: 20\n  dialect: south\n"
        ),
        encoding="utf-8",
    )
    assert Cli(bare_station)("normalize", "1.500.000 đồng").out.strip() == (
        "Một triệu năm trăm ngàn đồng"
    )


def test_a_storm_bulletin_reads_as_announced_and_check_has_nothing_to_say(bare_station):
    body = (
        "Thực hiện Công điện số 15/CĐ-TTg của Thủ tướng Chính phủ và QĐ số 12 của xã.\n"
        "Lũ trên sông Cả lên mức BĐ2, có nơi trên BĐ3; cúm A/H5N1 quay lại trong quý IV/2026.\n"
        "Xác thực eKYC, không cho ai biết ID. Gọi ngay 0912.345.678 hoặc 113."
    )
    (bare_station / "scripts" / "bao.md").write_text(
        script_text("bao", "normal", "nq57", body, "all"), encoding="utf-8"
    )
    cli = Cli(bare_station)
    check = cli("check")
    assert check.code == 0
    assert "will be spelled letter by letter" not in check.err  # QĐ, BĐ2, eKYC, ID are known
    out = cli("preview", "bao").out
    assert "Công điện số mười lăm của Thủ tướng Chính phủ và quyết định số mười hai" in out
    assert "lên mức báo động hai, có nơi trên báo động ba" in out
    assert (
        "cúm A hát năm en một quay lại trong quý bốn năm hai nghìn không trăm hai mươi sáu" in out
    )
    assert "Xác thực i kây oai xi, không cho ai biết ai đi." in out
    assert "Gọi ngay không chín một hai, ba bốn năm, sáu bảy tám hoặc một một ba." in out
