"""Translation hook for user-facing strings, and the one rule that picks their language.

Every message a user reads goes through ``_`` (or ``pgettext`` where one English word
means two things, e.g. a week that "failed" and an airing that "failed"). The msgids are
English and the code keeps them English; the Vietnamese catalogue is
``locale/vi/LC_MESSAGES/broadcaster.po``, compiled to ``.mo`` by tools/install-deps.sh
(``pybabel compile -D broadcaster -d broadcaster/locale``).

The station speaks Vietnamese unless asked otherwise. The language is, first match wins:

1. ``--lang en|vi`` on the command line (``set_language``);
2. LANGUAGE, LC_ALL, LC_MESSAGES, LANG, when one names a real language (not ``C``,
   ``POSIX`` or empty): ``en_US.UTF-8`` is English, ``vi_VN`` Vietnamese, a language
   without a catalogue (``fr_FR``) English, the msgids;
3. the station's ``station.language`` (``use_station_language``, once station.yaml is read);
4. Vietnamese.

``_`` reads a module-level translation that ``set_language`` replaces, so the language
can change after import (the root command parses ``--lang`` after every module is loaded);
a module must therefore never call ``_`` at import time.

What the station *stores* does not depend on who runs the command: the as-run log keeps
English reasons (marked ``N_``, extracted into the catalogue, never translated when
written) and the reports translate them (``catalogue`` loads one language on purpose:
reports are always Vietnamese). ``--json`` keeps English field names and values.

Only the standard library is imported here: every command imports this module.
"""

from __future__ import annotations

import contextvars
import gettext
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "broadcaster"

#: The languages the station speaks (``en`` is the msgids themselves).
LANGUAGES: tuple[str, ...] = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

#: The environment variables that name the user's language, strongest first.
LOCALE_VARIABLES: tuple[str, ...] = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@lru_cache(maxsize=8)
def catalogue(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of one language (English, unchanged, when it is missing)."""
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)


def language_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The language the locale variables ask for, or None when none names one.

    LANGUAGE may list several (``vi:en``): the first the station speaks wins. ``C``,
    ``C.UTF-8`` and ``POSIX`` name no language (a container's default), so they leave the
    choice to the station. A real language without a catalogue is English."""
    env = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        named = False
        for part in env.get(variable, "").split(":"):
            code = part.split(".")[0].split("@")[0].strip()
            if code in ("", "C", "POSIX"):
                continue
            named = True
            language = code.replace("-", "_").split("_")[0].lower()
            if language in LANGUAGES:
                return language
        if named:
            return "en"
    return None


def normalise(language: str) -> str:
    """'vi', 'VI', 'vi_VN' -> 'vi'; a value the station does not speak raises ValueError."""
    code = language.strip().replace("-", "_").split("_")[0].lower()
    if code not in LANGUAGES:
        raise ValueError(language)
    return code


class _Active:
    """The language in use and the choice it came from (option, environment, station)."""

    def __init__(self) -> None:
        self.explicit: str | None = None  # --lang
        self.language = ""
        self.translation: gettext.NullTranslations = gettext.NullTranslations()

    def activate(self, language: str) -> None:
        self.language = language
        self.translation = catalogue(language)


_active = _Active()

#: A language for the current context only (a web request: each page is in its reader's
#: language, while other requests in other threads use theirs). None: the process's.
_here: contextvars.ContextVar[gettext.NullTranslations | None] = contextvars.ContextVar(
    "broadcaster_language_here", default=None
)


def use_language_here(language: str | None) -> None:
    """Speak ``language`` in the current context (a request's task and the threads it
    runs code in); None goes back to the process's language."""
    _here.set(catalogue(normalise(language)) if language else None)


def _translation() -> gettext.NullTranslations:
    return _here.get() or _active.translation


def set_language(language: str | None) -> str:
    """Use ``language`` (``--lang``) above everything else; None goes back to the
    environment's choice, then the default. Returns the language now in use."""
    _active.explicit = normalise(language) if language else None
    _active.activate(_active.explicit or language_from_environment() or DEFAULT_LANGUAGE)
    return _active.language


def use_station_language(language: str | None) -> str:
    """The station's ``station.language``, unless ``--lang`` or the locale chose."""
    if _active.explicit is None and language_from_environment() is None:
        _active.activate(normalise(language) if language else DEFAULT_LANGUAGE)
    return _active.language


def current_language() -> str:
    here = _here.get()
    if here is not None:
        return next((code for code in LANGUAGES if catalogue(code) is here), _active.language)
    return _active.language


def _(message: str) -> str:
    """The message in the language in use."""
    return _translation().gettext(message)


def pgettext(context: str, message: str) -> str:
    """The message in the language in use, in a context ("compliance", "airing") that
    tells apart the same English word meaning two things."""
    return _translation().pgettext(context, message)


def translate_declared(message: str) -> str:
    """The translation of a message declared elsewhere as data (an ``N_`` table, a
    command's ``help=`` text): ``_`` itself takes only literals, so that the catalogue
    test can see every msgid where it is written."""
    return _translation().gettext(message)


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it: the English text is what
    gets stored (an as-run log reason); the reports translate it when they show it."""
    return message


def _in_use_words(table: Callable[[], dict[str, str]]) -> dict[str, str]:
    """One table of words in the language in use, made once per language: a page lists
    a thousand airings, each with its status and priority."""
    return _words_in(table, _translation())


@lru_cache(maxsize=64)
def _words_in(
    table: Callable[[], dict[str, str]], translation: gettext.NullTranslations
) -> dict[str, str]:
    token = _here.set(translation)
    try:
        return table()
    finally:
        _here.reset(token)


# The words of states, outcomes, origins and priorities as a table shows them. The values
# themselves (``met``, ``aired``...) stay English in --json and in the database; only what
# a person reads is translated, through one function per kind (the same English word can
# mean two things: a week that "failed" and an airing that "failed").


def state_word(state: str) -> str:
    """A zone-week's compliance state (met, on-track, at-risk, failed...) for display."""
    return _in_use_words(_state_words).get(state, state)


def _state_words() -> dict[str, str]:
    return {
        "met": pgettext("compliance", "met"),
        "on-track": pgettext("compliance", "on-track"),
        "at-risk": pgettext("compliance", "at-risk"),
        "failed": pgettext("compliance", "failed"),
        "not-met": pgettext("compliance", "not-met"),
        "no-session": pgettext("compliance", "no-session"),
    }


def clock_word(kind: str, language: str | None = None) -> str:
    """The kind of clock an unreal log entry was made under, for display: ``simulated``,
    ``unknown``, or ``shifted:+3600s`` (the offset stays as it is). ``language`` is for
    documents written in one language whatever the user's (the evidence pack)."""
    translate = catalogue(language).pgettext if language else pgettext
    if kind in ("simulated", "unknown"):
        return translate("clock", kind)
    if kind.startswith("shifted"):
        _word, sep, offset = kind.partition(":")
        return translate("clock", "shifted") + (f" {offset}" if sep else "")
    return kind


def status_word(status: str) -> str:
    """An airing's status, or a log entry's outcome, for display."""
    return _in_use_words(_status_words).get(str(status), str(status))


def _status_words() -> dict[str, str]:
    return {
        "planned": pgettext("airing", "planned"),
        "playing": pgettext("airing", "playing"),
        "aired": pgettext("airing", "aired"),
        "failed": pgettext("airing", "failed"),
        "missed": pgettext("airing", "missed"),
        "interrupted": pgettext("airing", "interrupted"),
        "cancelled": pgettext("airing", "cancelled"),
        "partial": pgettext("airing", "partial"),
    }


def origin_word(origin: str) -> str:
    """Why an airing exists (plan, queue, makeup, retry, emergency), for display."""
    return _in_use_words(_origin_words).get(str(origin), str(origin))


def _origin_words() -> dict[str, str]:
    return {
        "plan": pgettext("origin", "plan"),
        "queue": pgettext("origin", "queue"),
        "makeup": pgettext("origin", "makeup"),
        "retry": pgettext("origin", "retry"),
        "emergency": pgettext("origin", "emergency"),
    }


def priority_word(priority: str) -> str:
    """A bulletin's priority (normal, priority, emergency), for display."""
    return _in_use_words(_priority_words).get(str(priority), str(priority))


def _priority_words() -> dict[str, str]:
    return {
        "normal": pgettext("priority", "normal"),
        "priority": pgettext("priority", "priority"),
        "emergency": pgettext("priority", "emergency"),
    }


def editorial_word(state: str) -> str:
    """A bulletin's editorial state (draft, pending...) for display; --json keeps the value."""
    return _in_use_words(_editorial_words).get(state, state)


def _editorial_words() -> dict[str, str]:
    return {
        "draft": pgettext("editorial", "draft"),
        "pending": pgettext("editorial", "awaiting approval"),
        "rejected": pgettext("editorial", "sent back"),
        "approved": pgettext("editorial", "approved"),
        "changed-since-approval": pgettext("editorial", "changed since approval"),
        "expired": pgettext("editorial", "expired"),
    }


def receiver_state_word(state: str) -> str:
    """A networked receiver's state (online, offline, stale, never seen), for display."""
    return _in_use_words(_receiver_state_words).get(state, state)


def _receiver_state_words() -> dict[str, str]:
    return {
        "online": pgettext("receiver", "online"),
        "offline": pgettext("receiver", "offline"),
        "stale": pgettext("receiver", "stale"),
        "never seen": pgettext("receiver", "never seen"),
    }


set_language(None)
