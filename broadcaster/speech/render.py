"""Scripts -> rendered audio files, content-addressed and recorded in the store.

A rendition's key covers the spoken text, the engine, the voice and the production
settings, so unchanged input costs nothing and always yields the same file. Files are
written under a temporary name and renamed: a failure never leaves a partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError
from pydub.utils import mediainfo
from sqlmodel import Session, select

from broadcaster.core.errors import BroadcasterError
from broadcaster.core.model import Bulletin
from broadcaster.core.timeutil import as_utc
from broadcaster.i18n import _
from broadcaster.speech.engines import TtsEngine, TtsUnavailable, make_engine
from broadcaster.speech.spoken import spoken_text
from broadcaster.store.tables import Rendition

PRODUCTION = {"format": "mp3", "bitrate": "96k", "sample_rate": 44100, "channels": 1, "v": 1}
RENDER_DIR = Path("audio") / "rendered"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def render_key(spoken: str, engine: str, voice: str) -> str:
    blob = json.dumps(
        {"text": spoken, "engine": engine, "voice": voice, "production": PRODUCTION},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class RenderOutcome:
    bulletin_id: str
    engine: str
    duration_seconds: float
    cached: bool
    path: str
    error: str = ""
    fallback: bool = False


def _produce(source: Path, target: Path) -> float:
    """Decode anything ffmpeg reads, write the station's format; return the duration."""
    try:
        audio = AudioSegment.from_file(source)
    except (CouldntDecodeError, IndexError, OSError) as exc:
        raise BroadcasterError(
            _("cannot decode audio: {err}").format(
                err=str(exc).strip().splitlines()[-1][:160]
                if str(exc).strip()
                else type(exc).__name__
            ),
            path=str(source),
        ) from None
    if len(audio) == 0:
        raise BroadcasterError(_("audio file is empty"), path=str(source))
    audio = audio.set_frame_rate(PRODUCTION["sample_rate"]).set_channels(PRODUCTION["channels"])
    tmp = target.with_name(target.name + ".part")
    try:
        audio.export(tmp, format=PRODUCTION["format"], bitrate=PRODUCTION["bitrate"])
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return len(audio) / 1000.0


def probe_duration(path: Path) -> float:
    """Seconds of audio in a file, from ffprobe; 0.0 if it cannot be read."""
    try:
        info = mediainfo(str(path))
        return round(float(info.get("duration", 0.0)), 3)
    except (OSError, ValueError):
        return 0.0


def _existing(session: Session, root: Path, bulletin_id: str, key: str) -> Rendition | None:
    row = session.exec(
        select(Rendition)
        .where(Rendition.bulletin_id == bulletin_id, Rendition.render_key == key)
        .order_by(Rendition.id.desc())  # type: ignore[union-attr]
    ).first()
    if row and (root / row.audio_path).is_file():
        return row
    return None


def render_bulletin(
    session: Session,
    root: Path,
    bulletin: Bulletin,
    chain: tuple[str, ...],
    now: datetime,
    *,
    force: bool = False,
    engines: dict[str, TtsEngine] | None = None,
    dialect: str = "north",
) -> RenderOutcome:
    """Render one bulletin with the first engine in ``chain`` that works."""
    out_dir = root / RENDER_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    engines = engines or {}

    text = ""
    if bulletin.is_recorded:
        source = root / str(bulletin.audio_file)
        key = render_key("recorded:" + sha256_file(source), "recorded", "")
        attempts: list[tuple[str, str, str]] = [("recorded", "", key)]
    else:
        text = spoken_text(bulletin, root, dialect)
        attempts = []
        for name in chain:
            engine = engines.get(name) or make_engine(name)
            engines[name] = engine
            voice = engine.default_voice()
            attempts.append((name, voice, render_key(text, name, voice)))

    if not force:
        for name, _voice, key in attempts:
            row = _existing(session, root, bulletin.id, key)
            if row is not None:
                if row.script_sha256 != bulletin.script_sha256:
                    row = _record(
                        session,
                        bulletin,
                        row.engine,
                        row.voice,
                        key,
                        root / row.audio_path,
                        root,
                        row.duration_seconds,
                        now,
                    )
                return RenderOutcome(
                    bulletin.id,
                    row.engine,
                    row.duration_seconds,
                    True,
                    row.audio_path,
                    fallback=name != attempts[0][0],
                )

        # The files are content-addressed: one made for another database (a demo, a copy
        # of the station) is the same audio, and costs a probe instead of a synthesis.
        for index, (name, voice, key) in enumerate(attempts):
            target = out_dir / f"{bulletin.id}-{key[:16]}.mp3"
            if target.is_file():
                duration = probe_duration(target)
                if duration:
                    row = _record(session, bulletin, name, voice, key, target, root, duration, now)
                    return RenderOutcome(
                        bulletin.id, name, duration, True, row.audio_path, fallback=index > 0
                    )

    errors: list[str] = []
    for index, (name, voice, key) in enumerate(attempts):
        target = out_dir / f"{bulletin.id}-{key[:16]}.mp3"
        if name == "recorded":
            duration = _produce(root / str(bulletin.audio_file), target)
        else:
            raw = out_dir / f".{bulletin.id}-{key[:16]}.{name}{engines[name].suffix}"
            try:
                engines[name].synthesize(text, raw, voice)
                duration = _produce(raw, target)
            except TtsUnavailable as exc:
                errors.append(str(exc))
                continue
            finally:
                raw.unlink(missing_ok=True)
        row = _record(session, bulletin, name, voice, key, target, root, duration, now)
        return RenderOutcome(bulletin.id, name, duration, False, row.audio_path, fallback=index > 0)
    raise BroadcasterError(
        _("no TTS engine could render it: {errors}").format(errors="; ".join(errors)),
        path=bulletin.source_path,
    )


def _record(
    session: Session,
    bulletin: Bulletin,
    engine: str,
    voice: str,
    key: str,
    target: Path,
    root: Path,
    duration: float,
    now: datetime,
) -> Rendition:
    row = Rendition(
        bulletin_id=bulletin.id,
        script_sha256=bulletin.script_sha256,
        render_key=key,
        engine=engine,
        voice=voice,
        audio_path=str(target.relative_to(root)),
        audio_sha256=sha256_file(target),
        duration_seconds=round(duration, 3),
        created_at=as_utc(now),
    )
    session.add(row)
    session.flush()
    return row
