"""An officer's recording attached to a bulletin (uploaded, or made with the browser's
microphone): what is accepted, where it is kept, and how it is heard back.

Nothing the client says is believed: not the file's name (refused when it carries a
path or markup, never used for the stored name), not its content type. What the bytes
are is what ffprobe finds, with ffmpeg held to the audio demuxers and to local files (a
playlist named ``.mp3`` must not make it open anything else). The accepted stream is
copied, not re-encoded, into a clean container ffmpeg writes itself (a browser's
WebM/Opus becomes Ogg/Opus, which every part of the station reads), then decoded once
as ``check`` does: a damaged, silent or too long recording is refused.

The file is kept as ``audio/recordings/<bulletin-id>-<sha256 prefix>.<ext>`` (written
atomically), a name the client never chooses; the script's ``audio:`` field then names
it, written through the editorial script writer (checked as ``check`` reads scripts,
atomic, audited). The script's bytes change with the name, so its hash does, and an
approval of the earlier content no longer holds: the new recording needs its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

from broadcaster.app.actors import Actor
from broadcaster.app.audit import audited
from broadcaster.app.checks import longest_session_seconds
from broadcaster.app.context import StationContext
from broadcaster.app.editorial import form_of, rewrite_script
from broadcaster.app.permissions import Action
from broadcaster.core.errors import BroadcasterError, FieldProblem
from broadcaster.core.model import Bulletin, Priority
from broadcaster.i18n import _

#: The largest recording accepted, in bytes (a web request larger than this, with its
#: form's few fields, is refused before its body is read).
MAX_RECORDING_BYTES = 50 * 1024 * 1024
#: The longest recording accepted, in seconds (a session's cap may be shorter still).
MAX_RECORDING_SECONDS = 30 * 60
#: Where recordings are kept, inside the station.
RECORDINGS = Path("audio") / "recordings"
#: The form field a refusal names.
FIELD = "recording"

#: The demuxers ffmpeg may use on an uploaded file (``format_whitelist``).
DEMUXERS = "mp3,wav,mov,mp4,m4a,3gp,3g2,mj2,ogg,matroska,webm,flac"
#: ffprobe's format name -> (the stored file's suffix, the muxer that writes it).
KINDS: dict[str, tuple[str, str]] = {
    "mp3": (".mp3", "mp3"),
    "wav": (".wav", "wav"),
    "mov,mp4,m4a,3gp,3g2,mj2": (".m4a", "ipod"),
    "ogg": (".ogg", "ogg"),
    "matroska,webm": (".ogg", "ogg"),  # a browser's MediaRecorder: Opus, kept as it is
    "flac": (".flac", "flac"),
}
KINDS_MUXER = {suffix: muxer for suffix, muxer in KINDS.values()}
#: Codecs each stored container can hold without re-encoding.
CODECS: dict[str, frozenset[str]] = {
    ".mp3": frozenset({"mp3"}),
    ".wav": frozenset({"pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8"}),
    ".m4a": frozenset({"aac", "alac"}),
    ".ogg": frozenset({"opus", "vorbis", "flac"}),
    ".flac": frozenset({"flac"}),
}
MEDIA_TYPES = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
}
CHUNK = 1024 * 1024
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*\\/]|\.\.")


def _refuse(message: str) -> FieldProblem:
    return FieldProblem(message, field=FIELD)


def check_name(name: str | None) -> None:
    """A name a browser sends (only the file's own name) is fine, whatever its language;
    one with a folder in it or markup is somebody's attempt: refused."""
    if name is None or name == "":
        return
    if len(name) > 255 or _BAD_NAME.search(name) or name.strip() in (".", ""):
        raise _refuse(
            _("the file's name is not acceptable: use a plain name, without folders or symbols")
        )


def attach_recording(
    ctx: StationContext,
    actor: Actor,
    bulletin_id: str,
    source: BinaryIO,
    filename: str | None = None,
) -> Bulletin:
    """Keep ``source`` as the bulletin's recording and name it in its script; all of it
    or nothing (a refusal leaves no file and the script as it was). The officer's right,
    recorded in the audit trail."""
    bulletin = ctx.bulletin(bulletin_id)
    with audited(ctx, actor, Action.BULLETIN_WRITE, bulletin.id, detail="recording") as note:
        check_name(filename)
        folder = ctx.root / RECORDINGS
        with tempfile.TemporaryDirectory(prefix="broadcaster-upload-") as scratch:
            received = Path(scratch) / "received"
            _receive(source, received)
            suffix = _kind(received)
            new_folder = _folder_in_station(ctx, folder)
            staging = folder / f".upload-{os.getpid()}-{os.urandom(4).hex()}{suffix}"
            created = False
            try:
                _copy_stream(received, staging, KINDS_MUXER[suffix])
                _check_sound(ctx, bulletin, staging)
                digest = _sha256(staging)
                target = folder / f"{bulletin.id}-{digest[:16]}{suffix}"
                created = not target.exists()
                os.replace(staging, target)
                relative = target.relative_to(ctx.root).as_posix()
                fields, body = form_of(ctx, bulletin.id)
                fields["audio"] = relative
                made = rewrite_script(ctx, bulletin.id, fields, body)
            except BaseException:
                if created:
                    target.unlink(missing_ok=True)
                staging.unlink(missing_ok=True)
                if new_folder and not any(folder.iterdir()):
                    folder.rmdir()  # a refusal leaves the station as it was
                raise
            finally:
                staging.unlink(missing_ok=True)
        note.detail = f"recording {relative} -> script {made.script_sha256[:16]}"
        return made


def _folder_in_station(ctx: StationContext, folder: Path) -> bool:
    """Make the recordings' folder if it is missing (True: made now); one that leads out
    of the station (a planted link) is refused before anything is written there."""
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.resolve().is_relative_to(ctx.root.resolve()):
        raise BroadcasterError(
            _("{folder} leads out of the station: recordings cannot be kept there").format(
                folder=RECORDINGS.as_posix()
            )
        )
    return made


def _receive(source: BinaryIO, into: Path) -> None:
    """Copy the upload, refusing it once it is larger than the cap (whatever it said)."""
    total = 0
    with into.open("wb") as out:
        while chunk := source.read(CHUNK):
            total += len(chunk)
            if total > MAX_RECORDING_BYTES:
                raise _refuse(too_large_message())
            out.write(chunk)
    if total == 0:
        raise _refuse(_("the file is empty"))


def too_large_message() -> str:
    return _("the file is larger than {mb} MB: send a shorter or more compressed recording").format(
        mb=MAX_RECORDING_BYTES // (1024 * 1024)
    )


def _ffprobe(path: Path) -> dict:
    try:
        run = subprocess.run(
            ["ffprobe", "-v", "error", "-format_whitelist", DEMUXERS,
             "-protocol_whitelist", "file", "-show_entries",
             "format=format_name:stream=codec_type,codec_name:stream_disposition=attached_pic",
             "-of", "json", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise BroadcasterError(_("ffprobe is not installed (it comes with ffmpeg)")) from None
    except subprocess.TimeoutExpired:
        raise _refuse(_("ffprobe took more than a minute to read it")) from None
    try:
        data = json.loads(run.stdout or "{}")
    except ValueError:
        data = {}
    return data if run.returncode == 0 and isinstance(data, dict) else {}


def _kind(path: Path) -> str:
    """The stored file's suffix for what ffprobe finds in the bytes, or a refusal."""
    data = _ffprobe(path)
    format_name = str((data.get("format") or {}).get("format_name") or "")
    kind = KINDS.get(format_name)
    not_audio = _("this is not an audio file (mp3, wav, m4a or ogg)")
    if kind is None:
        raise _refuse(not_audio)
    streams = [s for s in data.get("streams", []) if isinstance(s, dict)]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    moving = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not audio:
        raise _refuse(_("the file has no sound in it"))
    if moving:
        raise _refuse(_("the file is a video: send the sound only"))
    suffix = kind[0]
    if str(audio[0].get("codec_name")) not in CODECS[suffix]:
        raise _refuse(not_audio)
    return suffix


def _copy_stream(received: Path, staging: Path, muxer: str) -> None:
    """The first audio stream as it is, in a container ffmpeg writes (no tags, no
    pictures, no name of the client's)."""
    try:
        run = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error",
             "-format_whitelist", DEMUXERS, "-protocol_whitelist", "file",
             "-i", str(received), "-map", "0:a:0", "-c", "copy", "-map_metadata", "-1",
             "-fflags", "+bitexact", "-f", muxer, "-y", str(staging)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise BroadcasterError(_("ffmpeg is not installed")) from None
    except subprocess.TimeoutExpired:
        raise _refuse(_("ffmpeg took more than 5 minutes to read it")) from None
    if run.returncode != 0 or not staging.is_file() or staging.stat().st_size == 0:
        said = (run.stderr.strip().splitlines() or [_("ffmpeg failed")])[-1][:120]
        raise _refuse(_("the recording cannot be read: ffmpeg says '{err}'").format(err=said))


def _check_sound(ctx: StationContext, bulletin: Bulletin, path: Path) -> None:
    """Decoded once, as ``check`` does: whole, audible, and short enough to air."""
    from broadcaster.speech.production import probe_recording

    session = longest_session_seconds(ctx.station, bulletin.zone_ids)
    cap = float(MAX_RECORDING_SECONDS)
    if session is not None and bulletin.priority != Priority.EMERGENCY:
        cap = min(cap, session)
    probe = probe_recording(path, decode_up_to=cap, demuxers=DEMUXERS)
    if probe.problem:
        raise _refuse(probe.problem)
    if probe.silent:
        raise _refuse(_("the recording is silent"))
    length = probe.duration_seconds
    if length is not None and length > cap:
        raise _refuse(
            _("the recording lasts {length} min: at most {cap} min here").format(
                length=f"{length / 60:.1f}", cap=f"{cap / 60:g}"
            )
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recording_file(ctx: StationContext, bulletin_id: str) -> tuple[Path, str] | None:
    """The bulletin's recording and its media type, to hear it in a page; None when it
    has none. Only a file of the station's audio folder: the page asks by bulletin, never
    by a file's name, and a script naming a file elsewhere gets nothing served."""
    bulletin = ctx.bulletin(bulletin_id)
    if bulletin.audio_file is None:
        return None
    audio_root = (ctx.root / "audio").resolve()
    path = (ctx.root / bulletin.audio_file).resolve()
    kind = MEDIA_TYPES.get(path.suffix.lower())
    if kind is None or not path.is_relative_to(audio_root) or not path.is_file():
        return None
    return path, kind
