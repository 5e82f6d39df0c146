"""How well can a listener's ear (stood in for by an offline Vietnamese recogniser)
understand our renditions? Word error rate per offline engine and voice (issue 3).

    .venv/bin/pip install -e '.[dev]'        # viet-asr (ships its own model) and jiwer
    .venv/bin/python bench/intelligibility.py [--scripts 3] [--voices vi,vi-vn-x-south] [--smoke]

Each sample script is rendered by the production pipeline (pauses, loudness), resampled
to 16 kHz mono, transcribed by ``vietasr`` and compared word by word with the spoken
text the engine was given (lower-cased, punctuation removed). Lower is better; a
human reading would score near the recogniser's own error rate on clean speech.
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

from broadcaster.engine.clock import SystemClock  # noqa: E402
from broadcaster.ops import actions  # noqa: E402
from broadcaster.ops.context import StationContext  # noqa: E402
from broadcaster.speech.engines import available_engines, make_engine  # noqa: E402
from broadcaster.speech.spoken import spoken_text  # noqa: E402


def words(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower())
    return " ".join(re.findall(r"\w+", text))


def transcribe(pipe, audio: Path, scratch: Path) -> str:
    wav = scratch / (audio.stem + ".16k.wav")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(audio), "-ar", "16000", "-ac", "1", str(wav)],
        check=True,
    )
    return pipe.transcribe(str(wav)).text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", type=int, default=3, help="sample scripts per voice")
    parser.add_argument("--voices", default="", help="espeak voices (default: all installed)")
    parser.add_argument("--smoke", action="store_true", help="one script, one voice (vi)")
    args = parser.parse_args()
    if args.smoke:
        args.scripts, args.voices = 1, "vi"
    try:
        import jiwer
        import vietasr
    except ImportError:
        sys.exit("bench/intelligibility.py needs the dev extra: pip install -e '.[dev]'")

    offline = [n for n, cls in available_engines().items() if not cls.needs_network]
    pipe = vietasr.Pipeline.preset("transcribe")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = sample_copy(Path(tmp))
        ctx = StationContext.open(root, clock=SystemClock())
        bulletins = [b for b in ctx.scripts()[0] if not b.is_recorded][: args.scripts]
        references = [words(spoken_text(b, root, ctx.station.dialect)) for b in bulletins]
        for engine in offline:
            if engine != "espeak":  # 'command' needs a station's own program to mean anything
                continue
            voices = args.voices.split(",") if args.voices else make_engine(engine).voices()
            for voice in voices:
                # the voice goes into the station's engines settings; everything else of
                # station.yaml stays (cutting the file at 'engines:' lost the zones)
                station = root / "schedules" / "station.yaml"
                config = yaml.safe_load(station.read_text(encoding="utf-8"))
                config.setdefault("engines", {})[engine] = {
                    **config["engines"].get(engine, {}),
                    "voice": voice,
                }
                station.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
                ctx.close()
                ctx = StationContext.open(root, clock=SystemClock())
                outcomes = actions.render(ctx, [b.id for b in bulletins], engines=(engine,))
                hypotheses = []
                start = time.perf_counter()
                for o in outcomes:
                    hypotheses.append(words(transcribe(pipe, root / o.path, Path(tmp))))
                asr_seconds = time.perf_counter() - start
                wer = jiwer.wer(references, hypotheses)
                audio = sum(o.duration_seconds for o in outcomes)
                n_words = sum(len(r.split()) for r in references)
                rows.append((engine, voice, len(outcomes), n_words, audio, wer, asr_seconds))
                print(
                    f"{engine:8} {voice:18} scripts {len(outcomes)}  words {n_words:5}  "
                    f"audio {audio:6.1f} s  WER {wer:.1%}  (ASR {asr_seconds:.0f} s)",
                    flush=True,
                )
        ctx.close()
        shutil.rmtree(root, ignore_errors=True)
    print("\n| engine | voice | scripts | words | audio | WER |")
    print("|---|---|---|---|---|---|")
    for engine, voice, n, n_words, audio, wer, _asr in rows:
        print(f"| {engine} | {voice} | {n} | {n_words} | {audio:.0f} s | {wer:.1%} |")


if __name__ == "__main__":
    main()
