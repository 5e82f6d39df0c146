"""Translation hook for user-facing strings.

Every message a user reads goes through ``_`` so the Vietnamese catalogue can be added
without touching call sites. Until a catalogue ships, gettext falls back to English.
"""

import gettext
from pathlib import Path

_LOCALE_DIR = Path(__file__).parent / "locale"
_translation = gettext.translation("broadcaster", localedir=_LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)
