"""Render throughput and cache-hit cost on the sample commune's scripts (issues 3 and 15).

Targets on 2 cores: offline rendering (espeak-ng, loudness normalisation on) at least
20x real time, i.e. 20 s of delivered audio per second of wall time; a cache hit under
20 ms per bulletin.

    .venv/bin/python bench/render_bench.py [--runs 3] [--jobs 0] [--smoke]

Compare with ``bench/render_anchor.py`` (espeak-ng + one ffmpeg ``loudnorm`` pass), run
alternately on the same machine. ``--smoke``: two bulletins, one run (the test suite's
check that the bench still works).

Throughput is timed in-process around ``ops.bulletins.render`` with ``force`` (every
bulletin produced again, worker processes included); the cache hit is the same call
with nothing to do, divided by the number of bulletins.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from broadcaster.app import bulletins
from broadcaster.app.context import StationContext
from broadcaster.engine.clock import SystemClock
from broadcaster.speech.loudness import measure

REPO = Path(__file__).resolve().parent.parent


SMOKE_BULLETINS = ("dich-vu-cong-truc-tuyen", "ghi-am-mau")


def sample_copy(folder: Path, keep: tuple[str, ...] = ()) -> Path:
    root = folder / "station"
    for part in ("schedules", "scripts"):
        shutil.copytree(REPO / part, root / part)
    shutil.copytree(REPO / "audio" / "recorded", root / "audio" / "recorded")
    shutil.copytree(REPO / "audio" / "jingles", root / "audio" / "jingles")
    station = root / "schedules" / "station.yaml"
    text = station.read_text(encoding="utf-8").replace("tts: [gtts, espeak]", "tts: [espeak]")
    station.write_text(text, encoding="utf-8")
    if keep:
        for script in (root / "scripts").glob("*.md"):
            if script.stem not in keep:
                script.unlink()
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="workers (0: one per core)")
    parser.add_argument("--smoke", action="store_true", help="two bulletins, one run")
    parser.add_argument(
        "--meter",
        action="store_true",
        help="afterwards, meter every delivered file with ffmpeg's ebur128 (issue 15's check)",
    )
    args = parser.parse_args()
    workers = args.jobs or os.cpu_count() or 1
    if args.smoke:
        args.runs = 1
    with tempfile.TemporaryDirectory() as tmp:
        root = sample_copy(Path(tmp), SMOKE_BULLETINS if args.smoke else ())
        ctx = StationContext.open(root, clock=SystemClock())
        walls, audio = [], 0.0
        for _run in range(args.runs):
            start = time.perf_counter()
            outcomes = bulletins.render(ctx, force=True, workers=workers)
            walls.append(time.perf_counter() - start)
            assert not [o for o in outcomes if o.error], [o.error for o in outcomes if o.error]
            audio = sum(o.duration_seconds for o in outcomes)
        hits = []
        for _run in range(max(5, args.runs)):
            start = time.perf_counter()
            outcomes = bulletins.render(ctx, workers=workers)
            hits.append((time.perf_counter() - start) / len(outcomes))
            assert all(o.cached for o in outcomes)
        metered = [measure(root / o.path) for o in outcomes] if args.meter else []
        ctx.close()
    wall = statistics.median(walls)
    print(f"bulletins: {len(outcomes)}, audio: {audio:.1f} s, workers: {workers}")
    print(f"produce (force), wall: median {wall:.2f} s of {[round(w, 2) for w in walls]}")
    print(f"throughput: {audio / wall:.1f}x real time (issue 15: >= 1.5x the anchor's)")
    if metered:
        worst = max(abs(m.integrated_lufs + 16.0) for m in metered)
        print(
            f"ffmpeg ebur128 on the {len(metered)} delivered files: LUFS "
            f"{min(m.integrated_lufs for m in metered):.1f} to "
            f"{max(m.integrated_lufs for m in metered):.1f} (worst {worst:.1f} LU off -16), "
            f"true peak at most {max(m.true_peak_dbtp for m in metered):.1f} dBTP"
        )
    print(
        f"cache hit per bulletin: median {statistics.median(hits) * 1000:.1f} ms "
        f"(target < 20 ms) of {[round(h * 1000, 1) for h in hits]}"
    )


if __name__ == "__main__":
    main()
