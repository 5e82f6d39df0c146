"""Independent audio meters for tests: ffmpeg's ebur128 and ffprobe, parsed here, not
through the code under test."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by ffmpeg's EBU R128 meter."""
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostats",
            "-hide_banner",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = proc.stderr.split("Summary:")[-1]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return lufs, peak


def probe(path: Path) -> dict:
    """The first audio stream and the container's duration, from ffprobe."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    stream = next(s for s in data["streams"] if s["codec_type"] == "audio")
    return {
        "codec": stream["codec_name"],
        "sample_rate": int(stream["sample_rate"]),
        "channels": int(stream["channels"]),
        "duration": float(data["format"]["duration"]),
    }


def make_audio(path: Path, filtergraph: str, *args: str) -> Path:
    """A test recording from an ffmpeg lavfi source (tones, noise), in any format."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", filtergraph, *args, str(path)],
        check=True,
    )
    return path


def speech_wav(path: Path, text: str, gain_db: float = 0.0) -> Path:
    """Real speech from espeak-ng, made louder or quieter (clipping if pushed too far)."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(raw), text], check=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-af", f"volume={gain_db}dB", str(path)],
        check=True,
    )
    raw.unlink()
    return path
