"""A bulletin's recording from the web page (web/recording_pages.py, app/recordings.py):
real audio made by ffmpeg in every accepted kind, uploaded through the real application
(the fixtures of tests/test_web.py: the small rendered, approved station, its SQLite
database, a simulated clock), kept under audio/recordings by its hash, named in the
script, heard back through the page's route; every hostile upload refused at the field
with nothing written; a new recording needs approval again, and once approved it is
what airs; ``broadcaster check`` accepts the station the page wrote."""

from __future__ import annotations

import html
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import test_web
from airingkit import book, sha
from stationkit import Cli, at, rows
from test_web import client, signed_in

from broadcaster.app import approvals, bulletins, editorial, recordings, schedule
from broadcaster.app.audit import AuditTrail

ctx = test_web.ctx  # the fixtures: the small station, its accounts, the application
app = test_web.app

BULLETIN = "nq57-ba"
UPLOAD = f"/ban-tin/{BULLETIN}/ban-ghi"
SLOT = at(0, 6)  # Monday 06:00 local, the morning session

#: name -> (ffmpeg output options, the suffix it is kept under)
KINDS = {
    "tin.mp3": (["-c:a", "libmp3lame", "-b:a", "64k"], ".mp3"),
    "tin.wav": (["-c:a", "pcm_s16le"], ".wav"),
    "tin.m4a": (["-c:a", "aac", "-b:a", "64k"], ".m4a"),
    "tin.ogg": (["-c:a", "libvorbis"], ".ogg"),
    "opus.ogg": (["-c:a", "libopus"], ".ogg"),
    "may-ghi.webm": (["-c:a", "libopus", "-f", "webm"], ".ogg"),  # a browser's MediaRecorder
}


def make_audio(path: Path, options: list[str], seconds: float = 3, tone: str = "sine") -> Path:
    source = f"{tone}=frequency=440:duration={seconds}" if tone == "sine" else tone
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-ac", "1", *options,
         str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sounds")
    made = {name: make_audio(folder / name, opts) for name, (opts, _suffix) in KINDS.items()}
    made["silence.wav"] = make_audio(
        folder / "silence.wav", ["-c:a", "pcm_s16le"], tone="anullsrc=r=16000:cl=mono:d=3"
    )
    # 11 minutes: longer than the small station's 10-minute sessions; 31: than the cap
    made["long.mp3"] = make_audio(
        folder / "long.mp3", ["-ar", "8000", "-b:a", "8k"], seconds=11 * 60
    )
    made["longer.mp3"] = make_audio(
        folder / "longer.mp3", ["-ar", "8000", "-b:a", "8k"], seconds=31 * 60
    )
    made["video.mp4"] = folder / "video.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=2:size=64x64",
         "-f", "lavfi", "-i", "sine=duration=2", "-shortest", "-c:v", "mpeg4", "-c:a", "aac",
         str(made["video.mp4"])],
        check=True,
    )  # fmt: skip
    return made


def officer(app):
    return signed_in(app, "lan")


def post(c, csrf: str, name: str, data: bytes, kind: str = "audio/mpeg", **extra):
    return c.post(UPLOAD, data={"csrf": csrf}, files={"recording": (name, data, kind)}, **extra)


def field_error(page: str) -> str:
    found = re.search(r'<div id="recording-error"[^>]*>(.*?)</div>', page, flags=re.S)
    assert found, page[:3000]
    return html.unescape(found.group(1)).strip()


def snapshot(root: Path) -> tuple[str, list[str]]:
    """The script's bytes and every file under audio/recordings (hidden ones included)."""
    folder = root / "audio" / "recordings"
    files = sorted(p.name for p in folder.iterdir()) if folder.exists() else ["(none)"]
    return (root / "scripts" / f"{BULLETIN}.md").read_text(encoding="utf-8"), files


def audio_field(ctx) -> str:
    return ctx.bulletin(BULLETIN).audio_file or ""


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_is_kept_by_its_hash_and_heard_through_the_page(app, ctx, sounds, name):
    c, csrf = officer(app)
    before = ctx.bulletin(BULLETIN).script_sha256
    answer = post(c, csrf, name, sounds[name].read_bytes(), "application/octet-stream")
    assert answer.status_code == 303, answer.text[:2000]
    assert answer.headers["location"] == f"/ban-tin/{BULLETIN}?xong=recorded#ban-ghi"
    kept = audio_field(ctx)
    suffix = KINDS[name][1]
    assert re.fullmatch(rf"audio/recordings/{BULLETIN}-[0-9a-f]{{16}}\{suffix}", kept), kept
    stored = ctx.root / kept
    assert sha(stored).startswith(Path(kept).stem.rsplit("-", 1)[1])
    assert name not in kept and not any(p.name.startswith(".") for p in stored.parent.iterdir())
    assert ctx.bulletin(BULLETIN).script_sha256 != before
    page = c.get(f"/ban-tin/{BULLETIN}?xong=recorded")
    assert "Đã lưu bản ghi âm" in page.text
    assert f'src="/ban-tin/{BULLETIN}/ban-ghi"' in page.text and kept not in page.text
    heard = c.get(UPLOAD)
    assert heard.status_code == 200 and heard.content == stored.read_bytes()
    assert heard.headers["content-type"].startswith("audio/")
    assert heard.headers["cache-control"] == "no-store"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=format_name", "-of", "csv=p=0",
         str(stored)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip().strip('"') in ("mp3", "wav", "mov,mp4,m4a,3gp,3g2,mj2", "ogg")
    entry = [e for e in AuditTrail(ctx.db, ctx.clock).entries() if e.target == BULLETIN][-1]
    assert (entry.actor, entry.action, entry.result) == ("lan", "bulletin.write", "ok")


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("tin.txt", "không phải âm thanh")
    return buffer.getvalue()


PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"


def hostile_cases(sounds) -> list[tuple[str, bytes, str]]:
    """(name sent, bytes, the message at the field)"""
    real = sounds["tin.mp3"].read_bytes()
    name = "tên tệp không hợp lệ: dùng một tên thường, không có thư mục hay ký hiệu"
    not_audio = "đây không phải tệp âm thanh (mp3, wav, m4a hoặc ogg)"
    return [
        ("tin-zip.mp3", zip_bytes(), not_audio),
        ("ghi-chu.mp3", "Xin chào bà con".encode(), not_audio),
        ("danh-sach.mp3", PLAYLIST, not_audio),
        ("rong.mp3", b"", "tệp rỗng"),
        ("../../x.mp3", real, name),
        ("..\\..\\x.mp3", real, name),
        ("<script>alert(1)</script>.mp3", real, name),
        ("im-lang.wav", sounds["silence.wav"].read_bytes(), "bản ghi âm không có tiếng"),
        (
            "dai.mp3",
            sounds["long.mp3"].read_bytes(),
            "bản ghi âm dài 11.0 phút: tối đa 10 phút ở đây",
        ),
        ("phim.mp4", sounds["video.mp4"].read_bytes(), "tệp là video: chỉ gửi phần âm thanh"),
    ]


def test_hostile_uploads_are_refused_at_the_field_and_write_nothing(app, ctx, sounds):
    c, csrf = officer(app)
    before = snapshot(ctx.root)
    for name, data, message in hostile_cases(sounds):
        answer = post(c, csrf, name, data)
        assert answer.status_code == 400, (name, answer.status_code)
        said = field_error(answer.text)
        assert "\n" not in said and said, name
        assert said == message, (name, said)
        assert "<script>alert" not in answer.text  # the name is never echoed
        assert snapshot(ctx.root) == before, name
        assert str(editorial.summary(ctx, BULLETIN).state) == "approved", name
    trail = AuditTrail(ctx.db, ctx.clock).entries()
    # a mistake is neither done nor refused: nothing in the audit trail (app/audit.audited)
    assert not [e for e in trail if e.actor == "lan" and e.action == "bulletin.write"]


def test_the_30_minute_cap_holds_even_where_sessions_are_longer(app, ctx, sounds):
    """An emergency bulletin may outlast a session, not the cap."""
    c, csrf = officer(app)
    answer = c.post(
        "/ban-tin/bao-lu/ban-ghi",
        data={"csrf": csrf},
        files={"recording": ("dai.mp3", sounds["longer.mp3"].read_bytes(), "audio/mpeg")},
    )
    assert answer.status_code == 400
    assert field_error(answer.text) == "bản ghi âm dài 31.0 phút: tối đa 30 phút ở đây"
    assert ctx.bulletin("bao-lu").audio_file is None


def test_no_file_and_a_file_over_the_cap_are_refused(app, ctx, sounds, monkeypatch):
    c, csrf = officer(app)
    before = snapshot(ctx.root)
    empty = c.post(UPLOAD, data={"csrf": csrf})
    assert (
        empty.status_code == 400 and field_error(empty.text) == "hãy chọn một bản ghi âm để tải lên"
    )
    # a body larger than the route takes is refused before it is read: one line, 413
    huge = b"\0" * (recordings.MAX_RECORDING_BYTES + 128 * 1024)
    answer = post(c, csrf, "to.mp3", huge)
    assert answer.status_code == 413
    assert "tệp lớn hơn 50 MB: hãy gửi bản ghi ngắn hơn hoặc nén nhỏ hơn" in answer.text
    # a body that does not say its length (chunked) is not read either
    chunked = c.post(
        UPLOAD,
        content=(part for part in (b"--x\r\n", b"\0" * 1000)),
        headers={"content-type": "multipart/form-data; boundary=x", "x-csrf-token": csrf},
    )
    assert chunked.status_code == 411 and "phải ghi rõ độ dài" in chunked.text
    # and the file itself, whatever the body said, past the cap (here made small)
    monkeypatch.setattr(recordings, "MAX_RECORDING_BYTES", 10_000)
    answer = post(c, csrf, "tin.wav", sounds["tin.wav"].read_bytes(), "audio/wav")
    assert answer.status_code == 400 and field_error(answer.text).startswith("tệp lớn hơn 0 MB")
    assert snapshot(ctx.root) == before


def test_only_an_officer_uploads_with_the_forms_token(app, ctx, sounds):
    data = sounds["tin.mp3"].read_bytes()
    before = snapshot(ctx.root)
    approver, a_csrf = signed_in(app, "chu-tich")
    assert post(approver, a_csrf, "tin.mp3", data).status_code == 403
    c, _csrf = officer(app)
    assert post(c, "sai", "tin.mp3", data).status_code == 403  # no CSRF token, no change
    assert client(app).post(UPLOAD, files={"recording": ("a.mp3", data)}).status_code == 303
    assert snapshot(ctx.root) == before
    # the token in the header, as recorder.js sends it
    page = c.get(f"/ban-tin/{BULLETIN}").text
    token = test_web.csrf_of(page)
    sent = c.post(
        UPLOAD, files={"recording": ("ghi-am.mp3", data)}, headers={"X-CSRF-Token": token}
    )
    assert sent.status_code == 303
    assert approver.get(UPLOAD).status_code == 200  # the approver hears it


def test_the_page_offers_the_upload_and_the_microphone_to_officers_only(app, ctx):
    c, _csrf = officer(app)
    page = c.get(f"/ban-tin/{BULLETIN}").text
    assert f'action="{UPLOAD}"' in page and 'enctype="multipart/form-data"' in page
    assert 'src="/tep/recorder.js"' in page and "data-recorder" in page
    assert 'data-max-bytes="52428800"' in page and "Ghi âm" in page
    approver, _ = signed_in(app, "chu-tich")
    seen = approver.get(f"/ban-tin/{BULLETIN}").text
    assert f'action="{UPLOAD}"' not in seen
    assert c.get(UPLOAD).status_code == 400  # no recording yet: said, not served


def test_a_script_naming_a_file_outside_the_audio_folder_is_not_served(app, ctx, sounds):
    (ctx.root / "schedules" / "ngoai.mp3").write_bytes(sounds["tin.mp3"].read_bytes())
    script = ctx.root / "scripts" / "ngoai.md"
    script.write_text(
        "---\nid: ngoai\ntitle: Ngoài\ncampaign: nq57\nzones: all\n"
        "audio: schedules/ngoai.mp3\n---\nBản ghi.\n",
        encoding="utf-8",
    )
    c, _csrf = officer(app)
    assert ctx.bulletin("ngoai").audio_file == "schedules/ngoai.mp3"
    assert c.get("/ban-tin/ngoai/ban-ghi").status_code == 400


def test_a_new_recording_needs_approval_again_and_is_then_what_airs(app, ctx, sounds):
    assert approvals.approval_state(ctx, ctx.bulletin(BULLETIN)) == "approved"
    c, csrf = officer(app)
    assert post(c, csrf, "tin.m4a", sounds["tin.m4a"].read_bytes()).status_code == 303
    bulletin = ctx.bulletin(BULLETIN)
    assert approvals.approval_state(ctx, bulletin) == "changed-since-approval"
    assert str(editorial.summary(ctx, BULLETIN).state) == "changed-since-approval"
    engine = schedule.engine_for(ctx, ctx.outputs(ctx.clock))
    refused = book(ctx, BULLETIN, "xa", SLOT)
    assert engine.begin(refused, SLOT) is None  # the gate: not approved for this content
    [entry] = rows(ctx.root, "select * from as_run_log where airing_id=?", refused)
    assert entry["outcome"] == "failed"
    # render (the page's "make the audio"), approve, air
    assert c.post(f"/ban-tin/{BULLETIN}/doc", data={"csrf": csrf}).status_code == 303
    [made] = rows(
        ctx.root,
        "select engine, audio_path, audio_sha256, duration_seconds from rendition "
        "where bulletin_id=? and script_sha256=?",
        BULLETIN,
        bulletin.script_sha256,
    )
    assert made["engine"] == "recorded" and 2.5 < made["duration_seconds"] < 10
    approver, a_csrf = signed_in(app, "chu-tich")
    assert approver.post(f"/duyet/{BULLETIN}/duyet", data={"csrf": a_csrf}).status_code == 303
    assert approvals.approval_state(ctx, ctx.bulletin(BULLETIN)) == "approved"
    airing = book(ctx, BULLETIN, "thon-a", SLOT)
    assert engine.begin(airing, SLOT) is not None
    [played] = (ctx.root / "out" / "thon-a").glob(f"*-a{airing}-*")
    assert sha(played) == made["audio_sha256"]
    # the same bytes again change nothing: the approval holds
    assert post(c, csrf, "lai.m4a", sounds["tin.m4a"].read_bytes()).status_code == 303
    assert approvals.approval_state(ctx, ctx.bulletin(BULLETIN)) == "approved"


def test_editing_a_recorded_bulletin_keeps_its_recording(app, ctx, sounds):
    c, csrf = officer(app)
    assert post(c, csrf, "tin.ogg", sounds["tin.ogg"].read_bytes()).status_code == 303
    kept = audio_field(ctx)
    fields, body = editorial.form_of(ctx, BULLETIN)
    form = {**fields, "csrf": csrf, "body": body, "title": "Bản tin có ghi âm", "audio": "x.mp3"}
    assert c.post(f"/ban-tin/{BULLETIN}/sua", data=form).status_code == 303
    assert audio_field(ctx) == kept and ctx.bulletin(BULLETIN).title == "Bản tin có ghi âm"


def test_check_accepts_the_station_after_an_upload(app, ctx, sounds):
    c, csrf = officer(app)
    assert post(c, csrf, "may-ghi.webm", sounds["may-ghi.webm"].read_bytes()).status_code == 303
    assert bulletins.current_audio(ctx, BULLETIN) is None  # not rendered yet
    checked = Cli(ctx.root)("check")
    assert checked.code == 0, checked.out + checked.err


def test_the_kind_is_what_the_bytes_are_not_the_name_nor_the_content_type(app, ctx, sounds):
    c, csrf = officer(app)
    answer = post(c, csrf, "Bản tin sáng.wav", sounds["tin.mp3"].read_bytes(), "audio/wav")
    assert answer.status_code == 303
    assert audio_field(ctx).endswith(".mp3") and "sáng" not in audio_field(ctx)


def test_a_recordings_folder_leading_out_of_the_station_is_refused(app, ctx, sounds, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ctx.root / "audio" / "recordings").symlink_to(elsewhere)
    c, csrf = officer(app)
    answer = post(c, csrf, "tin.mp3", sounds["tin.mp3"].read_bytes())
    assert answer.status_code == 400
    assert field_error(answer.text).startswith("audio/recordings dẫn ra ngoài trạm")
    assert list(elsewhere.iterdir()) == [] and ctx.bulletin(BULLETIN).audio_file is None
