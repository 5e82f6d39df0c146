"""``--help`` and click's usage errors in the user's language.

Typer and its bundled click build the help from English strings fixed when a command is
declared (``help=`` texts and docstrings), long before ``--lang`` or the locale is known,
and a process may print help in two languages (the tests do). So nothing is translated
when it is declared: the English text stays the msgid, and it is translated at the moment
the help is written, through the station's catalogue. Typer's own words ("Options",
"Commands", "default: ...", "required") go through the same catalogue, and so does the
"Usage:" that click writes without gettext.

Click's usage errors ("No such option: --wek", "Missing argument 'ID'.") are built
with f-strings, so they are worded again from the exception's own fields
(:func:`usage_error_text`); a bad value's reason comes from pydantic (Typer converts with
it) and is worded by :mod:`broadcaster.core.validation_words`.

This reaches into Typer's internals (``typer.core`` and ``typer._click``): the hooks are
named in one place, and ``tests/test_help_language.py`` fails if a Typer release moves
them, instead of the help silently going back to English.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import typer.core
from typer import _click

from broadcaster.core.validation_words import validation_message
from broadcaster.i18n import _, pgettext, translate_declared

_installed = False


def translated(text: str | None) -> str | None:
    """One help text in the language in use (None and "" stay as they are).

    A docstring's msgid may be given with its line breaks or with each paragraph on one
    line (click rewraps paragraphs anyway): the exact text is looked up first, then its
    paragraphs' words joined by single spaces, the paragraphs by a blank line."""
    if not text:
        return text
    found = translate_declared(text)
    if found == text:
        key = paragraphs_key(text)
        joined = translate_declared(key)
        if joined != key:
            return joined
    return found


def paragraphs_key(text: str) -> str:
    """The msgid of a help text: each paragraph on one line, one blank line between."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


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


def _hint(exc: Any) -> str:
    """The option or argument an error is about, as click names it (``'--week'``)."""
    hint = getattr(exc, "param_hint", None)
    if hint is None and getattr(exc, "param", None) is not None:
        hint = exc.param.get_error_hint()
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(h) for h in hint)
    return hint or ""


def _bad_value_reason(exc: Any) -> str:
    """Why a value was refused: pydantic's first error, in our words, when Typer's
    conversion raised it; else click's message as it is."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except (IndexError, TypeError):
            return str(exc.message)
        return validation_message(first)
    return str(exc.message)


def usage_error_text(exc: Any) -> str:
    """One usage error in the language in use, built from the exception's fields."""
    if isinstance(exc, _click.exceptions.NoSuchOption):
        text = _("No such option: {name}").format(name=exc.option_name)
        if exc.possibilities:
            text += " " + _("(Possible options: {options})").format(
                options=", ".join(sorted(exc.possibilities))
            )
        return text
    if isinstance(exc, _click.exceptions.MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param else "parameter")
        word = {
            "option": pgettext("cli", "option"),
            "argument": pgettext("cli", "argument"),
        }.get(kind, pgettext("cli", "parameter"))
        return _("Missing {kind} {name}.").format(kind=word, name=_hint(exc)).replace("  ", " ")
    if isinstance(exc, _click.exceptions.BadParameter):
        hint = _hint(exc)
        reason = _bad_value_reason(exc)
        if not hint:
            return _("Invalid value: {reason}").format(reason=reason)
        return _("Invalid value for {name}: {reason}").format(name=hint, reason=reason)
    message = exc.format_message()
    if message.startswith("Got unexpected extra argument"):
        extra = message.rpartition(" (")[2].rstrip(")")
        return _("Got unexpected extra argument(s) ({arguments})").format(arguments=extra)
    return message


def _show_usage_error(self: Any, file: Any = None) -> None:
    """click's ``UsageError.show``, in the language in use."""
    echo = _click.utils.echo
    if file is None:
        file = _click._compat.get_text_stderr()
    color = None
    ctx = self.ctx
    if ctx is not None:
        color = ctx.color
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = (
                _("Try '{command} {option}' for help.").format(
                    command=ctx.command_path, option=ctx.help_option_names[0]
                )
                + "\n"
            )
        echo(f"{ctx.get_usage()}\n{hint}", file=file, color=color)
    echo(_("Error: {message}").format(message=usage_error_text(self)), file=file, color=color)


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
    _click.exceptions.UsageError.show = _show_usage_error  # type: ignore[method-assign]
    # Typer's own words ("Options", "Commands", "default: {default}"...) are looked up
    # with a module-level ``_`` bound to the stdlib's gettext: ours instead.
    typer.core._ = _  # type: ignore[attr-defined]
    _installed = True
