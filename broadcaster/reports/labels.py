"""The Vietnamese words every report format shares, so the DOCX, the XLSX and the PDF say
the same thing in the same terms."""

from __future__ import annotations

from typing import Any

from broadcaster.core.compliance import AT_RISK, MET, NO_SESSION, NOT_MET, ON_TRACK
from broadcaster.reports.figures import NOT_APPLICABLE, ReportFigures, RequirementFigures

STATE_VI = {
    MET: "Đạt",
    NOT_MET: "Không đạt",
    NO_SESSION: "Không có buổi phát",
    NOT_APPLICABLE: "Không áp dụng",
    # A zone-week not over when the report is made: never "Không đạt" (issue 11).
    ON_TRACK: "Chưa kết thúc – đúng tiến độ",
    AT_RISK: "Chưa kết thúc – có nguy cơ không đạt",
}
KIND_VI = {"station": "Đài truyền thanh", "cluster": "Cụm loa"}
PER_VI = {"week": "tuần", "day": "ngày"}


def requirement_title(req: RequirementFigures) -> str:
    """What a reader calls a requirement: its title, never its id; a requirement the
    station left untitled is described from its rule."""
    if req.title:
        return req.title
    return (
        f"Phát sóng nội dung chiến dịch “{req.campaign}” tối thiểu {req.min:02d} "
        f"lần/{PER_VI.get(req.per, req.per)}"
    )


def week_label(week: str) -> str:
    """'2026-W48' -> 'Tuần 48/2026'."""
    year, _, number = week.partition("-W")
    return f"Tuần {int(number)}/{year}" if number.isdigit() else week


def pct(value: float | None) -> str:
    """'83,3%' (Vietnamese decimal comma), or '–' when nothing was measured."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}%".replace(".", ",")


def num(value: float | int) -> str:
    """Thousands with a dot, decimals with a comma: 1.234,5."""
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")


NOTHING_TO_REPORT = (
    "Không có dữ liệu để báo cáo: trong kỳ không có lượt phát nào được lên lịch hoặc ghi "
    "vào nhật ký phát sóng cho các cụm loa của báo cáo, nên không có tuần-cụm loa nào được "
    "đánh giá đạt hay không đạt."
)


def warnings(fig: ReportFigures) -> list[str]:
    """What a reader must know before trusting the figures, in the same words in every
    format: entries not made on the real clock, a period with no data, weeks not over, and
    entries older than the hashed campaign and week."""
    out: list[str] = []
    if fig.unreal_in_database:
        kinds = ", ".join(f"{_clock_vi(k)}: {num(n)}" for k, n in fig.unreal_in_database.items())
        if fig.include_unreal:
            out.append(
                "CẢNH BÁO: BÁO CÁO NÀY TÍNH CẢ CÁC BẢN GHI KHÔNG THEO ĐỒNG HỒ THỰC "
                f"({num(fig.unreal_count)} bản ghi trong kỳ; {kinds}). Đây là số liệu mô phỏng "
                "hoặc thử nghiệm, KHÔNG phải minh chứng phát sóng, không dùng để báo cáo."
            )
        else:
            out.append(
                "CẢNH BÁO: cơ sở dữ liệu có bản ghi nhật ký được tạo theo đồng hồ không phải "
                f"đồng hồ thực ({kinds}); trong kỳ có {num(fig.unreal_count)} bản ghi như vậy. "
                "Các bản ghi này không phải minh chứng phát sóng và KHÔNG được tính vào số liệu "
                "của báo cáo."
            )
    if fig.empty:
        out.append(NOTHING_TO_REPORT)
    if fig.zone_weeks_not_over:
        out.append(
            f"{num(fig.zone_weeks_not_over)} tuần-cụm loa chưa kết thúc tại thời điểm lập báo "
            "cáo: được ghi là “chưa kết thúc – đúng tiến độ” hoặc “chưa kết thúc – có nguy cơ "
            "không đạt”, không tính là không đạt và không tính vào tỷ lệ đạt."
        )
    if fig.legacy_in_period:
        out.append(
            f"{num(fig.legacy_in_period)} bản ghi trong kỳ được ghi trước khi nhật ký lưu chiến "
            "dịch và tuần phát: hai thông tin này của chúng lấy từ bảng lịch phát, không được "
            "chuỗi mã băm bảo vệ."
        )
    return out


def _clock_vi(kind: str) -> str:
    if kind == "simulated":
        return "mô phỏng"
    if kind.startswith("shifted:"):
        return f"đồng hồ dịch {kind.removeprefix('shifted:')}"
    return kind


def summary_items(fig: ReportFigures) -> list[tuple[str, Any]]:
    """The headline figures, typed (ints, floats, dates), in reading order; the warnings
    (:func:`warnings`) first."""
    t = fig.totals
    items: list[tuple[str, Any]] = [("Cảnh báo", text) for text in warnings(fig)]
    items += [
        ("Đơn vị", fig.station_name),
        ("Kỳ báo cáo", fig.period_title),
        ("Từ ngày", fig.first_day),
        ("Đến ngày", fig.last_day),
        ("Số cụm loa trong báo cáo", fig.zones_total),
        ("Số cụm loa đã phát sóng", fig.zones_covered),
        ("Lượt phát đã lên lịch", t.planned),
        ("Lượt phát thành công", t.aired),
        ("Lượt phát thất bại", t.failed),
        ("Lượt phát bị bỏ lỡ", t.missed),
        ("Lượt phát bị ngắt", t.interrupted),
        ("Lượt phát bị hủy", t.cancelled),
        ("Lượt phát chưa có kết quả", t.pending),
        ("Thời lượng yêu cầu (phút)", round(t.requested_minutes, 1)),
        ("Thời lượng phát thực tế (phút)", round(t.actual_minutes, 1)),
        ("Khung giờ tiếp sóng", t.relay_windows),
        ("Khung giờ tiếp sóng đạt", t.relays_aired),
        ("Thời lượng tiếp sóng thực tế (phút)", round(t.relay_minutes, 1)),
        ("Lượt phát trực tiếp (theo cụm loa)", t.live_broadcasts),
        ("Thời lượng phát trực tiếp (phút)", round(t.live_minutes, 1)),
        ("Số tuần-cụm loa được xét", fig.zone_weeks_judged),
        ("Số tuần-cụm loa đạt yêu cầu", fig.zone_weeks_met),
        ("Số tuần-cụm loa chưa kết thúc (không xét)", fig.zone_weeks_not_over),
        ("Tỷ lệ tuần-cụm loa đạt yêu cầu", fig.share_met),
    ]
    for req in fig.requirements:
        items.append((f"Tỷ lệ đạt: {requirement_title(req)}", req.share_met))
    items += [
        ("Lượt phát tin khẩn cấp thành công", fig.emergencies_aired),
        ("Số bản ghi nhật ký trong kỳ", fig.log_entries_in_period),
        (
            "Bản ghi không theo đồng hồ thực trong kỳ"
            + (" (đã tính)" if fig.include_unreal else " (không tính)"),
            fig.unreal_count,
        ),
        ("Tổng số bản ghi nhật ký (đầu chuỗi)", fig.log_head_count),
        ("Mã băm đầu chuỗi nhật ký", fig.log_head_hash),
        ("Khóa công khai của đài (Ed25519)", fig.station_public_key or "chưa tạo"),
        ("Thời điểm lập báo cáo", fig.generated_at.replace(tzinfo=None)),
    ]
    return items
