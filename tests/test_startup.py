"""Start-up (issue 15): the root imports no command module, yet its help, every command's
help and every command's behaviour are what an eagerly registered app gives.

The reference is built here the way ``cli/app.py`` registered the commands before they
were loaded lazily: every module imported and registered on one Typer app, in the same
order. Its ``--help`` and the lazy root's must match character for character, so the
one-line help kept in ``cli/app.COMMANDS`` cannot drift from the modules' docstrings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from broadcaster.cli import app as cli_app

# The eager registration, as cli/app.py did it (the order decides the listing's order).
EAGER = (
    "station_cmds",
    "text_cmds",
    "schedule_cmds",
    "live_cmds",
    "bulletin_cmds",
    "log_cmds",
    "run_cmds",
    "network_cmds",
    "report_cmds",
    "users_cmds",
    "audit_cmds",
    "web_cmds",
    "keys_cmds",
)

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "rich",
    "apscheduler",
    "yaml",
    "cryptography",
    "broadcaster.store",
    "broadcaster.config",
    "broadcaster.app.context",
    "broadcaster.engine",
    # The web station's stack: only `broadcaster web` itself loads it.
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "broadcaster.web",
)


def eager_app() -> typer.Typer:
    app = typer.Typer(
        name="broadcaster",
        help=cli_app.app.info.help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(cli_app.root)
    for name in EAGER:
        __import__(f"broadcaster.cli.{name}")
        module = sys.modules[f"broadcaster.cli.{name}"]
        if name == "log_cmds":
            app.add_typer(module.log_app, name="log")
        else:
            module.register(app)
    return app


def help_of(app: typer.Typer, args: list[str], width: int) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, [*args, "--help"], prog_name="broadcaster", terminal_width=width
    )
    return result.exit_code, result.output


def every_command_path() -> list[list[str]]:
    """[] (the root), each root command, and each subcommand of the groups."""
    group = typer.main.get_command(eager_app())
    paths: list[list[str]] = [[]]
    for name, command in group.commands.items():
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    return paths


def test_the_lazy_root_lists_every_command_of_the_modules():
    eager = typer.main.get_command(eager_app())
    lazy = typer.main.get_command(cli_app.app)
    assert list(lazy.list_commands(None)) == list(eager.list_commands(None))
    assert [spec.name for spec in cli_app.COMMANDS] == list(eager.commands)


@pytest.mark.parametrize("width", [60, 80, 200])
def test_every_help_is_the_eager_apps_help(width: int):
    eager = eager_app()
    paths = every_command_path()
    assert len(paths) > 30  # the root, 23 commands and the groups' subcommands
    for path in paths:
        assert help_of(cli_app.app, path, width) == help_of(eager, path, width), path


def _imported_after(argv: list[str]) -> tuple[int, list[str]]:
    """Run the CLI in a fresh interpreter; its exit code and the heavy modules it loaded."""
    code = (
        "import sys\n"
        "from broadcaster.cli.app import run\n"
        f"rc = run({argv!r})\n"
        f"heavy = sorted({{m.split('.')[0] if not m.startswith('broadcaster') else "
        f"'.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith({HEAVY!r})}})\n"
        "print(rc, ' '.join(heavy))\n"
    )
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    rc, _, heavy = proc.stdout.strip().splitlines()[-1].partition(" ")
    return int(rc), heavy.split()


def test_root_help_imports_no_command_module_nor_framework():
    assert _imported_after(["--help"]) == (0, [])
    assert _imported_after(["--version"]) == (0, [])


def test_a_usage_error_is_answered_without_the_station_layers():
    """Typer itself converts the root's options with pydantic once it parses them; the
    station's layers and the database are still not imported."""
    rc, heavy = _imported_after(["no-such-command"])
    assert rc == 2 and set(heavy) <= {"pydantic", "pydantic_core"}


def test_web_help_and_other_commands_load_no_web_framework():
    """``web --help`` builds its command without FastAPI or uvicorn, and another command
    (here ``users --help``) never loads them."""
    for argv in (["web", "--help"], ["users", "--help"]):
        rc, heavy = _imported_after(argv)
        assert rc == 0 and not {"fastapi", "starlette", "uvicorn", "jinja2"} & set(heavy), (
            argv,
            heavy,
        )


def test_a_command_loads_only_its_own_module(tmp_path: Path):
    """``keys --help`` builds the keys group: the schedule's module is not imported."""
    code = (
        "import sys\n"
        "from broadcaster.cli.app import run\n"
        "rc = run(['keys', '--help'])\n"
        "print(rc, 'broadcaster.cli.keys_cmds' in sys.modules, "
        "'broadcaster.cli.schedule_cmds' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.stdout.strip().splitlines()[-1] == "0 True False", proc.stderr


def _broken_output_plugin(tmp_path: Path) -> str:
    """A directory for PYTHONPATH holding an installed distribution whose output plugin
    cannot be imported (its module does not exist)."""
    site = tmp_path / "plugins"
    dist = site / "broken_output-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-output\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[broadcaster.outputs]\nbroken = broken_output_not_there:Output\n", encoding="utf-8"
    )
    return str(site)


def test_a_broken_output_plugin_matters_only_to_a_station_that_uses_it(
    bare_station: Path, tmp_path: Path
):
    """Output plugins are imported when their type is used: a broken one leaves other
    stations working, and ``check`` names it, on its line, for a station that uses it."""
    from stationkit import Cli

    cli = Cli(bare_station, env={"PYTHONPATH": _broken_output_plugin(tmp_path)})
    fine = cli("check")
    assert fine.code == 0, fine.err
    yaml = bare_station / "schedules" / "station.yaml"
    text = yaml.read_text(encoding="utf-8")
    yaml.write_text(
        text.replace(
            "  files: {type: file, dir: out}\n",
            "  files: {type: file, dir: out}\n  loa: {type: broken}\n",
        ),
        encoding="utf-8",
    )
    refused = cli("check")
    said = refused.out + refused.err
    assert refused.code == 1
    assert (
        "outputs.loa.type: output type 'broken': its plugin cannot be loaded: "
        "ModuleNotFoundError" in said
    ), said
    assert "Traceback" not in said
