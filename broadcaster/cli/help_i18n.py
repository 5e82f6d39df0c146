"""``--help`` in the user's language.

Typer and its bundled click build the help from English strings fixed when a command is
declared (``help=`` texts and docstrings), long before ``--lang`` or the locale is known,
and a process may print help in two languages (the tests do). So nothing is translated
when it is declared: the English text stays the msgid, and it is translated at the moment
the help is written, through the station's catalogue. Typer's own words ("Options",
"Commands", "default: ...", "required") go through the same catalogue, and so does the
"Usage:" that click writes without gettext.

This reaches into Typer's internals (``typer.core`` and ``typer._click``): the hooks are
named in one place, and ``tests/test_help_language.py`` fails if a Typer release moves
them, instead of the help silently going back to English.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer.core
from typer import _click

from broadcaster.i18n import _, translate_declared

_installed = False


def translated(text: str | None) -> str | None:
    """One help text in the language in use (None and "" stay as they are)."""
    return translate_declared(text) if text else text


def _translating(*attributes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A wrapper that runs a method while ``self``'s ``attributes`` hold their
    translations, restored after: the next call, perhaps in another language, starts
    from the English msgid again."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            english = {name: getattr(self, name) for name in attributes}
            for name, text in english.items():
                setattr(self, name, translated(text))
            try:
                return method(self, *args, **kwargs)
            finally:
                for name, text in english.items():
                    setattr(self, name, text)

        return wrapper

    return wrap


def _translated_usage_prefix(method: Callable[..., Any]) -> Callable[..., Any]:
    """click writes "Usage: " without gettext."""

    @functools.wraps(method)
    def wrapper(self: Any, prog: str, args: str = "", prefix: str | None = None) -> Any:
        return method(self, prog, args, _("Usage: ") if prefix is None else prefix)

    return wrapper


#: (owner, method name, wrapper): every place where a help text becomes output.
HOOKS: tuple[tuple[type, str, Callable[..., Any]], ...] = (
    (_click.core.Command, "format_help_text", _translating("help")),
    (_click.core.Command, "get_short_help_str", _translating("help", "short_help")),
    (_click.core.Command, "format_epilog", _translating("epilog")),
    (typer.core.TyperOption, "get_help_record", _translating("help")),
    (typer.core.TyperArgument, "get_help_record", _translating("help")),
    (_click.formatting.HelpFormatter, "write_usage", _translated_usage_prefix),
)


def install() -> None:
    """Hook the translation in (once per process; the CLI's import does it)."""
    global _installed
    if _installed:
        return
    for owner, name, wrap in HOOKS:
        setattr(owner, name, wrap(getattr(owner, name)))
    # Typer's own words ("Options", "Commands", "default: {default}"...) are looked up
    # with a module-level ``_`` bound to the stdlib's gettext: ours instead.
    typer.core._ = _  # type: ignore[attr-defined]
    _installed = True
