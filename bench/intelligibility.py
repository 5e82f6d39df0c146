"""How well can a listener's ear (stood in for by an offline Vietnamese recogniser)
understand our renditions? Word error rate per offline engine and voice (issue 3).

    .venv/bin/pip install -e '.[dev]'        # viet-asr (ships its own model) and jiwer
    .venv/bin/python bench/intelligibility.py [--scripts 3] [--ids canh-bao-bao]
                                              [--voices vi,vi-vn-x-south] [--smoke]

Each sample script is rendered by the production pipeline (pauses, loudness), resampled
to 16 kHz mono, transcribed by ``vietasr`` and compared word by word with the spoken
text the engine was given (lower-cased, punctuation removed). A bulletin that is read
twice (``repeat: true``) is compared with its text twice, with the lead-in ("Xin nhắc
lại.") between, as it is heard. Lower is better; a human reading would score near the
recogniser's own error rate on clean speech.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from render_bench import sample_copy  # noqa: E402

from broadcaster.app import bulletins  # noqa: E402
from broadcaster.app.context import StationContext  # noqa: E402
from broadcaster.core.model import Bulletin  # noqa: E402
from broadcaster.engine.clock import SystemClock  # noqa: E402
from broadcaster.speech.engines import available_engines, make_engine  # noqa: E402
from broadcaster.speech.render import Renderer  # noqa: E402
from broadcaster.speech.spoken import spoken_text  # noqa: E402


def words(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower())
    return " ".join(re.findall(r"\w+", text))


def with_voice(station_yaml: str, engine: str, voice: str) -> str:
    """``station.yaml`` text with ``engine`` set to ``voice``, every other setting kept.

    The file is parsed, not cut at "engines:": the sections after it (quiet hours,
    outputs, zones, sessions, requirements) are what makes it a station at all.
    """
    data = yaml.safe_load(station_yaml)
    engines = data.get("engines") or {}
    engines[engine] = {**(engines.get(engine) or {}), "voice": voice}
    data["engines"] = engines
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def heard_text(spoken: str, repeat: bool, lead_in: str) -> str:
    """The words a listener hears: the text, and for a repeated bulletin the lead-in and
    the text again (the rendition says it twice, so the reference must too)."""
    return " ".join([spoken, lead_in, spoken]) if repeat else spoken


def reference(renderer: Renderer, bulletin: Bulletin, root: Path, dialect: str) -> str:
    layout = renderer.layout(bulletin)
    spoken = spoken_text(bulletin, root, dialect)
    return words(heard_text(spoken, layout.repeat, layout.repeat_lead_in))


def transcribe(pipe, audio: Path, scratch: Path) -> str:
    wav = scratch / (audio.stem + ".16k.wav")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(audio), "-ar", "16000", "-ac", "1", str(wav)],
        check=True,
    )
    return pipe.transcribe(str(wav)).text


def pick(bulletins: list[Bulletin], ids: str, count: int) -> list[Bulletin]:
    """The spoken scripts to measure: those named by ``ids``, else the first ``count``."""
    spoken = [b for b in bulletins if not b.is_recorded]
    if not ids:
        return spoken[:count]
    wanted = ids.split(",")
    chosen = [b for b in spoken if b.id in wanted]
    missing = sorted(set(wanted) - {b.id for b in chosen})
    if missing:
        sys.exit(f"bench/intelligibility.py: --ids: no spoken script {', '.join(missing)}")
    return chosen


def measure(root: Path, engine: str, voice: str, ids: list[str], pipe, scratch: Path) -> tuple:
    """Render ``ids`` with one voice and score the recogniser's transcript against them."""
    import jiwer

    station = root / "schedules" / "station.yaml"
    station.write_text(
        with_voice(station.read_text(encoding="utf-8"), engine, voice), encoding="utf-8"
    )
    ctx = StationContext.open(root, clock=SystemClock())
    try:
        outcomes = bulletins.render(ctx, ids, engines=(engine,))
        failed = [f"{o.bulletin_id}: {o.error}" for o in outcomes if o.error]
        if failed:
            sys.exit("bench/intelligibility.py: render failed: " + "; ".join(failed))
        renderer = Renderer(root, ctx.station, (engine,))
        references = [
            reference(renderer, ctx.bulletin(o.bulletin_id), root, ctx.station.dialect)
            for o in outcomes
        ]
    finally:
        ctx.close()
    start = time.perf_counter()
    hypotheses = [words(transcribe(pipe, root / o.path, scratch)) for o in outcomes]
    asr_seconds = time.perf_counter() - start
    wer = jiwer.wer(references, hypotheses)
    audio = sum(o.duration_seconds for o in outcomes)
    n_words = sum(len(r.split()) for r in references)
    return engine, voice, len(outcomes), n_words, audio, wer, asr_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", type=int, default=3, help="sample scripts per voice")
    parser.add_argument("--ids", default="", help="script ids, comma-separated (default: first N)")
    parser.add_argument("--voices", default="", help="espeak voices (default: all installed)")
    parser.add_argument("--smoke", action="store_true", help="one script, one voice (vi)")
    args = parser.parse_args()
    if args.smoke:
        args.scripts, args.voices = 1, "vi"
    try:
        import jiwer  # noqa: F401
        import vietasr
    except ImportError:
        sys.exit("bench/intelligibility.py needs the dev extra: pip install -e '.[dev]'")

    offline = [n for n, cls in available_engines().items() if not cls.needs_network]
    pipe = vietasr.Pipeline.preset("transcribe")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = sample_copy(Path(tmp))
        ctx = StationContext.open(root, clock=SystemClock())
        try:
            ids = [b.id for b in pick(ctx.scripts()[0], args.ids, args.scripts)]
        finally:
            ctx.close()
        for engine in offline:
            if engine != "espeak":  # 'command' needs a station's own program to mean anything
                continue
            voices = args.voices.split(",") if args.voices else make_engine(engine).voices()
            for voice in voices:
                row = measure(root, engine, voice, ids, pipe, Path(tmp))
                rows.append(row)
                _, _, n, n_words, audio, wer, asr_seconds = row
                print(
                    f"{engine:8} {voice:18} scripts {n}  words {n_words:5}  "
                    f"audio {audio:6.1f} s  WER {wer:.1%}  (ASR {asr_seconds:.0f} s)",
                    flush=True,
                )
        shutil.rmtree(root, ignore_errors=True)
    print("\n| engine | voice | scripts | words | audio | WER |")
    print("|---|---|---|---|---|---|")
    for engine, voice, n, n_words, audio, wer, _asr in rows:
        print(f"| {engine} | {voice} | {n} | {n_words} | {audio:.0f} s | {wer:.1%} |")


if __name__ == "__main__":
    main()
