"""YAML loading that remembers where every key and item came from, and refuses bombs.

pydantic reports errors by location (``('zones', 3, 'output')``); this maps such a
location back to the line the officer typed, so messages read ``station.yaml:41: ...``.

Every YAML file the station reads (station.yaml, script front matter, the lexicon,
receiver and keys files) goes through :func:`compose_checked`, which bounds what a
hostile or broken file can cost before anything is built from it: the text's size, the
nesting depth (checked on the flat event stream, before any recursive composition), the
number of aliases and the size of the document once aliases are expanded (a "billion
laughs" file is a few hundred bytes that expand to 10^9 nodes), recursive aliases (an
anchor used inside itself), and duplicate keys, which YAML loaders otherwise resolve
silently by keeping the last one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from broadcaster.core.errors import ConfigErrors, Problem, first_line
from broadcaster.i18n import _

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses a 1,000-zone file 10x faster


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader without YAML 1.1's base-60 integers, so ``start: 17:00`` stays '17:00'."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)

Location = tuple[str | int, ...]

#: A 1,000-zone station.yaml is about 150 kB; nothing the station reads comes near this.
MAX_CHARS = 4 * 1024 * 1024
#: Nesting deeper than this is never a configuration (station.yaml needs 4 levels).
MAX_DEPTH = 64
#: Anchors are a convenience (``<<: *defaults``); thousands of them are an attack.
MAX_ALIASES = 1_000
#: Nodes of the document with every alias expanded (a 1,000-zone station: ~20,000).
MAX_NODES = 500_000

_MERGE = "tag:yaml.org,2002:merge"


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field


def compose_checked(text: str, line_offset: int = 0) -> yaml.Node | None:
    """The node tree of one YAML document, or YamlSyntaxError for anything hostile."""
    if len(text) > MAX_CHARS:
        raise YamlSyntaxError(
            _("too large for a YAML file ({size} characters; at most {limit})").format(
                size=len(text), limit=MAX_CHARS
            ),
            None,
        )
    try:
        _check_events(text, line_offset)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _located(exc, line_offset) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(
            _("invalid YAML: {err}").format(err=first_line(exc, 200)), None
        ) from None
    if node is not None:
        _Budget(line_offset).visit(node, (), 0)
    return node


class NodeLines(Mapping[Location, int]):
    """Location -> 1-based line of a parsed document, worked out on the first question:
    the lines serve only the error messages, and walking a 5,000-zone station.yaml for
    them cost as much as composing it."""

    def __init__(self, node: yaml.Node, offset: int) -> None:
        self._node: yaml.Node | None = node
        self._offset = offset
        self._lines: dict[Location, int] = {}

    def _known(self) -> dict[Location, int]:
        if self._node is not None:
            node, self._node = self._node, None
            self._lines[()] = node.start_mark.line + 1 + self._offset
            _walk(node, (), self._lines, self._offset)
        return self._lines

    def __getitem__(self, loc: Location) -> int:
        return self._known()[loc]

    def __iter__(self) -> Iterator[Location]:
        return iter(self._known())

    def __len__(self) -> int:
        return len(self._known())


def load_with_lines(text: str, line_offset: int = 0) -> tuple[Any, Mapping[Location, int]]:
    """Parse one YAML document; return the data and a map location -> 1-based line."""
    node = compose_checked(text, line_offset)
    if node is None:
        return None, {}
    loader = _Loader("")
    try:
        data = _construct(loader, node, {})
    except yaml.MarkedYAMLError as exc:
        raise _located(exc, line_offset) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # e.g. an integer of 5,000 digits (Python refuses to convert it)
        raise YamlSyntaxError(
            _("invalid YAML: {err}").format(err=first_line(exc, 200)), None
        ) from None
    finally:
        loader.dispose()
    return data, NodeLines(node, line_offset)


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_VALUE = "tag:yaml.org,2002:value"


def _construct(loader: Any, node: yaml.Node, memo: dict[int, Any]) -> Any:
    """The data of a checked node tree: what ``loader.construct_document`` returns,
    without its per-node generator machinery for the plain cases (a 5,000-zone
    station.yaml is 5,000 small mappings; SafeConstructor took a third of loading it).

    Plain strings, mappings of scalar keys and sequences are built here; anything else
    (other scalars, merge keys, ``=`` keys, non-scalar keys, other tags) goes to the
    loader's own constructor, so the result and the errors are the same."""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR:
            return node.value
        return loader.construct_object(node, deep=True)
    found = memo.get(id(node))
    if found is not None:
        return found
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        items: list[Any] = []
        memo[id(node)] = items
        items.extend(_construct(loader, item, memo) for item in node.value)
        return items
    if (
        isinstance(node, yaml.MappingNode)
        and node.tag == _MAP
        and all(
            isinstance(k, yaml.ScalarNode) and k.tag not in (_MERGE, _VALUE) for k, _v in node.value
        )
    ):
        mapping: dict[Any, Any] = {}
        memo[id(node)] = mapping
        for key_node, value_node in node.value:
            mapping[_construct(loader, key_node, memo)] = _construct(loader, value_node, memo)
        return mapping
    return loader.construct_object(node, deep=True)


def load_yaml_file(path: Path, display: str | None = None) -> Any:
    """A whole YAML file (receiver, keys files): its data, or ConfigErrors naming the
    file and line; missing, unreadable, non-UTF-8 and hostile files included."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigErrors([Problem(_("file not found"), path=shown)]) from None
    except OSError as exc:
        raise ConfigErrors(
            [Problem(_("cannot read: {err}").format(err=exc.strerror or exc), path=shown)]
        ) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigErrors(
            [Problem(_("not UTF-8 text (save the file as UTF-8)"), path=shown, line=line)]
        ) from None
    try:
        data, _lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise ConfigErrors(
            [Problem(exc.message, path=shown, line=exc.line, field=exc.field)]
        ) from None
    return data


def _check_events(text: str, offset: int) -> None:
    """Depth and alias count on the flat event stream: composing a 100,000-deep
    ``[[[[`` recursively would itself overflow the stack."""
    depth = aliases = 0
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlSyntaxError(
                        _("nested deeper than {limit} levels").format(limit=MAX_DEPTH),
                        _line(event.start_mark, offset),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise YamlSyntaxError(
                        _("more than {limit} aliases (*name)").format(limit=MAX_ALIASES),
                        _line(event.start_mark, offset),
                    )
    finally:
        loader.dispose()


class _Budget:
    """One walk over the node graph as the data will see it (aliases expanded)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.nodes = 0
        self.checked: set[int] = set()
        self.open: set[int] = set()

    def visit(self, node: yaml.Node, loc: Location, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlSyntaxError(
                _("expands to more than {limit} values through aliases").format(limit=MAX_NODES),
                _line(node.start_mark, self.offset),
                _dotted(loc),
            )
        if isinstance(node, yaml.ScalarNode):
            return
        if id(node) in self.open:
            raise YamlSyntaxError(
                _("an alias refers to its own anchor (recursive data)"),
                _line(node.start_mark, self.offset),
                _dotted(loc),
            )
        if depth > MAX_DEPTH:  # aliases can nest what the event stream showed flat
            raise YamlSyntaxError(
                _("nested deeper than {limit} levels").format(limit=MAX_DEPTH),
                _line(node.start_mark, self.offset),
                _dotted(loc),
            )
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if id(node) not in self.checked:
                self._duplicates(node, loc)
            for key_node, value_node in node.value:
                self.visit(key_node, loc, depth + 1)
                self.visit(value_node, (*loc, _key(key_node)), depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.visit(item, (*loc, i), depth + 1)
        self.checked.add(id(node))
        self.open.discard(id(node))

    def _duplicates(self, node: yaml.MappingNode, loc: Location) -> None:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                continue
            key = (key_node.tag, key_node.value)
            line = _line(key_node.start_mark, self.offset)
            if key in seen:
                raise YamlSyntaxError(
                    _("duplicate key '{key}' (first on line {first})").format(
                        key=key_node.value, first=seen[key]
                    ),
                    line,
                    _dotted((*loc, key_node.value)),
                )
            seen[key] = line


def _walk(node: yaml.Node, loc: Location, lines: dict[Location, int], offset: int) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            here = (*loc, _key(key_node))
            lines[here] = key_node.start_mark.line + 1 + offset
            _walk(value_node, here, lines, offset)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*loc, i)
            lines[here] = item.start_mark.line + 1 + offset
            _walk(item, here, lines, offset)


def _key(node: yaml.Node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else str(node)


def _line(mark: Any, offset: int) -> int | None:
    return mark.line + 1 + offset if mark is not None else None


def _dotted(loc: Location) -> str | None:
    return ".".join(str(p) for p in loc) or None


def _located(exc: yaml.MarkedYAMLError, offset: int) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or str(exc)
    return YamlSyntaxError(_("invalid YAML: {err}").format(err=problem), _line(mark, offset))


def line_of(lines: Mapping[Location, int], loc: Location) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())
