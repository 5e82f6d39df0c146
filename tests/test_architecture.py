"""The layers show in the code: the core stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "broadcaster" / "core"
ALLOWED = {
    "__future__",
    "dataclasses",
    "datetime",
    "enum",
    "zoneinfo",
    "collections",
    "re",
    "typing",
    "broadcaster.core",
    "broadcaster.i18n",
}


def test_core_imports_no_framework_and_no_io():
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert any(name == a or name.startswith(a + ".") for a in ALLOWED), (
                    f"{path.name} imports {name}"
                )
        source = path.read_text(encoding="utf-8")
        for forbidden in ("datetime.now(", "open(", "time.time(", ".read_text(", "requests"):
            assert forbidden not in source, f"{path.name} uses {forbidden}"
