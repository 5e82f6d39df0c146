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
from datetime import datetime
from pathlib import Path

from broadcaster.core.timeutil import as_utc
from broadcaster.playout.file_relay import GrowingWav

FOLDER = Path("recordings") / "live"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class LiveRecording(GrowingWav):
    """A :class:`~broadcaster.playout.base.RelaySink` writing the broadcast's WAV."""

    def __init__(self, root: Path, live_id: int, now: datetime) -> None:
        folder = root / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{as_utc(now):%Y%m%dT%H%M%S}Z-live-{live_id}-{secrets.token_hex(3)}.wav"
        self.relative = str(FOLDER / name)
        super().__init__(
            os.open(
                folder / name,
                os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC,
                0o644,
            )
        )

    def close(self) -> str:
        return self._finish() or ""
