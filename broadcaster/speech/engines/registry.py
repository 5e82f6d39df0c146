"""Finding engines: the ``broadcaster.tts`` entry points, read once per process."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from broadcaster.speech.engines.base import TtsEngine


@lru_cache(maxsize=1)
def available_engines() -> dict[str, type]:
    """Engine classes by name: the built-ins plus whatever installed packages add."""
    from broadcaster.speech.engines.command_engine import CommandEngine
    from broadcaster.speech.engines.edge_engine import EdgeEngine
    from broadcaster.speech.engines.espeak_engine import EspeakEngine
    from broadcaster.speech.engines.gtts_engine import GttsEngine

    found: dict[str, type] = {
        c.name: c for c in (GttsEngine, EspeakEngine, EdgeEngine, CommandEngine)
    }
    for ep in entry_points(group="broadcaster.tts"):
        try:
            found[ep.name] = ep.load()
        except Exception:  # a broken third-party plugin must not stop the station
            continue
    return found


def engine_class(name: str) -> type:
    return available_engines()[name]


def make_engine(name: str, settings: dict[str, Any] | None = None) -> TtsEngine:
    """An engine configured from its (already validated) station.yaml settings."""
    cls = engine_class(name)
    return cls(cls.Settings.model_validate(settings or {}))
