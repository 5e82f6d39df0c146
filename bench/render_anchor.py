"""The anchor for the render bench (issue 15): what a user could do without broadcaster.

For each of the sample commune's bulletins, the simplest pipeline that gives a delivered
file at the station's loudness: espeak-ng reads the whole spoken text in one call (the
same text, normalised as broadcaster would, same voice and speed), then one ffmpeg
``loudnorm`` pass (single-pass EBU R128 normalisation with its true-peak limiter) encodes
the MP3 at the station's format; a recording goes straight to ``loudnorm``. Jobs run
``--jobs`` at a time (default: one per core), as ``render`` does.

    .venv/bin/python bench/render_anchor.py [--runs 3] [--jobs 0] [--smoke]

Run it beside ``bench/render_bench.py`` (alternately, on the same machine) and compare
the throughputs: seconds of delivered audio per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from render_bench import SMOKE_BULLETINS, sample_copy

from broadcaster.app.context import StationContext
from broadcaster.engine.clock import SystemClock
from broadcaster.speech.spoken import spoken_text


def jobs_of(root: Path) -> list[tuple[str, Path | str]]:
    """(bulletin id, spoken text or recording path) for every valid script."""
    ctx = StationContext.open(root, clock=SystemClock())
    try:
        bulletins, _problems = ctx.scripts()
        station = ctx.station
        return [
            (b.id, root / str(b.audio_file))
            if b.is_recorded
            else (b.id, spoken_text(b, root, station.dialect))
            for b in bulletins
        ]
    finally:
        ctx.close()


def produce(item: tuple[str, Path | str], folder: Path) -> float:
    """One bulletin the simple way; the delivered file's duration in seconds."""
    bulletin_id, source = item
    out = folder / f"{bulletin_id}.mp3"
    if isinstance(source, str):
        text = folder / f"{bulletin_id}.txt"
        text.write_text(source, encoding="utf-8")
        spoken = folder / f"{bulletin_id}.wav"
        subprocess.run(
            ["espeak-ng", "-v", "vi", "-s", "150", "-p", "50", "-w", str(spoken), "-f", str(text)],
            check=True,
        )
        source = spoken
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source)),
            *("-af", "loudnorm=I=-16:TP=-1:LRA=11", "-ar", "44100", "-ac", "1"),
            *("-c:a", "libmp3lame", "-b:a", "128k", str(out)),
        ],
        check=True,
    )
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-of", "json", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(probe.stdout)["format"]["duration"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="parallel jobs (0: one per core)")
    parser.add_argument(
        "--smoke", action="store_true", help="render_bench's two smoke bulletins, one run"
    )
    args = parser.parse_args()
    workers = args.jobs or os.cpu_count() or 1
    runs = 1 if args.smoke else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        items = jobs_of(sample_copy(Path(tmp), SMOKE_BULLETINS if args.smoke else ()))
        walls, audio = [], 0.0
        for run in range(runs):
            folder = Path(tmp) / f"run{run}"
            folder.mkdir()
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                durations = list(pool.map(produce, items, [folder] * len(items)))
            walls.append(time.perf_counter() - start)
            audio = sum(durations)
    wall = statistics.median(walls)
    print(f"anchor (espeak-ng + one loudnorm pass to MP3), workers: {workers}")
    print(f"bulletins: {len(items)}, audio: {audio:.1f} s")
    print(f"wall: median {wall:.2f} s of {[round(w, 2) for w in walls]}")
    print(f"throughput: {audio / wall:.1f}x real time")


if __name__ == "__main__":
    main()
