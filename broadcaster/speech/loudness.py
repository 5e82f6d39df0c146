"""Loudness to EBU R128 / ITU-R BS.1770: measured once on the laid-out PCM, reached by
gain plus a true-peak limiter on that PCM, verified on the limited PCM and encoded once.

Bulletins from different engines and recordings must sound equally loud from the same
loudspeaker. The gain alone is not enough: the limiter that keeps peaks under the ceiling
lowers the loudness a little, so the limited signal is measured again (in memory, by the
BS.1770 meter below) and the gain corrected until both figures are within tolerance; only
then is the file encoded, once. The encoder's own level change (LAME's MP3 comes out
about 0.45 dB quieter) is measured once per process on a reference tone and aimed for.
The tests check the delivered files with ffmpeg's ``ebur128`` meter, independently.

``measure`` (ffmpeg's meter on a file) stays for files made elsewhere (``render`` reads
the figures of a rendition whose sidecar is missing)."""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _

if TYPE_CHECKING:  # numpy is imported where audio is made
    import numpy as np

# Render runs one worker process per core: a BLAS that starts its own thread per core in
# each of them only fights the others (the 4x interpolation's product took 15x longer on
# a loaded machine). Set before numpy is first imported; a caller's own setting wins.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

LOUDNESS_TOLERANCE_LU = 0.5  # the promise, checked by ffmpeg's meter on delivered files
AIM_TOLERANCE_LU = 0.2  # what the PCM must reach, leaving room for the codec estimate
CODEC_MARGIN_DB = 0.5  # the limiter stays this far under the ceiling: the codec moves peaks
MAX_PASSES = 6
SILENT_BELOW_LUFS = -69.0
OVERSAMPLE = 4  # true peak: BS.1770-4 Annex 2 looks at 4x the sample rate
TAPS = 49  # interpolation filter length at 4x (odd: a whole number of frames of delay)
BLOCK = 64  # samples per block for the "can this block reach the limit at all?" test
GAIN_STEP = 32  # samples per point of the limiter's gain envelope (0.7 ms at 44.1 kHz)
ENVELOPE_REACH_DB = 4.0  # the source's peak envelope serves this much more gain or less limit
PEAK_SLACK_DB = 0.1  # a limited peak may pass the ceiling by this (inside CODEC_MARGIN_DB)
LIMITER_HEADROOM_DB = 0.15  # the limiter aims this far under: its smooth gain overshoots a little
LIMITER_RAMP_S = 0.005  # the gain falls and recovers over 2x this around a peak


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
        # LAME's -q 7: a third faster than its default -q 5 for a difference no one hears
        # in speech at 128 kb/s from a loudspeaker horn (the encode is most of a render)
        return ["-c:a", "libmp3lame", "-b:a", self.bitrate, "-compression_level", "7", "-f", "mp3"]


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


# -- loudness of PCM in memory ------------------------------------------------------------
@dataclass(frozen=True)
class _Metered:
    """ffmpeg's reading of a PCM signal: integrated loudness and the momentary loudness
    of every 400 ms block, one every 100 ms (the blocks BS.1770 gates)."""

    integrated_lufs: float
    blocks_lufs: np.ndarray


_MOMENTARY = re.compile(r"\] t: *([\d.]+) +TARGET:\S+ LUFS +M: *" + _NUMBER)


def _meter_pcm(pcm: np.ndarray, rate: int, shown: str) -> _Metered:
    """One pass of ffmpeg's ``ebur128`` over int16 frames on a pipe (no true peak: that is
    computed here, on the frames that can reach the ceiling)."""
    import numpy as np

    channels = pcm.shape[1]
    raw = ["-f", "s16le", "-ar", str(rate), "-ac", str(channels), "-i", "pipe:0"]
    stderr = _ffmpeg(
        [
            "-v",
            "verbose",
            "-nostats",
            *raw,
            "-af",
            "ebur128=peak=none:framelog=verbose",
            "-f",
            "null",
            "-",
        ],
        pcm,
        shown,
        _("cannot measure loudness: {err}"),
    )[1]
    summary = stderr.rpartition("Summary:")[2]
    integrated = re.search(r"I:\s+" + _NUMBER + r" LUFS", summary)
    if not integrated:
        raise BroadcasterError(
            _("cannot measure loudness: {err}").format(err="ebur128"), path=shown
        )
    # a line per frame that completes a 100 ms step (not one per step): place each block
    # by its time; steps without a line stay unknown (NaN) and are left out
    count = len(pcm) // (rate // 10)
    blocks = np.full(count, np.nan)
    for t, value in _MOMENTARY.findall(stderr):
        index = round(float(t) * 10) - 1  # the block that ends at t
        if 3 <= index < count:  # the first three lines are not whole blocks yet
            blocks[index] = float(value)
    return _Metered(float(integrated.group(1)), blocks)


def _predicted_lufs(
    metered: _Metered, source: _Source, gain: float, limited: _Limited | None
) -> float:
    """Integrated loudness of the source after ``gain`` and the limiter, from the source's
    metered blocks, each scaled by how much energy the change left in it. The limiter's
    gain moves slowly next to the K-weighting filter, so the ratio of plain energies is the
    ratio of weighted ones; the encode pass then measures the result exactly."""
    import numpy as np

    count = len(source.chunks)
    if count < 4:
        return metered.integrated_lufs + 20 * math.log10(gain)
    chunks = source.chunks
    if limited is not None:  # only the frames the limiter touched lose energy
        frames, shape = limited
        inside = frames < count * source.step
        lost = source.power[frames[inside]] * (1.0 - np.square(shape[inside]))
        chunks = chunks - np.bincount(frames[inside] // source.step, lost, minlength=count)
    window = np.ones(4)
    energy_x = np.convolve(source.chunks, window)[:count]
    energy_y = np.convolve(chunks, window)[:count]
    ratio = np.ones(count)
    np.divide(energy_y, energy_x, out=ratio, where=energy_x > 0)
    blocks = np.power(10.0, (metered.blocks_lufs[:count] + 0.691) / 10) * ratio * gain * gain
    blocks = blocks[~np.isnan(blocks)]
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-30))
    gated = blocks[levels > -70.0]
    if not len(gated):
        return -math.inf
    relative = -0.691 + 10 * math.log10(float(gated.mean())) - 10.0
    gated = blocks[levels > max(-70.0, relative)]
    return -0.691 + 10 * math.log10(float(gated.mean()))


@dataclass(frozen=True)
class _Source:
    """The laid-out frames and what every pass needs of them, computed once."""

    frames: np.ndarray  # float32, frames x channels, -1..1
    power: np.ndarray  # per frame, the sum of squares over channels
    chunks: np.ndarray  # energy of every whole 100 ms step
    block_peaks: np.ndarray
    step: int  # frames per 100 ms

    @classmethod
    def of(cls, pcm: np.ndarray, rate: int) -> _Source:
        import numpy as np

        frames = pcm.astype(np.float32) / 32768.0
        power = np.square(frames).sum(axis=1)
        step = rate // 10
        count = len(power) // step
        chunks = power[: count * step].reshape(count, step).sum(axis=1, dtype=np.float64)
        return cls(frames, power, chunks, _block_peaks(frames), step)


# the limiter's gain where it is under 1: (frame indices, gain at those frames)
_Limited = tuple["np.ndarray", "np.ndarray"]


# -- true peak and the limiter -------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _interpolator() -> tuple[np.ndarray, float]:
    """The 4x interpolation as a (13 frames -> 4 phases) matrix: phase p of frame n is the
    window of frames n-6..n+6 times column p. Also the largest sum of absolute taps of
    any phase: no interpolated value exceeds the window's sample peak times that."""
    import numpy as np

    half = (TAPS - 1) // 2  # 24 output samples: exactly 6 input frames
    n = np.arange(TAPS) - half
    sinc = np.sinc(n / OVERSAMPLE)  # cut-off at the original Nyquist frequency
    taps = sinc * np.kaiser(TAPS, 8.0)
    frames = 2 * (half // OVERSAMPLE) + 1
    matrix = np.zeros((frames, OVERSAMPLE))
    for i in range(frames):
        for p in range(OVERSAMPLE):
            index = 2 * half - OVERSAMPLE * i + p
            if 0 <= index < TAPS:
                matrix[i, p] = taps[index]
    matrix /= matrix[:, 0].sum()  # unity gain at DC
    bound = float(np.abs(matrix).sum(axis=0).max())
    return matrix.astype(np.float32), bound


def _block_peaks(samples: np.ndarray) -> np.ndarray:
    """The sample peak of every block of frames, across channels (the last one padded)."""
    import numpy as np

    peak = np.abs(samples).max(axis=1)
    padded = np.zeros(-(-len(peak) // BLOCK) * BLOCK, dtype=peak.dtype)
    padded[: len(peak)] = peak
    return padded.reshape(-1, BLOCK).max(axis=1)


def _hot_blocks(block_peaks: np.ndarray, level: float) -> np.ndarray:
    """Blocks whose interpolated values could reach ``level``: their own sample peak or a
    neighbour's, times the interpolator's bound, reaches it (the interpolator looks six
    frames into the next block, so neighbours count)."""
    import numpy as np

    hot = block_peaks * _interpolator()[1] >= level
    hot[1:] |= hot[:-1].copy()
    hot[:-1] |= hot[1:].copy()
    return np.flatnonzero(hot)


def _peak_envelope(samples: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Per frame, the largest absolute value of the frame and of the three points
    interpolated after it (over all channels), for the frames of ``blocks``; other frames
    keep their sample peak, which the caller's bound says is enough.

    Each block is gathered with the six frames of context either side (nothing else is
    copied), and the three interpolated phases are sums of shifted slices: a few dozen
    array operations whatever the number of blocks."""
    import numpy as np

    matrix, _bound = _interpolator()
    envelope = np.abs(samples).max(axis=1)
    if not len(blocks):
        return envelope
    taps = matrix.shape[0]
    reach = taps // 2
    index = blocks[:, None] * BLOCK - reach + np.arange(BLOCK + 2 * reach)[None, :]
    outside = (index < 0) | (index >= len(samples))
    segments = samples[np.clip(index, 0, len(samples) - 1)]  # (blocks, frames, channels)
    segments[outside] = 0.0
    best = np.abs(segments[:, reach : reach + BLOCK]).max(axis=2)
    for phase in range(1, OVERSAMPLE):
        point = np.zeros((len(blocks), BLOCK, samples.shape[1]), dtype=np.float32)
        for i in range(taps):
            if matrix[i, phase]:
                point += matrix[i, phase] * segments[:, i : i + BLOCK]
        np.maximum(best, np.abs(point).max(axis=2), out=best)
    frames = index[:, reach : reach + BLOCK].ravel()
    keep = frames < len(samples)
    frames = frames[keep]
    envelope[frames] = np.maximum(envelope[frames], best.ravel()[keep])
    return envelope


def _limiter_gain(envelope: np.ndarray, limit: float, rate: int) -> _Limited | None:
    """A smooth gain (at most 1; given for the frames where it is under 1) under which no
    peak of ``envelope`` exceeds ``limit``, or None when nothing needs it. On a grid of
    GAIN_STEP frames: the required gain's minimum over a window, then averaged over a
    window two points narrower, so
    every average is of minima that each cover the point, and the straight line between
    two points stays under what either point's frames require."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    if float(envelope.max()) <= limit:
        return None
    count = -(-len(envelope) // GAIN_STEP)
    padded = np.zeros(count * GAIN_STEP, dtype=np.float32)
    padded[: len(envelope)] = envelope
    peaks = padded.reshape(count, GAIN_STEP).max(axis=1)
    need = np.minimum(1.0, limit / np.maximum(peaks, 1e-9))
    half = max(1, round(LIMITER_RAMP_S * rate / GAIN_STEP))
    wide = half + 2  # one point for the interpolation, one for the frames around a peak
    edged = np.pad(need, wide, constant_values=1.0)
    floor = sliding_window_view(edged, 2 * wide + 1).min(axis=1)
    sums = np.concatenate(([0.0], np.cumsum(np.pad(floor, half, mode="edge"))))
    smooth = (sums[2 * half + 1 :] - sums[: -(2 * half + 1)]) / (2 * half + 1)
    # interpolated only around the points that limit: elsewhere the gain is exactly 1
    active = smooth < 1.0
    active[1:] |= active[:-1].copy()
    active[:-1] |= active[1:].copy()
    points = np.flatnonzero(active)
    frames = (points[:, None] * GAIN_STEP + np.arange(GAIN_STEP)[None, :]).ravel()
    frames = frames[frames < len(envelope)]
    centres = np.arange(count) * GAIN_STEP + (GAIN_STEP - 1) / 2
    return frames, np.interp(frames, centres, smooth).astype(np.float32)


@functools.lru_cache(maxsize=8)
def codec_gain_db(encoding: Encoding) -> float:
    """How much the delivery codec changes the level (LAME's MP3 comes out about 0.45 dB
    quieter), measured on a 1 kHz tone through the real encoder and decoder; 0 for WAV."""
    if encoding.format == "wav":
        return 0.0
    import numpy as np

    rate, channels = encoding.sample_rate, encoding.channels
    t = np.arange(rate * 2) / rate
    tone = np.repeat((0.125 * np.sin(2 * np.pi * 1000 * t))[:, None], channels, axis=1)
    pcm = _to_int16(tone.astype(np.float32))
    shown = f"{encoding.format} codec"
    failed = _("cannot encode audio: {err}")
    encoded = _ffmpeg([*_raw_input(encoding), *_codec_output(encoding, "-")], pcm, shown, failed)
    decoded = _ffmpeg(
        ["-f", encoding.format, "-i", "pipe:0", "-f", "s16le", "-ac", str(channels), "-"],
        encoded[0],
        shown,
        failed,
    )[0]
    back = np.frombuffer(decoded, dtype="<i2").astype(np.float64)
    middle = back[len(back) // 4 : 3 * len(back) // 4]
    sent = np.sqrt(np.mean(np.square(pcm.astype(np.float64))))
    return 20 * math.log10(float(np.sqrt(np.mean(np.square(middle)))) / float(sent))


def normalize_pcm(
    pcm: np.ndarray,
    rate: int,
    out: Path,
    encoding: Encoding,
    target_lufs: float,
    ceiling_dbtp: float,
    *,
    shown: str = "",
) -> Loudness:
    """Write ``pcm`` (int16, frames x channels) to ``out`` in ``encoding`` at
    ``target_lufs`` with true peak <= ``ceiling_dbtp``.

    Metered once; gain and limiter are settled on the PCM in memory (secant steps on the
    predicted loudness); the one encode meters exactly what it encodes, and only if that
    misses the aim by more than the tolerance is the gain corrected and the file made
    again. Returns the figures of the limited PCM moved by the codec's level change: what
    the delivered file measures."""

    shown = shown or str(out)
    metered = _meter_pcm(pcm, rate, shown)
    if metered.integrated_lufs <= SILENT_BELOW_LUFS:
        raise BroadcasterError(_("the audio is silent"), path=shown)
    codec = codec_gain_db(encoding)
    aim = target_lufs - codec
    limit_db = ceiling_dbtp - CODEC_MARGIN_DB - max(0.0, codec)
    source = _Source.of(pcm, rate)
    gain_db = aim - metered.integrated_lufs
    for _encode in range(2):
        limited, lufs, peak_db, gain_db, limit_db = _settle(
            source, metered, rate, aim, gain_db, limit_db
        )
        if abs(lufs - aim) > LOUDNESS_TOLERANCE_LU or peak_db > ceiling_dbtp - codec:
            break
        measured = _encode_pcm(_to_int16(limited), encoding, out, rate, shown)
        if abs(measured - aim) <= AIM_TOLERANCE_LU * 2:
            return Loudness(round(measured + codec, 2), round(peak_db + codec, 2))
        gain_db += aim - measured  # the prediction was off: once more with what it measured
        lufs = measured
    if abs(lufs - aim) <= LOUDNESS_TOLERANCE_LU and peak_db <= ceiling_dbtp - codec:
        return Loudness(round(lufs + codec, 2), round(peak_db + codec, 2))
    out.unlink(missing_ok=True)
    raise BroadcasterError(
        _("cannot reach {target} LUFS under {ceiling} dBTP (got {lufs} LUFS, {peak} dBTP)").format(
            target=target_lufs,
            ceiling=ceiling_dbtp,
            lufs=round(lufs + codec, 1),
            peak=round(peak_db + codec, 1),
        ),
        path=shown,
    )


def _settle(
    source: _Source, metered: _Metered, rate: int, aim: float, gain_db: float, limit_db: float
) -> tuple[np.ndarray, float, float, float, float]:
    """Gain and limiter for ``aim``: (limited frames, predicted LUFS, true peak dBTP, the
    gain and the limit used). Secant steps on loudness-versus-gain, because limiting makes
    the response flatter than 1 LU per dB; the true peak of the limited frames is checked
    once the loudness is right, and the limit comes down if a peak still passes."""
    ceiling_db = limit_db  # where peaks must end; the limiter's own limit may go lower
    limit_db -= LIMITER_HEADROOM_DB
    points = [(0.0, metered.integrated_lufs)]
    cached: tuple[float, float, np.ndarray] | None = (
        None  # (up to gain dB, down to limit dB, envelope)
    )
    limited: _Limited | None = None
    lufs, peak_db = -math.inf, 0.0
    for _pass in range(MAX_PASSES):
        gain, limit = 10 ** (gain_db / 20), 10 ** (limit_db / 20)
        if cached is None or gain_db > cached[0] or limit_db < cached[1]:
            # one envelope of the source serves every step that stays within its reach:
            # up to ENVELOPE_REACH_DB more gain, down to a limit that much lower
            reach, floor = gain_db + ENVELOPE_REACH_DB, limit_db - ENVELOPE_REACH_DB
            level = 10 ** ((floor - reach) / 20)
            cached = (
                reach,
                floor,
                _peak_envelope(source.frames, _hot_blocks(source.block_peaks, level)),
            )
        envelope = cached[2] * gain
        limited = _limiter_gain(envelope, limit, rate)
        lufs = _predicted_lufs(metered, source, gain, limited)
        if abs(lufs - aim) <= AIM_TOLERANCE_LU:
            if limited is None:
                peak = float(envelope.max())
            else:  # outside these blocks the bound keeps every value under the limit
                hot = _hot_blocks(source.block_peaks * gain, limit)
                peak = float(_peak_envelope(_apply(source, gain, limited), hot).max())
            peak_db = 20 * math.log10(max(peak, 1e-9))
            if peak_db <= ceiling_db + PEAK_SLACK_DB:
                break
            limit_db -= peak_db - ceiling_db
            continue
        (g0, l0), (g1, l1) = points[-1], (gain_db, lufs)
        points.append((g1, l1))
        slope = (l1 - l0) / (g1 - g0) if abs(g1 - g0) > 0.05 else 1.0
        gain_db = g1 + (aim - l1) / min(1.0, max(0.2, slope))
    return _apply(source, 10 ** (gain_db / 20), limited), lufs, peak_db, gain_db, limit_db


def _apply(source: _Source, gain: float, limited: _Limited | None) -> np.ndarray:
    """The source frames after the gain and the limiter."""
    out = source.frames * gain
    if limited is not None:
        frames, shape = limited
        out[frames] *= shape[:, None]
    return out


def _to_int16(samples: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype("<i2")


def _raw_input(encoding: Encoding) -> list[str]:
    rate, channels = str(encoding.sample_rate), str(encoding.channels)
    return ["-f", "s16le", "-ar", rate, "-ac", channels, "-i", "pipe:0"]


def _codec_output(encoding: Encoding, target: str) -> list[str]:
    return [
        "-ar",
        str(encoding.sample_rate),
        "-ac",
        str(encoding.channels),
        *encoding.codec_args(),
        target,
    ]


def _encode_pcm(pcm: np.ndarray, encoding: Encoding, out: Path, rate: int, shown: str) -> float:
    """The one encode, through ffmpeg's meter: int16 frames to ``out`` (through a temporary
    file, so that a reader never sees half a file); returns the integrated loudness of
    exactly the frames encoded."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        stderr = _ffmpeg(
            [
                "-nostats",
                "-y",
                *_raw_input(encoding),
                "-af",
                "ebur128=peak=none",
                *_codec_output(encoding, str(tmp)),
            ],
            pcm,
            shown,
            _("cannot encode audio: {err}"),
        )[1]
        integrated = re.search(r"I:\s+" + _NUMBER + r" LUFS", stderr.rpartition("Summary:")[2])
        if not integrated:
            raise BroadcasterError(
                _("cannot measure loudness: {err}").format(err="ebur128"), path=shown
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return float(integrated.group(1))


def _ffmpeg(args: list[str], data: object, shown: str, failed: str) -> tuple[bytes, str]:
    """ffmpeg with ``data`` (bytes or an array) on stdin: (stdout, stderr), or a one-line
    error naming ``shown``."""
    payload = data if isinstance(data, bytes) else data.tobytes()  # type: ignore[attr-defined]
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", *args],
        input=payload,
        capture_output=True,
        timeout=600,
        check=False,
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        err = [line for line in stderr.strip().splitlines() if line.strip()]
        raise BroadcasterError(failed.format(err=err[-1][:160] if err else "ffmpeg"), path=shown)
    return proc.stdout, stderr
