"""The ``file`` output: writes what would have played, per zone, with a manifest.

It keeps real time like a sound card would (a playback lasts the audio's duration and can
be cut short), measured on the injected clock, so the simulated driver can run a week in
seconds while the real-time driver waits for real.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from broadcaster.core.timeutil import as_utc
from broadcaster.i18n import _
from broadcaster.playout.base import Clock, OutputError, PlayItem, PlayResult


class FilePlayback:
    def __init__(self, clock: Clock, duration: float, manifest: Path, record: dict) -> None:
        self._clock = clock
        self._ends = clock.now() + timedelta(seconds=duration)
        self._stopped = threading.Event()
        self._manifest = manifest
        self._record = record

    def wait(self, timeout: float | None) -> PlayResult | None:
        remaining = (self._ends - self._clock.now()).total_seconds()
        if remaining > 0 and timeout:
            self._stopped.wait(min(timeout, remaining))
            remaining = (self._ends - self._clock.now()).total_seconds()
        if self._stopped.is_set():
            return PlayResult(False, _("stopped"))
        return PlayResult(True) if remaining <= 0 else None

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            _append(
                self._manifest,
                {**self._record, "event": "stopped", "at": as_utc(self._clock.now()).isoformat()},
            )


def _append(manifest: Path, record: dict) -> None:
    with open(manifest, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")


class FileOutput:
    def __init__(self, name: str, settings: dict[str, Any], root: Path, clock: Clock) -> None:
        self.name = name
        self.dir = root / str(settings.get("dir", "out"))
        self.clock = clock

    def start(self, item: PlayItem) -> FilePlayback:
        zone_dir = self.dir / item.zone_id
        try:
            zone_dir.mkdir(parents=True, exist_ok=True)
            started = as_utc(self.clock.now())
            target = zone_dir / (
                f"{started:%Y%m%dT%H%M%S}Z-{item.airing_id}-{item.bulletin_id}"
                f"{item.audio_path.suffix}"
            )
            try:
                os.link(item.audio_path, target)
            except OSError:
                shutil.copyfile(item.audio_path, target)
        except OSError as exc:
            raise OutputError(
                _("cannot write to {dir}: {err}").format(dir=zone_dir, err=exc.strerror)
            ) from None
        record = {
            "event": "started",
            "airing": item.airing_id,
            "bulletin": item.bulletin_id,
            "sha256": item.audio_sha256,
            "file": target.name,
            "at": started.isoformat(),
            "duration": item.duration_seconds,
        }
        manifest = zone_dir / "manifest.jsonl"
        _append(manifest, record)
        return FilePlayback(self.clock, item.duration_seconds, manifest, record)
