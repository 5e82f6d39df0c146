"""Pronunciation lexicon: built-in readings plus a station's ``schedules/lexicon.yaml``.

A station needs to teach the normaliser its own place names and new
abbreviations without touching code, so the lexicon is data: an immutable
mapping from written form to spoken form, layered (station entries over the
built-in ones, later entries over earlier ones).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import yaml

from broadcaster.text import builtin
from broadcaster.text.patterns import Scanner, compile_scanner

#: Top-level sections a lexicon file may contain.
SECTIONS: tuple[str, ...] = ("entries", "codes")

# A key that the upper-case token scanner can see as a single token ("UBND",
# "KH&CN", "VH-XH", "VNeID", "TM."). Anything else (several words, "b/c",
# "TP.HCM", lowercase words) is matched as a literal phrase.
_TOKEN_KEY = re.compile(r"[^\W_](?:\w|[&\-](?=[^\W_]))*\.?")


class LexiconError(Exception):
    """A station lexicon file that cannot be used, located as ``path:line``.

    ``line`` is 1-based; 0 means the file as a whole (missing, unreadable).
    ``str(error)`` is a single line suitable for a CLI message.
    """

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}")


def _is_token_key(key: str) -> bool:
    """True if ``key`` is looked up per token rather than matched as a phrase."""
    return _TOKEN_KEY.fullmatch(key) is not None and any(ch.isupper() for ch in key)


class Lexicon:
    """Immutable written→spoken mapping, split into running-text entries and code parts.

    ``entries`` apply anywhere in running text. ``codes`` apply to the letter
    parts of document numbers ("NQ" in "57-NQ/TW") and take precedence there,
    since the same letters mean different things inside a code ("TT" is
    "thông tư") and in prose ("TT" is "thường trực").
    """

    __slots__ = ("_codes", "_dotted", "_entries", "_names", "_phrases", "_scanner", "_tokens")

    def __init__(
        self, entries: Mapping[str, str] | None = None, codes: Mapping[str, str] | None = None
    ) -> None:
        self._entries: Mapping[str, str] = MappingProxyType(dict(entries or {}))
        self._codes: Mapping[str, str] = MappingProxyType(dict(codes or {}))
        tokens: dict[str, str] = {}
        dotted: dict[str, str] = {}
        names: dict[str, str] = {}
        phrases: dict[str, str] = {}
        for key, value in self._entries.items():
            if _is_token_key(key):
                if key.endswith("."):
                    dotted[key[:-1]] = value
                else:
                    tokens[key] = value
                    if key[:1].isupper() and key[1:].islower():
                        names[key.casefold()] = value
            else:
                phrases[key] = value
        self._tokens = MappingProxyType(tokens)
        self._dotted = MappingProxyType(dotted)
        self._names = MappingProxyType(names)
        self._phrases = MappingProxyType(phrases)
        # Built here, once, so the lexicon never changes after construction.
        self._scanner = compile_scanner(phrases)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def builtin(cls) -> Lexicon:
        """The built-in lexicon (shared, immutable, built once)."""
        return _builtin_lexicon()

    @classmethod
    def load(cls, path: Path, base: Lexicon | None = None) -> Lexicon:
        """Read a station lexicon file and layer it over ``base`` (default: built-in).

        Raises LexiconError with the offending line for anything an officer could
        get wrong, so ``broadcaster check`` can print one clear message.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LexiconError(path, 0, "file not found") from None
        except UnicodeDecodeError:
            raise LexiconError(path, 0, "not UTF-8 text; save the file as UTF-8") from None
        except OSError as exc:
            raise LexiconError(path, 0, f"cannot read file: {exc.strerror or exc}") from None
        entries, codes = parse_lexicon_yaml(text, path)
        return (base if base is not None else cls.builtin()).overlay(entries, codes)

    def overlay(
        self, entries: Mapping[str, str] | None = None, codes: Mapping[str, str] | None = None
    ) -> Lexicon:
        """A new lexicon with ``entries``/``codes`` added; they win over this one's.

        A new running-text entry also replaces a code reading when the two used to
        agree ("UBND: ủy ban" then applies in "111/KH-UBND" too), but not when
        they differed on purpose ("TT" is "thông tư" in codes, "thường trực" in prose).
        """
        entries = dict(entries or {})
        codes = dict(codes or {})
        merged_entries = dict(self._entries)
        merged_entries.update(entries)
        merged_codes = dict(self._codes)
        for key, value in entries.items():
            if (
                key in merged_codes
                and key not in codes
                and merged_codes[key] == self._entries.get(key)
            ):
                merged_codes[key] = value
        merged_codes.update(codes)
        return Lexicon(merged_entries, merged_codes)

    # -- queries ----------------------------------------------------------------------
    @property
    def entries(self) -> Mapping[str, str]:
        """Running-text entries (read-only view)."""
        return self._entries

    @property
    def codes(self) -> Mapping[str, str]:
        """Document-code part entries (read-only view)."""
        return self._codes

    @property
    def phrases(self) -> Mapping[str, str]:
        """Entries matched as literal phrases (multi-word keys, "b/c", lowercase words)."""
        return self._phrases

    def lookup(self, token: str) -> str | None:
        """Reading of a single token from running text, or None if unknown.

        Exact match first; a Title-case name entry ("Zalo") also matches other
        casings of the same word ("ZALO", "zalo").
        """
        found = self._tokens.get(token)
        if found is None:
            found = self._names.get(token.casefold())
        return found

    def lookup_dotted(self, token: str) -> str | None:
        """Reading of an abbreviation written with a dot ("TM." → "thay mặt")."""
        return self._dotted.get(token)

    def lookup_code(self, part: str) -> str | None:
        """Reading of one letter part of a document code ("NQ", "QĐ", "TTg")."""
        found = self._codes.get(part)
        return found if found is not None else self._entries.get(part)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and (token in self._entries or token in self._codes)

    def __len__(self) -> int:
        return len(self._entries) + len(self._codes)

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from self._codes

    def __repr__(self) -> str:
        return f"Lexicon({len(self._entries)} entries, {len(self._codes)} codes)"

    @property
    def scanner(self) -> Scanner:
        """The compiled scanner for this lexicon's phrases (used by the normaliser)."""
        return self._scanner


@functools.cache
def _builtin_lexicon() -> Lexicon:
    return Lexicon(builtin.ENTRIES, builtin.CODES)


def _err_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _section(node: yaml.Node, name: str, path: Path) -> dict[str, str]:
    """Validate one ``name: {written: spoken}`` section and return it in file order."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise LexiconError(
            path, _err_line(node), f"'{name}' must be a mapping of written form to spoken form"
        )
    result: dict[str, str] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise LexiconError(path, _err_line(key_node), f"in '{name}': a key must be plain text")
        key = key_node.value.strip()
        if not key:
            raise LexiconError(path, _err_line(key_node), f"in '{name}': empty key")
        if "\n" in key:
            raise LexiconError(
                path, _err_line(key_node), f"in '{name}': key {key!r} spans several lines"
            )
        if not isinstance(value_node, yaml.ScalarNode):
            raise LexiconError(
                path,
                _err_line(value_node),
                f"in '{name}': reading of {key!r} must be text, not a list or mapping",
            )
        if value_node.tag == "tag:yaml.org,2002:null" or not value_node.value.strip():
            raise LexiconError(path, _err_line(value_node), f"in '{name}': {key!r} has no reading")
        value = " ".join(value_node.value.split())
        result[key] = value  # keys differing only by spaces around them: the later wins
    return result


def parse_lexicon_yaml(
    text: str, path: Path | str = "<lexicon>"
) -> tuple[dict[str, str], dict[str, str]]:
    """Parse lexicon YAML text into (entries, codes), raising LexiconError on mistakes.

    Works on the YAML node tree rather than loaded objects so that every error
    carries the line number, and so that keys keep their written form ("06"
    stays "06" instead of becoming the integer 6).
    """
    from broadcaster.config.yamlmarks import YamlSyntaxError, compose_checked

    path = Path(path)
    try:  # the station's one safe loader: bombs, deep nesting and duplicate keys refused
        root = compose_checked(text)
    except YamlSyntaxError as exc:
        raise LexiconError(path, exc.line or 0, exc.message) from None
    if root is None:
        return {}, {}
    if not isinstance(root, yaml.MappingNode):
        raise LexiconError(
            path, _err_line(root), "the file must be a mapping with an 'entries:' section"
        )
    sections: dict[str, dict[str, str]] = {name: {} for name in SECTIONS}
    for key_node, value_node in root.value:
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if name not in SECTIONS:
            raise LexiconError(
                path,
                _err_line(key_node),
                f"unknown section {name!r}; expected one of: {', '.join(SECTIONS)}",
            )
        sections[name].update(_section(value_node, name, path))
    return sections["entries"], sections["codes"]
