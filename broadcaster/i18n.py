"""Translation hook for user-facing strings.

Every message a user reads goes through ``_`` so the Vietnamese catalogue can be added
without touching call sites. ``_`` follows the user's locale (LANGUAGE, LC_ALL, LANG) and
falls back to English; ``catalogue`` loads one language on purpose, for documents whose
language does not depend on who runs the command (the reports are in Vietnamese).
The catalogues are ``locale/<lang>/LC_MESSAGES/broadcaster.po``, compiled to ``.mo`` by
tools/install-deps.sh (``pybabel compile``).
"""

import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "broadcaster"
_translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)


def catalogue(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of one language (English, unchanged, when it is missing)."""
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)
