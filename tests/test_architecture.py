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


APP = CORE.parent / "app"
# The application layer stands on these; nothing it stands on may stand on it.
APP_MAY_IMPORT = ("app", "core", "store", "config", "engine", "i18n")


def _broadcaster_imports(path: Path) -> list[str]:
    """The broadcaster modules a file imports (absolute imports, as the project writes them)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("broadcaster")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("broadcaster"):
            found.append(node.module)
    return found


def test_the_application_layer_sits_between_the_house_and_the_faces():
    """app may import core, store, config and engine; core and store never import app
    (the CLI may)."""
    assert list(APP.glob("*.py")), "broadcaster/app is missing"
    for path in APP.glob("*.py"):
        for name in _broadcaster_imports(path):
            parts = name.split(".")
            assert len(parts) > 1 and parts[1] in APP_MAY_IMPORT, f"app/{path.name} imports {name}"
    for layer in ("core", "store"):
        for path in (CORE.parent / layer).glob("*.py"):
            for name in _broadcaster_imports(path):
                assert not name.startswith("broadcaster.app"), f"{layer}/{path.name} imports {name}"
