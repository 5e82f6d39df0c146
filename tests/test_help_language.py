"""``--help`` speaks the user's language (issue 13: every user-facing string of the CLI
goes through gettext), translated when it is printed, not when it is declared."""

from __future__ import annotations

import re

import pytest
import typer.main

from broadcaster.cli import help_i18n
from broadcaster.cli.app import COMMANDS, app, run
from broadcaster.i18n import catalogue, set_language


def _help_texts() -> dict[str, str]:
    """Every help text of the command tree (built in full), with where it is."""
    found: dict[str, str] = {spec.help: f"listing of {spec.name}" for spec in COMMANDS}

    def walk(command, path: str) -> None:
        for attribute in ("help", "short_help", "epilog"):
            text = getattr(command, attribute, None)
            if text:
                found.setdefault(text, f"{path} ({attribute})")
        for param in getattr(command, "params", []):
            if getattr(param, "help", None):
                found.setdefault(param.help, f"{path} {param.opts or param.name}")
        commands = getattr(command, "commands", None)
        if commands is not None:
            for name in list(commands):
                walk(commands[name], f"{path} {name}")

    walk(typer.main.get_command(app), "broadcaster")
    return found


def test_every_help_text_has_a_vietnamese_translation():
    """A new option or command without its Vietnamese help fails here, by name."""
    texts = _help_texts()
    assert len(texts) > 100  # the walk reached the whole tree, not just the root
    try:
        set_language("vi")
        missing = [
            f"{where}: {text!r}"
            for text, where in texts.items()
            if help_i18n.translated(text) == text and re.search(r"[^\W\d_]", text)
        ]
    finally:
        set_language(None)
    assert not missing, "help without a Vietnamese translation:\n" + "\n".join(missing)


def _help(capsys, *args: str) -> str:
    capsys.readouterr()
    assert run([*args, "--help"]) == 0
    return capsys.readouterr().out


@pytest.fixture
def restore_language():
    yield
    set_language(None)


def test_help_follows_the_language_of_each_call(capsys, restore_language):
    """The same process prints Vietnamese help, then English, then Vietnamese again: the
    declared English texts are msgids, never overwritten by a translation."""
    vi = _help(capsys, "--lang", "vi", "status")
    en = _help(capsys, "--lang", "en", "status")
    again = _help(capsys, "--lang", "vi", "status")
    assert vi == again
    assert en.startswith("Usage: broadcaster status")
    assert "Machine-readable output." in en and "Options:" in en
    assert not vi.startswith("Usage:") and "Machine-readable output." not in vi
    assert catalogue("vi").gettext("Machine-readable output.") in re.sub(r"\s+", " ", vi)
    assert "--week" in vi and "--json" in vi  # option names are never translated


def test_the_root_listing_is_translated_without_importing_commands(capsys, restore_language):
    vi = _help(capsys, "--lang", "vi")
    listed = catalogue("vi").gettext(COMMANDS[0].help)
    assert listed.split()[0] in vi  # the listing's first words of `check`
    assert catalogue("vi").gettext("Commands") + ":" in vi


def test_the_hooks_exist_in_this_typer():
    """A Typer release that moves the hooked methods fails here, instead of --help going
    back to English without a word."""
    help_i18n.install()
    for owner, name, _wrap in help_i18n.HOOKS:
        assert callable(getattr(owner, name)), f"{owner.__name__}.{name}"
    assert typer.core._ is help_i18n._


def _usage_error(capsys, *args: str) -> str:
    capsys.readouterr()
    assert run(list(args)) == 2
    return capsys.readouterr().err


def test_usage_errors_are_worded_in_the_language(capsys, restore_language):
    """click builds these with f-strings: they are worded again from the exception."""
    vi = _usage_error(capsys, "--lang", "vi", "plan", "--wek")
    assert "Lỗi: Không có tùy chọn --wek (có thể là: --week)" in vi
    assert "Error:" not in vi and "Try '" not in vi
    en = _usage_error(capsys, "--lang", "en", "plan", "--wek")
    assert "Error: No such option: --wek (Possible options: --week)" in en
    assert "Try 'broadcaster plan --help' for help." in en
    assert "Thiếu tham số 'ID'." in _usage_error(capsys, "--lang", "vi", "queue")
    assert "Missing argument 'ID'." in _usage_error(capsys, "--lang", "en", "queue")
    extra = _usage_error(capsys, "--lang", "en", "plan", "--week", "1", "2")
    assert "Got unexpected extra argument(s) (2)" in extra


def test_a_refused_value_says_why_in_the_language(capsys, restore_language):
    """Typer converts values with pydantic: the reason is worded like station.yaml's."""
    vi = _usage_error(capsys, "--lang", "vi", "run", "--sweep-seconds", "abc")
    assert "Giá trị không hợp lệ cho '--sweep-seconds': phải là một số" in vi
    en = _usage_error(capsys, "--lang", "en", "run", "--sweep-seconds", "abc")
    assert "Invalid value for '--sweep-seconds': must be a number" in en
