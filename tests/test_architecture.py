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


PACKAGE = CORE.parent
# Who may import whom, layer by layer (docs/ARCHITECTURE.md draws the same picture):
#   core  <-  text, store, config  <-  speech, playout, reports  <-  engine  <-  app  <-  cli
# A face (cli/, the web pages later) stands on the application layer alone, with the core's
# plain types and the translation hook; the device-side receiver program stands on the
# wire protocol and the broker client (and the one safe YAML loader for its file). An arrow that is not in this table is a broken layer.
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core", "i18n"},
    "text": {"text", "core", "i18n", "config"},
    "store": {"store", "core", "i18n"},
    "config": {"config", "core", "i18n", "text"},
    "speech": {"speech", "core", "i18n", "text", "config", "store"},
    "playout": {"playout", "core", "i18n", "config"},
    "reports": {"reports", "core", "i18n", "store"},
    "engine": {"engine", "core", "i18n", "config", "store", "speech", "playout"},
    "app": {
        "app",
        "core",
        "i18n",
        "config",
        "store",
        "engine",
        "speech",
        "playout",
        "reports",
        "text",
    },
    "receiver": {"receiver", "core", "i18n", "playout", "config"},
    # `broadcaster web` (cli/web_cmds.py) starts the web face, lazily: the one arrow
    # between the two faces.
    "cli": {"cli", "app", "core", "i18n", "receiver", "web"},
    "web": {"web", "app", "core", "i18n"},
}


def _broadcaster_imports(path: Path) -> list[str]:
    """The broadcaster modules a file imports, at any depth (a lazy import inside a
    function is still an arrow)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("broadcaster")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("broadcaster"):
            found.append(node.module or "")
    return found


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "i18n"  # `from broadcaster import __version__`


def test_every_layer_imports_only_what_stands_below_it():
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1:
            continue  # i18n.py and the package's __init__: no broadcaster imports of note
        layer = relative.parts[0]
        allowed = MAY_IMPORT.get(layer)
        assert allowed is not None, f"{layer}/ is a package no layer rule names"
        for name in _broadcaster_imports(path):
            if _layer_of(name) not in allowed:
                broken.append(f"{relative} imports {name}")
    assert not broken, "layer rules broken:\n" + "\n".join(broken)


def test_the_table_draws_no_upward_arrow():
    """Sanity of the rules themselves: the layers are ordered, nothing imports a face and
    nothing below the application layer imports it."""
    for layer, allowed in MAY_IMPORT.items():
        if layer != "cli":
            assert "cli" not in allowed, layer
        if layer not in ("web", "cli"):
            assert "web" not in allowed, layer  # nothing but the command line's `web`
        if layer not in ("app", "cli", "web"):
            assert "app" not in allowed, layer


def test_the_web_face_is_covered_by_the_rules():
    """The web pages are a face like the command line: the walk above reaches them."""
    web = sorted((PACKAGE / "web").rglob("*.py"))
    assert web and {p.name for p in web} >= {"app.py", "access.py", "pages.py"}
    assert MAY_IMPORT["web"] == {"web", "app", "core", "i18n"}


def test_the_rule_catches_a_new_upward_arrow(tmp_path):
    """The checker itself can fail: an engine module importing the application layer is
    reported."""
    fake = tmp_path / "engine_mod.py"
    fake.write_text("from broadcaster.app import schedule\n", encoding="utf-8")
    names = _broadcaster_imports(fake)
    assert [_layer_of(n) for n in names] == ["app"]
    assert "app" not in MAY_IMPORT["engine"]


# All SQL lives in store/ behind repositories (issue 13): these layers receive the store's
# sessions and plain data, and pass the sessions back to store functions; they never import
# the ORM or the SQL toolkit, not even lazily inside a function.
NO_SQL_LAYERS = ("engine", "reports", "speech")
SQL_LIBRARIES = ("sqlmodel", "sqlalchemy")


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append(node.module or "")
    return found


def _sql_imports(path: Path) -> list[str]:
    return [
        name
        for name in _imports(path)
        if any(name == lib or name.startswith(lib + ".") for lib in SQL_LIBRARIES)
    ]


def test_engine_reports_and_speech_write_no_sql():
    broken = []
    for layer in NO_SQL_LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for name in _sql_imports(path):
                broken.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not broken, "SQL outside store/:\n" + "\n".join(broken)


def test_the_sql_rule_catches_a_lazy_import(tmp_path):
    fake = tmp_path / "report_mod.py"
    fake.write_text(
        "def f(s):\n    from sqlalchemy import func\n    import sqlmodel.sql\n", encoding="utf-8"
    )
    assert _sql_imports(fake) == ["sqlalchemy", "sqlmodel.sql"]


# The application layer and the faces above it hand the store plain values and its own
# sessions, and catch its own DatabaseFailure: every query is a repository function.
NO_SQL_ABOVE_STORE = ("app", "cli")


def _sql_import_lines(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every SQL-toolkit import in a file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        found += [
            (node.lineno, name)
            for name in names
            if any(name == lib or name.startswith(lib + ".") for lib in SQL_LIBRARIES)
        ]
    return sorted(found)


def test_app_and_cli_import_no_sql_toolkit():
    broken = []
    for layer in NO_SQL_ABOVE_STORE:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for line, name in _sql_import_lines(path):
                broken.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert not broken, "SQL outside store/ (write a store function):\n" + "\n".join(broken)


def test_the_app_sql_rule_names_the_line(tmp_path):
    fake = tmp_path / "app_mod.py"
    fake.write_text(
        "import os\nfrom sqlmodel import select\n\n"
        "def f(s):\n    from sqlalchemy.exc import SQLAlchemyError\n",
        encoding="utf-8",
    )
    assert _sql_import_lines(fake) == [(2, "sqlmodel"), (5, "sqlalchemy.exc")]
