"""The ``file`` output's relay sink: what a zone relayed in a window, as a WAV file.

One file per zone-window in the zone's folder (``<start>Z-relay-<relay>-<token>.wav``),
created like an airing's copy (through the zone's folder descriptor, ``O_EXCL`` and
``O_NOFOLLOW``: never through a planted link), with a ``relay-started`` line in the
manifest and a ``relay-ended`` line (seconds written, the file's SHA-256) at the end.
The file holds exactly what the zone carried: the programme, and the silence that filled
a dropout; nothing while an emergency held the zone. Tests and evidence have the bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import struct
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from broadcaster.core.timeutil import as_utc
from broadcaster.playout.base import RELAY_BYTES_PER_SECOND, RELAY_RATE, RelayTarget

if TYPE_CHECKING:
    from broadcaster.playout.file_output import FileOutput

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
UNKNOWN_LENGTH = 0xFFFFFFFF - 36


def wav_header(data_bytes: int) -> bytes:
    """A 44-byte RIFF header for mono 16-bit PCM at the relay's rate."""
    return b"RIFF" + struct.pack(
        "<I4s4sIHHIIHH4sI",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        RELAY_RATE,
        RELAY_BYTES_PER_SECOND,
        2,
        16,
        b"data",
        data_bytes,
    )


def complete_wav(fd: int, data_bytes: int) -> str:
    """Complete the header of a WAV written as the audio came (``data_bytes`` after the
    header), make it read-only and return its SHA-256: the file is evidence from now."""
    os.pwrite(fd, wav_header(data_bytes), 0)
    os.fchmod(fd, 0o444)
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


class GrowingWav:
    """A WAV written as the audio comes (a relay sink's, a live recording's). Until
    :meth:`_finish` completes it, the header says "as long as the file" (the streaming
    convention), so a recording a crash cut off still plays."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._written = 0
        self._closed = False
        os.write(fd, wav_header(UNKNOWN_LENGTH))

    @property
    def seconds(self) -> float:
        return self._written / RELAY_BYTES_PER_SECOND

    def write(self, pcm: bytes) -> None:
        with self._lock:
            if not self._closed:
                os.write(self._fd, pcm)
                self._written += len(pcm)

    def hold(self) -> None:
        """Nothing to release: while held the pull writes nothing here."""

    def resume(self) -> None:
        """Nothing to reopen: the file goes on from where it was."""

    def _finish(self) -> str | None:
        """Complete and close the file: its SHA-256, or None if it was closed already."""
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            try:
                return complete_wav(self._fd, self._written)
            finally:
                os.close(self._fd)


class FileRelaySink(GrowingWav):
    """Writes the zone's PCM as it comes; the header is completed at :meth:`close`."""

    def __init__(self, output: FileOutput, target: RelayTarget, now: datetime) -> None:
        from broadcaster.playout.file_output import open_zone_dir

        self.output = output
        self.target = target
        self.name = (
            f"{as_utc(now):%Y%m%dT%H%M%S.%f}Z-relay-{target.relay_id}-{secrets.token_hex(4)}.wav"
        )
        zone_fd = open_zone_dir(output.dir, target.zone_id)
        try:
            fd = os.open(
                self.name,
                os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC,
                0o644,
                dir_fd=zone_fd,
            )
            self._zone_fd = zone_fd
        except BaseException:
            os.close(zone_fd)
            raise
        super().__init__(fd)
        output.append(target.zone_id, self._record("relay-started", now))

    def _record(self, event: str, at: datetime, **extra: object) -> dict:
        return {
            "event": event,
            "relay": self.target.relay_id,
            "source": self.target.source_id,
            "file": self.name,
            "at": as_utc(at).isoformat(),
            "window": [as_utc(self.target.start).isoformat(), as_utc(self.target.end).isoformat()],
            "zone": self.target.zone_id,
            **extra,
        }

    def close(self) -> str:
        sha = self._finish()
        if sha is None:
            return ""
        os.close(self._zone_fd)
        seconds = round(self._written / RELAY_BYTES_PER_SECOND, 2)
        with contextlib.suppress(OSError):  # the file stands; the log entry says the rest
            self.output.append(
                self.target.zone_id,
                self._record("relay-ended", self.output.clock.now(), seconds=seconds, sha256=sha),
            )
        return sha
