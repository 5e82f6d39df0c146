"""YAML loading that remembers where every key and item came from.

pydantic reports errors by location (``('zones', 3, 'output')``); this maps such a
location back to the line the officer typed, so messages read ``station.yaml:41: ...``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

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


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def load_with_lines(text: str, line_offset: int = 0) -> tuple[Any, dict[Location, int]]:
    """Parse one YAML document; return the data and a map location -> 1-based line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        problem = exc.problem or str(exc)
        raise YamlSyntaxError(f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1 + line_offset
        _walk(node, (), lines, line_offset)
    return data, lines


def _walk(node: yaml.Node, loc: Location, lines: dict[Location, int], offset: int) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            here = (*loc, key)
            lines[here] = key_node.start_mark.line + 1 + offset
            _walk(value_node, here, lines, offset)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            here = (*loc, i)
            lines[here] = item.start_mark.line + 1 + offset
            _walk(item, here, lines, offset)


def line_of(lines: dict[Location, int], loc: Location) -> int | None:
    """The line of the deepest known prefix of ``loc``."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())
