"""The Vietnamese words every report format shares, so the DOCX, the XLSX and the PDF say
the same thing in the same terms."""

from __future__ import annotations

from typing import Any

from broadcaster.core.compliance import MET, NO_SESSION, NOT_MET
from broadcaster.reports.figures import NOT_APPLICABLE, ReportFigures

STATE_VI = {
    MET: "Đạt",
    NOT_MET: "Không đạt",
    NO_SESSION: "Không có buổi phát",
    NOT_APPLICABLE: "Không áp dụng",
}
KIND_VI = {"station": "Đài xã", "cluster": "Cụm loa"}
PER_VI = {"week": "tuần", "day": "ngày"}


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


def summary_items(fig: ReportFigures) -> list[tuple[str, Any]]:
    """The headline figures, typed (ints, floats, dates), in reading order."""
    t = fig.totals
    items: list[tuple[str, Any]] = [
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
        ("Số tuần-cụm loa được xét", fig.zone_weeks_judged),
        ("Số tuần-cụm loa đạt yêu cầu", fig.zone_weeks_met),
        ("Tỷ lệ tuần-cụm loa đạt yêu cầu", fig.share_met),
    ]
    for req in fig.requirements:
        items.append((f"Tỷ lệ đạt: {req.id}", req.share_met))
    items += [
        ("Lượt phát tin khẩn cấp thành công", fig.emergencies_aired),
        ("Số bản ghi nhật ký trong kỳ", fig.log_entries_in_period),
        ("Tổng số bản ghi nhật ký (đầu chuỗi)", fig.log_head_count),
        ("Mã băm đầu chuỗi nhật ký", fig.log_head_hash),
        ("Khóa công khai của đài (Ed25519)", fig.station_public_key or "chưa tạo"),
        ("Thời điểm lập báo cáo", fig.generated_at.replace(tzinfo=None)),
    ]
    return items
