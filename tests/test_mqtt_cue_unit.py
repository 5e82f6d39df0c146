"""The station's view of a cued play, without a broker: which receivers it must tell
again when the airing begins (pure bookkeeping of reports)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from broadcaster.playout.base import PlayItem
from broadcaster.playout.mqtt.output import MqttPlayback

SENT = 1_795_000_000_000
START = SENT + 40_000  # cued 40 s ahead
ITEM = PlayItem(
    airing_id=7,
    zone_id="z1",
    bulletin_id="tin",
    audio_path=Path("a.mp3"),
    audio_sha256="ab" * 32,
    duration_seconds=12.0,
    scheduled_at=datetime(2026, 11, 23, 6, tzinfo=UTC),
    priority="normal",
)


def cued() -> MqttPlayback:
    settings = SimpleNamespace(start_timeout_seconds=30, done_margin_seconds=10)
    output = SimpleNamespace(settings=settings)
    return MqttPlayback(output, ITEM, ["r1", "r2", "r3", "r4"], SENT, ITEM.scheduled_at, START)  # type: ignore[arg-type]


def test_a_cued_play_has_its_deadline_after_its_start():
    assert cued().deadline == START + 30_000


def test_receivers_that_let_the_cue_lapse_are_told_again_and_the_rest_stands():
    playback = cued()
    playback.on_report("r1", "error", {"code": "expired", "detail": "held by an emergency"})
    playback.on_report("r2", "ack", {"started_at": START, "at": START})
    playback.on_report("r4", "error", {"code": "hash-mismatch", "detail": "tampered"})
    # At the slot, before the deadline: only the one that refused it as expired.
    assert playback.lapsed(START + 100) == ["r1"]
    # After the deadline, the silent one too (it was offline when the cue went out).
    assert playback.lapsed(START + 30_001) == ["r1", "r3"]
    playback.renew(["r1", "r3"], START + 60_000)
    assert playback.devices["r1"].outcome is None and playback.devices["r3"].outcome is None
    assert playback.devices["r2"].acked_wall == START
    assert playback.devices["r4"].outcome == "rejected"  # a forged audio is not retried
