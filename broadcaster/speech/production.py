"""From spoken text (or a recording) to the delivered file: sentences synthesised one by
one, silences trimmed, pauses, jingles and the optional repeat laid out, loudness
normalised and encoded.

This module runs in worker processes: it takes a picklable :class:`Job`, touches nothing
but the files it names, and returns a :class:`Produced`. The database stays with the
parent (see ``render``)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _
from broadcaster.speech.engines import TtsEngine, TtsUnavailable, make_engine
from broadcaster.speech.loudness import Encoding, normalize_pcm

if TYPE_CHECKING:  # pydub is imported where audio is made: commands that only read the
    from pydub import AudioSegment  # database start faster and never look for ffmpeg

TRIM_MARGIN_MS = 30


@dataclass(frozen=True)
class Layout:
    """How a bulletin is laid out in time; every field enters the cache key."""

    sentence_pause_ms: int
    paragraph_pause_ms: int
    trim_silence: bool
    silence_threshold_db: float
    intro: str | None  # station-relative paths
    outro: str | None
    jingle_gap_ms: int
    repeat: bool
    repeat_lead_in: str  # already normalised spoken text
    repeat_pause_ms: int
    loudness_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class Attempt:
    """One engine of the preference chain, with the file it would produce."""

    engine: str  # "recorded" for a recording (then ``speaker`` says the lead-in)
    voice: str
    settings: dict[str, Any]
    key: str
    target: str  # absolute path
    speaker: str | None = None  # the TTS engine used for speech (None: no speech)

    def produced(
        self,
        bulletin_id: str,
        preferred: str,
        duration: float,
        loudness_lufs: float | None,
        true_peak_dbtp: float | None,
        synthesised: int = 0,
    ) -> Produced:
        """What this attempt made, flagged as a fallback unless the preferred engine spoke."""
        return Produced(
            bulletin_id,
            engine=self.engine,
            voice=self.voice,
            key=self.key,
            path=self.target,
            duration_seconds=round(duration, 3),
            loudness_lufs=loudness_lufs,
            true_peak_dbtp=true_peak_dbtp,
            synthesised=synthesised,
            fallback=self.speaker not in (None, preferred),
        )


@dataclass(frozen=True)
class Job:
    bulletin_id: str
    paragraphs: tuple[tuple[str, ...], ...]  # spoken sentences (empty for a recording)
    recorded: str | None  # absolute path of a recording
    attempts: tuple[Attempt, ...]
    layout: Layout
    encoding: Encoding
    root: str
    preferred: str  # the chain's first engine, to flag fallbacks
    # jingles already decoded to the working format for this run: station-relative path
    # -> WAV file (see ``render.produce_all``); a jingle missing here is decoded per job
    decoded: tuple[tuple[str, str], ...] = ()


@dataclass
class Produced:
    bulletin_id: str
    engine: str = ""
    voice: str = ""
    key: str = ""
    path: str = ""  # absolute
    duration_seconds: float = 0.0
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    error: str = ""
    skipped: list[str] = field(default_factory=list)  # "engine: why" for engines that failed
    synthesised: int = 0  # sentences sent to an engine (0 for a cache hit)
    fallback: bool = False  # spoken by an engine after the chain's first
    unavailable: list[str] = field(default_factory=list)  # engines that could not speak


def sidecar(path: Path) -> Path:
    """Metadata beside a content-addressed file, so another database can reuse it."""
    return path.with_name(path.name + ".json")


def read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("duration_seconds") else None


def run_job(job: Job) -> Produced:
    """Try each attempt in order; the first that produces audio wins."""
    skipped: list[str] = []
    unavailable: list[str] = []
    for attempt in job.attempts:
        try:
            produced = _produce(job, attempt)
        except TtsUnavailable as exc:
            skipped.append(f"{attempt.speaker or attempt.engine}: {exc}")
            unavailable.append(attempt.speaker or attempt.engine)
            continue
        except BroadcasterError as exc:
            return Produced(
                job.bulletin_id, error=str(exc), skipped=skipped, unavailable=unavailable
            )
        produced.skipped, produced.unavailable = skipped, unavailable
        return produced
    return Produced(
        job.bulletin_id,
        error=_("no TTS engine could render it: {errors}").format(errors="; ".join(skipped)),
        skipped=skipped,
        unavailable=unavailable,
    )


def _produce(job: Job, attempt: Attempt) -> Produced:
    from pydub import AudioSegment

    enc, lay = job.encoding, job.layout
    engine = make_engine(attempt.speaker, attempt.settings) if attempt.speaker else None
    target = Path(attempt.target)
    with _scratch(target.parent) as scratch:
        speaker = _Speaker(engine, scratch, enc, lay) if engine else None
        if job.recorded:
            _refuse_bad_recording(Path(job.recorded))
            body = _trimmed(_decode(Path(job.recorded), enc), lay)
        else:
            assert speaker is not None
            body = _speech(job.paragraphs, speaker, lay)
        layout = body
        if lay.repeat:
            lead_in = speaker.say(lay.repeat_lead_in) if speaker else AudioSegment.empty()
            layout += _silence(lay.repeat_pause_ms, enc) + lead_in
            layout += _silence(lay.sentence_pause_ms, enc) + body
        if lay.intro:
            intro = _jingle(job, lay.intro)
            layout = intro + _silence(lay.jingle_gap_ms, enc) + layout
        if lay.outro:
            layout += _silence(lay.jingle_gap_ms, enc) + _jingle(job, lay.outro)
        loudness = normalize_pcm(
            _frames(layout, enc),
            enc.sample_rate,
            target,
            enc,
            lay.loudness_lufs,
            lay.true_peak_dbtp,
            shown=str(job.recorded or target),
        )
    produced = attempt.produced(
        job.bulletin_id,
        job.preferred,
        len(layout) / 1000.0,
        loudness.integrated_lufs,
        loudness.true_peak_dbtp,
        speaker.count if speaker else 0,
    )
    meta = {
        k: v
        for k, v in asdict(produced).items()
        if k not in ("path", "skipped", "error", "unavailable")
    }
    _write_json(sidecar(target), meta)
    return produced


def _jingle(job: Job, relative: str) -> AudioSegment:
    decoded = dict(job.decoded).get(relative)
    return _decode(Path(decoded) if decoded else Path(job.root) / relative, job.encoding)


def _frames(layout: AudioSegment, enc: Encoding):  # -> numpy array (frames x channels)
    """The laid-out audio as int16 frames, without a copy or a file."""
    import numpy as np

    return np.frombuffer(layout.raw_data, dtype="<i2").reshape(-1, enc.channels)


def decode_jingles(jobs: list[Job], folder: Path) -> list[Job]:
    """Decode every jingle the jobs use once, to WAV in the working format in ``folder``,
    and give the jobs those files: a run decodes the signature tune once, not once per
    bulletin. A jingle that cannot be decoded is left to each job, which names it."""
    from dataclasses import replace

    done: dict[tuple[str, str, Encoding], str | None] = {}
    out = []
    for job in jobs:
        pairs = []
        for relative in {job.layout.intro, job.layout.outro} - {None}:
            assert relative is not None
            key = (job.root, relative, job.encoding)
            if key not in done:
                wav = folder / f"jingle-{len(done)}.wav"
                try:
                    _decode(Path(job.root) / relative, job.encoding).export(wav, format="wav")
                    done[key] = str(wav)
                except BroadcasterError:
                    done[key] = None
            if done[key]:
                pairs.append((relative, str(done[key])))
        out.append(replace(job, decoded=tuple(sorted(pairs))) if pairs else job)
    return out


class _Speaker:
    """One engine saying sentences; each distinct sentence is synthesised once per job
    (the repeat reuses the first reading)."""

    def __init__(self, engine: TtsEngine, scratch: Path, enc: Encoding, lay: Layout) -> None:
        self.engine, self.scratch, self.enc, self.lay = engine, scratch, enc, lay
        self._said: dict[str, AudioSegment] = {}
        self.count = 0

    def say(self, sentence: str) -> AudioSegment:
        if sentence not in self._said:
            raw = self.scratch / f"s{len(self._said)}{self.engine.suffix}"
            self.engine.synthesize(sentence, raw)
            self.count += 1
            try:
                self._said[sentence] = _trimmed(_decode(raw, self.enc), self.lay)
            except BroadcasterError as exc:
                raise TtsUnavailable(f"{self.engine.name} wrote unreadable audio: {exc}") from None
        return self._said[sentence]


def _speech(paragraphs, speaker: _Speaker, lay: Layout) -> AudioSegment:
    from pydub import AudioSegment

    out = AudioSegment.empty()
    for p_index, sentences in enumerate(paragraphs):
        if p_index:
            out += _silence(lay.paragraph_pause_ms, speaker.enc)
        for s_index, sentence in enumerate(sentences):
            if s_index:
                out += _silence(lay.sentence_pause_ms, speaker.enc)
            out += speaker.say(sentence)
    return out


def _refuse_bad_recording(path: Path) -> None:
    """A recording must be whole and audible before it is laid out and normalised
    (normalising silence would only raise the noise floor to the target)."""
    probe = probe_recording(path)
    if probe.problem:
        raise BroadcasterError(probe.problem, path=str(path))
    if probe.silent:
        raise BroadcasterError(_("the recording is silent"), path=str(path))


def _decode(path: Path, enc: Encoding) -> AudioSegment:
    """Any file ffmpeg reads, in the working format; unreadable or empty is an error that
    names the file."""
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    shown = str(path)
    if not path.is_file():
        raise BroadcasterError(_("audio file not found"), path=shown)
    if path.stat().st_size == 0:
        raise BroadcasterError(_("audio file is empty"), path=shown)
    try:
        audio = AudioSegment.from_file(path)
    except (CouldntDecodeError, IndexError, OSError, ValueError) as exc:
        lines = str(exc).strip().splitlines()
        raise BroadcasterError(
            _("cannot decode audio: {err}").format(
                err=lines[-1][:160] if lines else type(exc).__name__
            ),
            path=shown,
        ) from None
    if len(audio) == 0:
        raise BroadcasterError(_("audio file has no sound in it"), path=shown)
    return audio.set_frame_rate(enc.sample_rate).set_channels(enc.channels).set_sample_width(2)


def _trimmed(audio: AudioSegment, lay: Layout) -> AudioSegment:
    from pydub.silence import detect_leading_silence

    if not lay.trim_silence:
        return audio
    threshold = lay.silence_threshold_db
    start = detect_leading_silence(audio, silence_threshold=threshold)
    end = detect_leading_silence(audio.reverse(), silence_threshold=threshold)
    if start >= len(audio):
        return audio  # all quiet: leave it to the loudness check to refuse
    return audio[max(0, start - TRIM_MARGIN_MS) : len(audio) - max(0, end - TRIM_MARGIN_MS)]


def _silence(ms: int, enc: Encoding) -> AudioSegment:
    from pydub import AudioSegment

    return (
        AudioSegment.silent(duration=ms, frame_rate=enc.sample_rate)
        .set_channels(enc.channels)
        .set_sample_width(2)
    )


@contextlib.contextmanager
def _scratch(parent: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=".render-", dir=parent) as name:
        yield Path(name)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


# -- what a recording really is ---------------------------------------------------------
#: Quieter than this at its loudest, a recording is silence (ffmpeg says -91 dB for zeros).
SILENCE_MAX_DB = -60.0
#: Decoded audio shorter than this share of what the container claims was cut off.
TRUNCATED_SHARE = 0.8


@dataclass(frozen=True)
class RecordingProbe:
    """What ffprobe and one decoding pass of ffmpeg say about a recording."""

    duration_seconds: float | None = None
    problem: str | None = None  # why it cannot air: unreadable, no audio, truncated
    silent: bool = False


def probe_recording(
    path: Path, decode_up_to: float | None = None, demuxers: str | None = None
) -> RecordingProbe:
    """Is this file the audio it claims to be? A text file named ``.mp3``, a cut-off MP3
    (ffmpeg decodes what is there and goes on) and silence all decode 'fine' through
    pydub; here they are named. Files longer than ``decode_up_to`` seconds are only
    probed, not decoded (a 3-hour file is refused for its length anyway). ``demuxers``
    (ffmpeg's ``format_whitelist``, with local files only) is for bytes from a stranger:
    a playlist named ``.mp3`` must not make ffmpeg open other files or addresses."""
    import subprocess

    limits = _stranger_limits(demuxers)
    try:
        info = subprocess.run(
            ["ffprobe", "-v", "error", *limits, "-show_entries",
             "format=duration:stream=codec_type", "-of", "json", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        return RecordingProbe(problem=_("ffprobe is not installed (it comes with ffmpeg)"))
    except subprocess.TimeoutExpired:
        return RecordingProbe(problem=_("ffprobe took more than a minute to read it"))
    data = _json_or_empty(info.stdout)
    streams = [s.get("codec_type") for s in data.get("streams", []) if isinstance(s, dict)]
    if info.returncode != 0 or not data.get("format"):
        return RecordingProbe(problem=_("cannot decode audio: not an audio file ffmpeg can read"))
    if "audio" not in streams:
        return RecordingProbe(problem=_("has no audio stream"))
    claimed = _float(data["format"].get("duration"))
    if decode_up_to is not None and claimed is not None and claimed > decode_up_to:
        return RecordingProbe(duration_seconds=claimed)
    return _decoded(path, claimed, limits)


def _stranger_limits(demuxers: str | None) -> list[str]:
    """ffmpeg's input options that keep it to these demuxers and to local files."""
    if demuxers is None:
        return []
    return ["-format_whitelist", demuxers, "-protocol_whitelist", "file"]


def _decoded(path: Path, claimed: float | None, limits: list[str] | None = None) -> RecordingProbe:
    """Decode it all once: decoder errors, the real length and the loudest sample."""
    import re
    import subprocess

    try:
        run = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-v", "repeat+level+info", *(limits or []),
             "-i", str(path),
             "-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        return RecordingProbe(problem=_("ffmpeg is not installed"))
    except subprocess.TimeoutExpired:
        return RecordingProbe(problem=_("ffmpeg took more than 10 minutes to decode it"))
    errors = [line for line in run.stderr.splitlines() if "[error]" in line or "[fatal]" in line]
    if run.returncode != 0 or errors:
        said = errors[0].split("]")[-1].strip() if errors else _("ffmpeg failed")
        return RecordingProbe(
            claimed, problem=_("damaged or cut off: ffmpeg says '{err}'").format(err=said[:120])
        )
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", run.stderr)
    decoded = None
    if times:
        h, m, s = times[-1]
        decoded = int(h) * 3600 + int(m) * 60 + float(s)
    if claimed and decoded is not None and decoded < claimed * TRUNCATED_SHARE:
        return RecordingProbe(
            decoded,
            problem=_("cut off: {decoded:.1f} s of audio where the file claims {claimed:.1f} s")
            .format(decoded=decoded, claimed=claimed),
        )  # fmt: skip
    loudest = re.findall(r"max_volume: (-?(?:inf|\d+(?:\.\d+)?)) dB", run.stderr)
    silent = bool(loudest) and float(loudest[-1]) < SILENCE_MAX_DB
    return RecordingProbe(decoded if decoded is not None else claimed, silent=silent)


def _json_or_empty(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number >= 0 else None
