"""The recording of a live broadcast (issue 16): what came in from the microphone, kept
in the station folder so what was said live is evidence too.

One WAV per broadcast under ``recordings/live/`` (``<start>Z-live-<id>.wav``), written as
the audio comes (the relay's PCM: mono, 16 bit, :data:`~broadcaster.playout.base.RELAY_RATE`)
with a header that says "as long as the file" until the end, so a recording a crash cut
off still plays; at the end the header is completed, the file made read-only and its
SHA-256 goes into every zone's as-run entry. Created with ``O_EXCL`` and ``O_NOFOLLOW``:
never through a planted link, never over an earlier recording.
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import datetime
from pathlib import Path

from broadcaster.core.timeutil import as_utc
from broadcaster.playout.base import RELAY_BYTES_PER_SECOND
from broadcaster.playout.file_relay import UNKNOWN_LENGTH, complete_wav, wav_header

FOLDER = Path("recordings") / "live"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class LiveRecording:
    """A :class:`~broadcaster.playout.base.RelaySink` writing the broadcast's WAV."""

    def __init__(self, root: Path, live_id: int, now: datetime) -> None:
        folder = root / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{as_utc(now):%Y%m%dT%H%M%S}Z-live-{live_id}-{secrets.token_hex(3)}.wav"
        self.relative = str(FOLDER / name)
        self._lock = threading.Lock()
        self._written = 0
        self._closed = False
        self._fd = os.open(
            folder / name,
            os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC,
            0o644,
        )
        os.write(self._fd, wav_header(UNKNOWN_LENGTH))

    @property
    def seconds(self) -> float:
        return self._written / RELAY_BYTES_PER_SECOND

    def write(self, pcm: bytes) -> None:
        with self._lock:
            if not self._closed:
                os.write(self._fd, pcm)
                self._written += len(pcm)

    def hold(self) -> None:
        """The recording is of the microphone, not of a zone: nothing holds it."""

    def resume(self) -> None:
        """See :meth:`hold`."""

    def close(self) -> str:
        with self._lock:
            if self._closed:
                return ""
            self._closed = True
            try:
                return complete_wav(self._fd, self._written)
            finally:
                os.close(self._fd)
