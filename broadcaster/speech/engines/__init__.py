"""TTS engines behind one small interface, discovered through the ``broadcaster.tts``
entry-point group (the way Mopidy and beets find extensions), so a station or a vendor
adds an engine by installing a package, without touching this one."""

from broadcaster.speech.engines.base import (
    EngineSettings,
    TtsEngine,
    TtsUnavailable,
    atomic_output,
)
from broadcaster.speech.engines.registry import available_engines, engine_class, make_engine

__all__ = [
    "EngineSettings",
    "TtsEngine",
    "TtsUnavailable",
    "atomic_output",
    "available_engines",
    "engine_class",
    "make_engine",
]
