"""The station key in reports: its public half, and the report's log head signed by it.

A report or evidence pack handed to the district is then a checkpoint nobody at the
station can move: ``broadcaster log verify --against`` checks a later database against
it, and the signature shows the station (not whoever holds the file) made it. Reports
only read the database: the head is signed in memory, not stored. A station without a
key yet gets reports without a signature (and says so); a key file others can read is
refused, as everywhere.
"""

from __future__ import annotations

from datetime import UTC

from broadcaster.app.context import StationContext
from broadcaster.reports.figures import ReportFigures
from broadcaster.store import signing

SIGNED_HEAD_JSON = "dau-chuoi-nhat-ky-da-ky.json"
PUBLIC_KEY_TXT = "khoa-cong-khai-cua-dai.txt"


def attach(ctx: StationContext, fig: ReportFigures) -> None:
    """Fill the figures' public key and signed head (in place)."""
    key = signing.load_key(ctx.root, required=False)
    if key is None:
        return
    fig.station_public_key = key.public_hex
    head = signing.make_head(
        key, fig.station_id, fig.log_head_count, fig.log_head_hash, fig.generated_at.astimezone(UTC)
    )
    fig.log_head_signed = signing.head_to_json(head)


def public_key_text(fig: ReportFigures) -> str:
    """The pack's note on the key, in Vietnamese (for the inspector)."""
    if not fig.station_public_key:
        return "Đài chưa tạo khóa ký (broadcaster keys init): hồ sơ này không có chữ ký.\n"
    return (
        "KHÓA CÔNG KHAI CỦA ĐÀI (Ed25519, dạng hex)\n"
        f"{fig.station_public_key}\n"
        f"Dấu vân tay: {signing.fingerprint(fig.station_public_key)}\n\n"
        f"{SIGNED_HEAD_JSON}: đầu chuỗi nhật ký (số bản ghi, mã băm) tại thời điểm lập hồ sơ,\n"
        "được ký bằng khóa riêng của đài. Trường signed_message là đúng chuỗi byte đã ký.\n"
        "Đối chiếu cơ sở dữ liệu của đài với hồ sơ này:\n"
        "  broadcaster log verify --against <tệp zip này>\n"
    )
