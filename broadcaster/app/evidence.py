"""The evidence pack: what an inspector needs to check the report's claims without the
system. The report, the raw log of the period, the result of verifying the log's hash
chain, and a manifest: the SHA-256 of every file in the pack (``sha256sum -c`` checks it)
and of every audio file that aired, compared with the hash the log recorded at air time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from broadcaster.app import reports as build
from broadcaster.app import signed_head
from broadcaster.app.context import StationContext
from broadcaster.core.errors import FieldProblem
from broadcaster.i18n import _, clock_word
from broadcaster.reports import csv_writer, json_writer, pdf, rawlog
from broadcaster.reports.output import atomic_file, check_target
from broadcaster.reports.period import Period
from broadcaster.store import aslog, auditlog, renditions, reporting
from broadcaster.store.chain import ChainReport

PACK_FORMATS = ("docx", "xlsx", "json", "pdf")
LOG_CSV = "nhat-ky-phat-song.csv"
VERIFY_JSON = "kiem-tra-nhat-ky.json"
VERIFY_TXT = "kiem-tra-nhat-ky.txt"
AUDIO_CSV = "am-thanh-da-phat.csv"
MANIFEST = "MANIFEST.sha256"
AUDIT_CSV = "nhat-ky-thao-tac.csv"
AUDIT_VERIFY_JSON = "kiem-tra-nhat-ky-thao-tac.json"
AUDIT_FIELDS = (*auditlog.HASHED_FIELDS, "entry_hash")
README = "DOC-TRUOC.txt"


@dataclass
class Pack:
    path: Path
    files: list[str]
    audio_files: int
    audio_included: int
    log_ok: bool
    audio_problems: list[str] = field(default_factory=list)


@dataclass
class AiredAudio:
    sha256: str
    bulletin_ids: list[str]
    times_aired: int
    path: str  # relative to the station, "" when no rendition records it
    state: str  # "khớp" | "không khớp" | "không tìm thấy"
    in_pack: str = ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_pack(
    ctx: StationContext,
    period: Period,
    zone_ids: list[str],
    fmt: str,
    out: Path,
    *,
    with_audio: bool = False,
    include_unreal: bool = False,
) -> Pack:
    fmt = fmt.lower()
    if fmt not in PACK_FORMATS:
        raise FieldProblem(
            _(
                "unknown report format '{fmt}' for the pack (known: {known}; the "
                "raw log CSV is always included)"
            ).format(fmt=fmt, known=", ".join(PACK_FORMATS)),
            field="format",
        )
    out = check_target(out)
    if fmt == "pdf":
        pdf.require_soffice()
    tz = ctx.station.tz
    with tempfile.TemporaryDirectory(prefix=".evidence-", dir=out.parent) as tmp:
        work = Path(tmp)
        fig = build.figures(ctx, period, zone_ids, include_unreal=include_unreal)
        report_name = f"bao-cao-{period.key.replace('..', '_')}.{fmt}"
        report_path = work / report_name
        if fmt == "json":
            json_writer.write_json(report_path, fig)
        elif fmt == "xlsx":
            build.xlsx_report(ctx, period, zone_ids, fig, report_path, csv_name=LOG_CSV)
        elif fmt == "docx":
            build.write_docx(report_path, fig, ctx)
        else:
            source = work / "source.docx"
            build.write_docx(source, fig, ctx)
            pdf.docx_to_pdf(source, report_path)
            source.unlink()
        with ctx.db.read() as s:
            csv_writer.write_csv(work / LOG_CSV, rawlog.stream(s, period, zone_ids), tz)
            chain = aslog.verify(s)
            audio = _aired_audio(s, period, zone_ids, ctx.root, real_only=not include_unreal)
            audit_chain = auditlog.verify(s)
            audit_entries = auditlog.entries(s, period.start, period.end)
        _write_verification(work, chain, ctx, period)
        _write_audit(work, audit_entries, audit_chain, ctx, period)
        files = [report_name, LOG_CSV, VERIFY_JSON, VERIFY_TXT, AUDIO_CSV]
        files += [AUDIT_CSV, AUDIT_VERIFY_JSON]
        files += _write_station_key(work, fig)
        included = 0
        if with_audio:
            for a in audio:
                if a.state == "khớp":
                    a.in_pack = f"am-thanh/{a.bulletin_ids[0]}-{a.sha256[:12]}{Path(a.path).suffix}"
                    included += 1
        _write_audio_csv(work / AUDIO_CSV, audio)
        _write_readme(work / README, fig.station_name, period, report_name, with_audio)
        files.append(README)
        sums = {name: sha256_of(work / name) for name in files}
        for a in audio:
            if a.in_pack:
                sums[a.in_pack] = a.sha256  # verified equal to the file's bytes just now
        (work / MANIFEST).write_text(
            "".join(f"{digest}  {name}\n" for name, digest in sums.items()), encoding="utf-8"
        )
        with atomic_file(out) as target, zipfile.ZipFile(target, "w") as z:
            for name in [*files, MANIFEST]:
                z.write(work / name, name, compress_type=zipfile.ZIP_DEFLATED)
            for a in audio:
                if a.in_pack:
                    # Compressed audio does not shrink: store it as is.
                    z.write(ctx.root / a.path, a.in_pack, compress_type=zipfile.ZIP_STORED)
    problems = [
        f"audio {a.sha256[:16]} ({', '.join(a.bulletin_ids)}): {a.path or '-'}: "
        + ("file not found" if a.state == "không tìm thấy" else "file differs from what aired")
        for a in audio
        if a.state != "khớp"
    ]
    return Pack(
        out,
        [*files, MANIFEST, *(a.in_pack for a in audio if a.in_pack)],
        len(audio),
        included,
        chain.ok,
        problems,
    )


def _aired_audio(
    session, period: Period, zone_ids: list[str], root: Path, *, real_only: bool = True
) -> list[AiredAudio]:
    """Every distinct audio the log says aired in the period, found again on disk by hash
    (on the real clock only, unless the pack includes non-real entries)."""
    by_hash: dict[str, AiredAudio] = {}
    aired = reporting.aired_audio(session, period.start, period.end, zone_ids, real_only)
    for sha, bulletin_id, n in aired:
        found = by_hash.setdefault(sha, AiredAudio(sha, [], 0, "", "không tìm thấy"))
        found.bulletin_ids.append(bulletin_id)
        found.times_aired += n
    for a in by_hash.values():
        for rel in renditions.audio_paths(session, a.sha256):
            candidate = root / rel
            if candidate.is_file():
                a.path = rel
                a.state = "khớp" if sha256_of(candidate) == a.sha256 else "không khớp"
                if a.state == "khớp":
                    break
            elif not a.path:
                a.path = rel
    return sorted(by_hash.values(), key=lambda a: (a.bulletin_ids[0], a.sha256))


def _write_verification(work: Path, chain: aslog.ChainReport, ctx, period: Period) -> None:
    data = {
        "ok": chain.ok,
        "entries": chain.count,
        "head_hash": chain.head_hash,
        "stored_count": chain.stored_count,
        "stored_hash": chain.stored_hash,
        "problems": chain.problems,
        "unreal": chain.unreal,
        "checked_at": ctx.clock.now().astimezone(ctx.station.tz).replace(microsecond=0).isoformat(),
        "period": period.key,
    }
    (work / VERIFY_JSON).write_text(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    lines = [
        "KẾT QUẢ KIỂM TRA CHUỖI MÃ BĂM NHẬT KÝ PHÁT SÓNG (broadcaster log verify)",
        f"Thời điểm kiểm tra: {data['checked_at']}",
        f"Số bản ghi đã kiểm tra: {chain.count}",
        f"Mã băm đầu chuỗi: {chain.head_hash}",
        "Kết luận: "
        + (
            "NGUYÊN VẸN (không bản ghi nào bị sửa, xóa, đảo thứ tự hay cắt bớt)"
            if chain.ok
            else f"BỊ CAN THIỆP ({len(chain.problems)} vấn đề)"
        ),
        *(f"- {p}" for p in chain.problems),
    ]
    if chain.unreal:
        lines.append(
            "CẢNH BÁO: "
            + f"{chain.unreal_count} bản ghi được tạo theo đồng hồ không phải đồng hồ thực ("
            + ", ".join(f"{clock_word(k, 'vi')}: {n}" for k, n in sorted(chain.unreal.items()))
            + "): chuỗi mã băm vẫn nguyên vẹn, nhưng đó không phải minh chứng phát sóng."
        )
    (work / VERIFY_TXT).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_audit(
    work: Path, entries: list, chain: ChainReport, ctx: StationContext, period: Period
) -> None:
    """Who did what in the period (the audit trail's entries) and the whole trail's
    verification: the pack shows who approved, queued, cancelled and aired, and whether
    that record was tampered with."""
    tz = ctx.station.tz
    with (work / AUDIT_CSV).open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(AUDIT_FIELDS)
        for e in entries:
            row = [getattr(e, name) for name in AUDIT_FIELDS]
            row[1] = e.recorded_at.astimezone(tz).isoformat(timespec="seconds")
            out.writerow(row)
    data = {
        "ok": chain.ok,
        "entries": chain.count,
        "head_hash": chain.head_hash,
        "problems": chain.problems,
        "entries_in_period": len(entries),
        "checked_at": ctx.clock.now().astimezone(tz).replace(microsecond=0).isoformat(),
        "period": period.key,
    }
    (work / AUDIT_VERIFY_JSON).write_text(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def _write_station_key(work: Path, fig) -> list[str]:
    """The station key's part of the pack: its public half and the signed log head
    (docs/SECURITY.md); ``log verify --against`` reads the head back from the zip."""
    (work / signed_head.PUBLIC_KEY_TXT).write_text(
        signed_head.public_key_text(fig), encoding="utf-8"
    )
    names = [signed_head.PUBLIC_KEY_TXT]
    if fig.log_head_signed is not None:
        (work / signed_head.SIGNED_HEAD_JSON).write_text(
            json.dumps(fig.log_head_signed, ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
        names.append(signed_head.SIGNED_HEAD_JSON)
    return names


def _write_audio_csv(path: Path, audio: list[AiredAudio]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["sha256", "bulletin_ids", "times_aired", "station_path", "file_check", "in_pack"]
        )
        for a in audio:
            w.writerow(
                [a.sha256, " ".join(a.bulletin_ids), a.times_aired, a.path, a.state, a.in_pack]
            )


def _write_readme(path: Path, station: str, period: Period, report: str, audio: bool) -> None:
    text = f"""HỒ SƠ MINH CHỨNG PHÁT SÓNG – {station}
Kỳ báo cáo: {period.title} ({period.first:%d/%m/%Y} – {period.last:%d/%m/%Y})

{report}: báo cáo kết quả phát sóng, số liệu tổng hợp từ nhật ký phát sóng.
{LOG_CSV}: toàn bộ bản ghi nhật ký phát sóng của kỳ (UTF-8, mở được bằng Excel). Mỗi bản
  ghi có mã băm (entry_hash) tính từ nội dung của nó và mã băm bản ghi trước (prev_hash).
{VERIFY_TXT}, {VERIFY_JSON}: kết quả kiểm tra toàn bộ chuỗi mã băm của nhật ký
  tại thời điểm lập hồ sơ.
{AUDIO_CSV}: mọi tệp âm thanh đã phát trong kỳ, với mã SHA-256 nhật ký ghi lúc phát và
  kết quả đối chiếu với tệp đang lưu tại đài.{
        '''
am-thanh/: chính các tệp âm thanh đã phát.'''
        if audio
        else ""
    }
{AUDIT_CSV}: nhật ký thao tác của kỳ (ai duyệt, xếp lịch, hủy, phát khẩn cấp, bị từ
  chối...), cũng là chuỗi mã băm; {AUDIT_VERIFY_JSON}: kết quả kiểm tra toàn chuỗi.
{signed_head.PUBLIC_KEY_TXT}, {signed_head.SIGNED_HEAD_JSON}: khóa công khai của đài và
  đầu chuỗi nhật ký có chữ ký của đài (đối chiếu: broadcaster log verify --against).
{MANIFEST}: mã SHA-256 của mọi tệp trong hồ sơ này.

Kiểm tra hồ sơ không cần phần mềm của đài: giải nén rồi chạy
  sha256sum -c {MANIFEST}
(mọi dòng phải báo OK).
"""
    path.write_text(text, encoding="utf-8")
