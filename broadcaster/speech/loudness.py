"""Loudness to EBU R128 / ITU-R BS.1770: measured by ffmpeg's ``ebur128`` meter, reached
by gain plus a true-peak limiter, and checked on the encoded file itself.

Bulletins from different engines and recordings must sound equally loud from the same
loudspeaker. One gain pass is not enough: the limiter that keeps peaks under the ceiling
lowers the loudness a little, and MP3 encoding moves the peaks, so we measure the file we
actually deliver and correct until both figures are within tolerance."""

from __future__ import annotations

import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _

LOUDNESS_TOLERANCE_LU = 0.5  # the meter-checked promise is ±1 LU
MAX_PASSES = 5
SILENT_BELOW_LUFS = -69.0


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class Encoding:
    """The station's delivery format."""

    format: str  # "mp3" or "wav"
    sample_rate: int
    channels: int
    bitrate: str  # for mp3, e.g. "128k"

    @property
    def suffix(self) -> str:
        return "." + self.format

    def codec_args(self) -> list[str]:
        if self.format == "wav":
            return ["-c:a", "pcm_s16le", "-f", "wav"]
        return ["-c:a", "libmp3lame", "-b:a", self.bitrate, "-f", "mp3"]


_NUMBER = r"(-?(?:\d+(?:\.\d+)?|inf))"


def measure(path: Path) -> Loudness:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file, by ffmpeg's meter."""
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostats",
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-filter_complex",
            "ebur128=peak=true:framelog=verbose",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = proc.stderr.rpartition("Summary:")[2]
    integrated = re.search(r"I:\s+" + _NUMBER + r" LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+" + _NUMBER + r" dBFS", summary)
    if proc.returncode != 0 or not integrated or not peak:
        err = proc.stderr.strip().splitlines()
        raise BroadcasterError(
            _("cannot measure loudness: {err}").format(err=err[-1][:160] if err else "ffmpeg"),
            path=str(path),
        )
    return Loudness(float(integrated.group(1)), float(peak.group(1)))


def normalize(
    source: Path, out: Path, encoding: Encoding, target_lufs: float, ceiling_dbtp: float
) -> Loudness:
    """Encode ``source`` to ``out`` at ``target_lufs`` with true peak <= ``ceiling_dbtp``.

    The limiter runs at four times the sample rate, where inter-sample peaks show, and
    starts half a dB under the ceiling to leave room for the encoder."""
    start = measure(source)
    if start.integrated_lufs <= SILENT_BELOW_LUFS:
        raise BroadcasterError(_("the audio is silent"), path=str(source))
    # Secant steps on loudness-versus-gain: limiting makes the response flatter than
    # 1 LU per dB, so plain "add the shortfall" would crawl towards the target.
    points = [(0.0, start.integrated_lufs)]
    gain = target_lufs - start.integrated_lufs
    limit = ceiling_dbtp - 0.5
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        for _pass in range(MAX_PASSES):
            _encode(source, tmp, encoding, gain, limit)
            got = measure(tmp)
            loud_ok = abs(got.integrated_lufs - target_lufs) <= LOUDNESS_TOLERANCE_LU
            if loud_ok and got.true_peak_dbtp <= ceiling_dbtp:
                break
            (g0, l0), (g1, l1) = points[-1], (gain, got.integrated_lufs)
            points.append((g1, l1))
            slope = (l1 - l0) / (g1 - g0) if abs(g1 - g0) > 0.05 else 1.0
            gain = g1 + (target_lufs - l1) / min(1.0, max(0.2, slope))
            if got.true_peak_dbtp > ceiling_dbtp:
                limit -= got.true_peak_dbtp - ceiling_dbtp + 0.2
        else:
            if got.true_peak_dbtp > ceiling_dbtp or abs(got.integrated_lufs - target_lufs) > 1:
                raise BroadcasterError(
                    _(
                        "cannot reach {target} LUFS under {ceiling} dBTP "
                        "(got {lufs} LUFS, {peak} dBTP)"
                    ).format(
                        target=target_lufs,
                        ceiling=ceiling_dbtp,
                        lufs=got.integrated_lufs,
                        peak=got.true_peak_dbtp,
                    ),
                    path=str(source),
                )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return got


def _encode(source: Path, out: Path, encoding: Encoding, gain_db: float, limit_dbfs: float) -> None:
    rate = encoding.sample_rate
    limit = min(1.0, max(0.0625, math.pow(10, limit_dbfs / 20)))
    chain = (
        f"volume={gain_db:.3f}dB,aresample={rate * 4},"
        f"alimiter=limit={limit:.5f}:attack=1:release=60:level=false:latency=true,"
        f"aresample={rate}"
    )
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            "-af",
            chain,
            "-ar",
            str(rate),
            "-ac",
            str(encoding.channels),
            *encoding.codec_args(),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        raise BroadcasterError(
            _("cannot encode audio: {err}").format(err=err[-1][:160] if err else "ffmpeg"),
            path=str(out),
        )
