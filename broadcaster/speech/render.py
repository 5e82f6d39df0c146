"""Scripts -> delivered audio files, content-addressed and recorded in the store.

A rendition's key covers the spoken text (or the recording's bytes), the engine, its
voice and every setting that changes the sound, the production layout and the jingles'
own hashes: unchanged input costs a lookup and always yields the same file. Production
runs in worker processes (``production.run_job``); only this module reaches the database
(through ``store/renditions``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from broadcaster.config.schema import ProductionModel
from broadcaster.core.model import Bulletin, Station
from broadcaster.core.timeutil import as_utc, fmt_local
from broadcaster.i18n import _
from broadcaster.speech.engines import make_engine
from broadcaster.speech.loudness import Encoding, measure
from broadcaster.speech.production import (
    Attempt,
    Job,
    Layout,
    Produced,
    decode_jingles,
    read_sidecar,
    run_job,
)
from broadcaster.speech.spoken import normalized, spoken_text
from broadcaster.store import renditions
from broadcaster.store.db import Session
from broadcaster.store.tables import Rendition

RENDER_DIR = Path("audio") / "rendered"
ENGINE_MEMORY = Path("audio") / "tts-unavailable.json"  # see EngineMemory
PIPELINE_VERSION = 3  # bump when production changes the sound for the same inputs


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class RenderOutcome:
    bulletin_id: str
    engine: str = ""
    voice: str = ""
    duration_seconds: float = 0.0
    cached: bool = False
    path: str = ""
    error: str = ""
    fallback: bool = False  # made by an engine after the chain's first
    preferred: str = ""  # the chain's first engine
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    skipped: list[str] = field(default_factory=list)


@dataclass
class Pending:
    """A bulletin to produce, and the cached fallback to keep if the better engines fail."""

    bulletin: Bulletin
    job: Job
    keep: RenderOutcome | None = None


class EngineMemory:
    """The TTS engines that could not speak lately, remembered across runs in a small file
    under the station (``ENGINE_MEMORY``), so that ``render`` does not wait on an
    unreachable gTTS again for every cached fallback on every run. An engine is tried
    again once ``production.retry_fallback_minutes`` have passed since it failed (0: no
    memory, always tried), or at once when asked to (the daemon's periodic retry)."""

    def __init__(self, root: Path, retry_minutes: int) -> None:
        self.path = root / ENGINE_MEMORY
        self.wait = timedelta(minutes=retry_minutes)
        self.failures: dict[str, dict[str, str]] = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict):
            self.failures = {
                k: v for k, v in data.items() if isinstance(v, dict) and "failed_at" in v
            }

    def resting(self, engine: str, now: datetime) -> datetime | None:
        """When ``engine`` will be tried again, if it failed too recently to try it now."""
        entry = self.failures.get(engine)
        if entry is None or not self.wait:
            return None
        try:
            until = as_utc(datetime.fromisoformat(entry["failed_at"])) + self.wait
        except ValueError:
            return None
        return until if as_utc(now) < until else None

    def failed(self, engine: str, reason: str, now: datetime) -> None:
        self.failures[engine] = {"failed_at": as_utc(now).isoformat(), "reason": reason[:200]}
        self.changed = True

    def worked(self, engine: str) -> None:
        if self.failures.pop(engine, None) is not None:
            self.changed = True

    def note(self, produced: Produced, now: datetime) -> None:
        """What one production says about the engines it tried."""
        reasons = dict(s.split(": ", 1) for s in produced.skipped if ": " in s)
        for engine in produced.unavailable:
            self.failed(engine, reasons.get(engine, ""), now)
        if not produced.error and produced.engine != "recorded":
            self.worked(produced.engine)

    def save(self) -> None:
        if not self.changed:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        tmp.write_text(json.dumps(self.failures, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
        self.changed = False


class Renderer:
    """Everything about a station's renditions except the database session's lifetime."""

    def __init__(self, root: Path, station: Station, chain: tuple[str, ...] | None = None) -> None:
        self.root = root
        self.station = station
        self.chain = tuple(chain or station.tts)
        self.production = ProductionModel.model_validate(dict(station.production))
        p = self.production
        self.encoding = Encoding(p.format, p.sample_rate, p.channels, p.bitrate)
        self.out_dir = root / RENDER_DIR
        self._file_hashes: dict[tuple, str] = {}
        self.memory = EngineMemory(root, p.retry_fallback_minutes)

    # -- keys and jobs ------------------------------------------------------------------
    def layout(self, bulletin: Bulletin) -> Layout:
        p = self.production
        repeat = p.repeat.enabled if bulletin.repeat is None else bulletin.repeat
        return Layout(
            sentence_pause_ms=p.pauses.sentence_ms,
            paragraph_pause_ms=p.pauses.paragraph_ms,
            trim_silence=p.trim_silence,
            silence_threshold_db=p.silence_threshold_db,
            intro=p.jingles.intro,
            outro=p.jingles.outro,
            jingle_gap_ms=p.jingles.gap_ms,
            repeat=repeat,
            repeat_lead_in=(
                normalized(p.repeat.lead_in, self.root, self.station.dialect) if repeat else ""
            ),
            repeat_pause_ms=p.repeat.pause_ms,
            loudness_lufs=p.loudness.target_lufs,
            true_peak_dbtp=p.loudness.true_peak_dbtp,
        )

    def file_hash(self, relative: str) -> str:
        path = self.root / relative
        st = path.stat()
        stamp = (relative, st.st_size, st.st_mtime_ns)
        if stamp not in self._file_hashes:
            self._file_hashes[stamp] = sha256_file(path)
        return self._file_hashes[stamp]

    def job(self, bulletin: Bulletin) -> Job:
        layout = self.layout(bulletin)
        layout_key = asdict(layout)
        for which in ("intro", "outro"):
            if layout_key[which]:
                layout_key[which] = self.file_hash(layout_key[which])
        base = {
            "v": PIPELINE_VERSION,
            "layout": layout_key,
            "encoding": asdict(self.encoding),
        }
        if bulletin.is_recorded:
            base["recorded"] = self.file_hash(str(bulletin.audio_file))
            speakers: list[str | None] = list(self.chain) if layout.repeat else [None]
            paragraphs: tuple[tuple[str, ...], ...] = ()
            recorded: str | None = str(self.root / str(bulletin.audio_file))
        else:
            paragraphs = paragraphs_of(spoken_text(bulletin, self.root, self.station.dialect))
            base["text"] = paragraphs
            speakers = list(self.chain)
            recorded = None
        attempts = []
        for speaker in speakers:
            settings = dict(self.station.engine_settings.get(speaker, {})) if speaker else {}
            engine = make_engine(speaker, settings) if speaker else None
            voice = engine.voice() if engine else ""
            blob = {
                **base,
                "engine": speaker,
                "voice": voice,
                "settings": engine.settings.audio_fields() if engine else {},
            }
            key = hashlib.sha256(
                json.dumps(blob, sort_keys=True, ensure_ascii=False).encode("utf-8")
            ).hexdigest()
            target = self.out_dir / f"{bulletin.id}-{key[:16]}{self.encoding.suffix}"
            attempts.append(
                Attempt(
                    engine="recorded" if bulletin.is_recorded else str(speaker),
                    voice=voice,
                    settings=settings,
                    key=key,
                    target=str(target),
                    speaker=speaker,
                )
            )
        return Job(
            bulletin_id=bulletin.id,
            paragraphs=paragraphs,
            recorded=recorded,
            attempts=tuple(attempts),
            layout=layout,
            encoding=self.encoding,
            root=str(self.root),
            preferred=self.chain[0],
        )

    # -- the cache ------------------------------------------------------------------------
    def lookup(
        self,
        session: Session,
        bulletin: Bulletin,
        now: datetime,
        force: bool = False,
        retry: bool = False,
    ) -> RenderOutcome | Pending:
        """A cached outcome, or the work still to do.

        A hit from a fallback engine is kept, but the engines preferred over it are tried
        again: that is how audio made offline is replaced once the network is back. An
        engine that failed less than ``retry_fallback_minutes`` ago is not tried (unless
        ``retry``): the cached fallback is the outcome, saying when it will be."""
        job = self.job(bulletin)
        resting = {} if retry else self._resting(job, now)
        if force:
            return Pending(bulletin, self._without(job, job.attempts, resting))
        for index, attempt in enumerate(job.attempts):
            row = self._known(session, bulletin, attempt, now)
            if row is None:
                continue
            outcome = self.outcome(row, cached=True, fallback=index > 0)
            if index == 0:
                return outcome
            better = [a for a in job.attempts[:index] if a.speaker not in resting]
            if not better:
                outcome.skipped = [
                    _("{engine}: failed lately, tried again after {at}").format(
                        engine=engine, at=fmt_local(at, self.station.tz)
                    )
                    for engine, at in resting.items()
                ]
                return outcome
            return Pending(bulletin, replace(job, attempts=tuple(better)), keep=outcome)
        return Pending(bulletin, self._without(job, job.attempts, resting))

    def _resting(self, job: Job, now: datetime) -> dict[str, datetime]:
        found = {}
        for attempt in job.attempts:
            if attempt.speaker and (until := self.memory.resting(attempt.speaker, now)):
                found[attempt.speaker] = until
        return found

    @staticmethod
    def _without(job: Job, attempts: tuple[Attempt, ...], resting: dict[str, datetime]) -> Job:
        """The job without the resting engines, unless that would leave none to try."""
        kept = tuple(a for a in attempts if a.speaker not in resting)
        return replace(job, attempts=kept or attempts)

    def _known(
        self, session: Session, bulletin: Bulletin, attempt: Attempt, now: datetime
    ) -> Rendition | None:
        target = Path(attempt.target)
        row = renditions.newest_for_key(session, bulletin.id, attempt.key)
        if not target.is_file():
            return None
        if row is not None and row.script_sha256 == bulletin.script_sha256:
            return row
        # Same audio for a new script content (a front-matter edit), or a file made for
        # another database (a demo, a copy of the station): a new row, no synthesis.
        meta = read_sidecar(target) or {}
        if row is not None:
            meta = {**meta, **{k: getattr(row, k) for k in _CARRIED}}
        if not meta.get("duration_seconds"):
            meta = {**meta, **_measured(target)}
        produced = attempt.produced(
            bulletin.id,
            self.chain[0],
            float(meta["duration_seconds"]),
            meta.get("loudness_lufs"),
            meta.get("true_peak_dbtp"),
        )
        return self.record(session, bulletin, produced, now)

    # -- recording ------------------------------------------------------------------------
    def record(
        self, session: Session, bulletin: Bulletin, produced: Produced, now: datetime
    ) -> Rendition:
        target = Path(produced.path)
        return renditions.add(
            session,
            bulletin_id=bulletin.id,
            script_sha256=bulletin.script_sha256,
            render_key=produced.key,
            engine=produced.engine,
            voice=produced.voice,
            preferred_engine=self.chain[0],
            fallback=produced.fallback,
            audio_path=str(target.relative_to(self.root)),
            audio_sha256=sha256_file(target),
            duration_seconds=round(produced.duration_seconds, 3),
            loudness_lufs=produced.loudness_lufs,
            true_peak_dbtp=produced.true_peak_dbtp,
            created_at=as_utc(now),
        )

    def outcome(self, row: Rendition, *, cached: bool, fallback: bool) -> RenderOutcome:
        return RenderOutcome(
            bulletin_id=row.bulletin_id,
            engine=row.engine,
            voice=row.voice,
            duration_seconds=row.duration_seconds,
            cached=cached,
            path=row.audio_path,
            fallback=fallback or bool(row.fallback),
            preferred=self.chain[0],
            loudness_lufs=row.loudness_lufs,
            true_peak_dbtp=row.true_peak_dbtp,
        )


_CARRIED = ("duration_seconds", "loudness_lufs", "true_peak_dbtp")


def _measured(path: Path) -> dict[str, float]:
    from pydub.utils import mediainfo

    loud = measure(path)
    return {
        "duration_seconds": round(float(mediainfo(str(path)).get("duration", 0.0)), 3),
        "loudness_lufs": loud.integrated_lufs,
        "true_peak_dbtp": loud.true_peak_dbtp,
    }


def paragraphs_of(spoken: str) -> tuple[tuple[str, ...], ...]:
    """Blank lines separate paragraphs; sentences are split inside each."""
    from broadcaster.text import split_sentences

    found = []
    for block in re.split(r"\n\s*\n", spoken.strip()):
        sentences = tuple(s for s in split_sentences(block) if s.strip())
        if sentences:
            found.append(sentences)
    return tuple(found)


def produce_all(jobs: list[Job], workers: int, on_done: Callable[[Produced], None]) -> None:
    """Run jobs in worker processes (or here, for one worker), reporting each as it ends.
    The jingles are decoded once for the whole run, here."""
    if not jobs:
        return
    scratch = Path(jobs[0].attempts[0].target).parent
    with tempfile.TemporaryDirectory(prefix=".jingles-", dir=scratch) as folder:
        jobs = decode_jingles(jobs, Path(folder))
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                on_done(run_job(job))
            return
        _produce_in_pool(jobs, workers, on_done)


def _produce_in_pool(jobs: list[Job], workers: int, on_done: Callable[[Produced], None]) -> None:
    """Worker processes forked from multiprocessing's fork server (the daemon renders from
    a process with threads, where a plain fork is unsafe). The pool's workers are joined
    when it closes, and the fork server itself is stopped then too: it would otherwise
    outlive the render (and, once its parent is killed, linger as an orphan)."""
    context = multiprocessing.get_context("forkserver")
    # workers fork from a server that has imported what every job needs, once
    context.set_forkserver_preload(["broadcaster.speech.production", "numpy", "pydub"])
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            futures = {pool.submit(run_job, job): job for job in jobs}
            for future in as_completed(futures):
                try:
                    on_done(future.result())
                except Exception as exc:  # a worker that died must not lose the others
                    failed = futures[future].bulletin_id
                    on_done(Produced(failed, error=f"{type(exc).__name__}: {exc}"))
    finally:
        _stop_fork_server()


def _stop_fork_server() -> None:
    """Stop multiprocessing's fork server of this process and the resource tracker it
    started, if they run (``_stop`` is how CPython's own tests do it); the next pool
    starts new ones."""
    from multiprocessing import forkserver, resource_tracker

    for helper in (forkserver, resource_tracker):
        single = getattr(helper, "_forkserver", None) or getattr(helper, "_resource_tracker", None)
        stop = getattr(single, "_stop", None)
        if stop is not None:
            stop()
