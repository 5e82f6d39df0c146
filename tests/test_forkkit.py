"""The tests' warm fork server (tests/forkkit.py) gives what the real executable gives.

Most CLI runs in the suite are forks of one process that imported the CLI once; these
tests hold it to the real ``broadcaster`` started afresh: the same exit code, stdout and
stderr for successes, refusals and usage errors, the real executable whenever the
environment holds something read at import (the locale), and a hung command killed at
its time limit with nothing left running.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from forkkit import forkable
from prockit import descendants
from stationkit import FORK_SERVER, Cli

CASES = [
    ("--version",),
    ("--help",),
    ("check",),
    ("check", "--json"),
    ("plan", "--week", "2026-W48"),
    ("status", "--week", "2026-W48", "--json"),
    ("plan", "--week", "2026-W99"),  # refused: one line, exit 1 or 2
    ("no-such-command",),  # usage: exit 2
    ("queue", "nq57-mot", "--zone", "xa", "--at", "not-a-time"),
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a))
def test_a_fork_answers_as_the_executable_does(args: tuple[str, ...], tmp_path: Path, station):
    """Each command on two identical copies of a station: once forked, once through the
    real executable; same code, same output, same files written."""
    import shutil

    real_root = tmp_path / "real"
    shutil.copytree(station, real_root)
    forked = Cli(station)
    real = Cli(real_root)
    assert FORK_SERVER.accepts(forked._env())
    a = forked(*args)
    b = real.subprocess(*args, real=True)
    assert (a.code, a.out.replace(str(station), "ROOT"), a.err.replace(str(station), "ROOT")) == (
        b.code,
        b.out.replace(str(real_root), "ROOT"),
        b.err.replace(str(real_root), "ROOT"),
    )
    files = sorted(p.relative_to(station).as_posix() for p in station.rglob("*"))
    assert files == sorted(p.relative_to(real_root).as_posix() for p in real_root.rglob("*"))


def test_what_is_read_at_import_needs_the_real_executable():
    """The locale is read when broadcaster.i18n is imported (and typer's help is
    translated then): a command with another locale is not forked; the clock, station and
    database variables are read when the command runs, and are."""
    base = dict(os.environ)
    assert forkable(base, {**base, "BROADCASTER_NOW": "2026-11-23T06:00+07:00"})
    assert forkable(base, {k: v for k, v in base.items() if k != "BROADCASTER_DB"})
    for key in ("LANGUAGE", "LC_ALL", "LANG", "PYTHONPATH", "TZ", "NO_COLOR", "PATH"):
        assert not forkable(base, {**base, key: "vi"}), key


def test_a_hung_command_is_killed_at_its_time_limit(station: Path):
    """The daemon never ends by itself: forked with a 3 s limit it is killed, the
    caller gets subprocess's TimeoutExpired, and no process is left."""
    cli = Cli(station)
    cli("plan", "--week", "2026-W48", check=True)
    before = {pid for pid, _cmd in descendants()}
    with pytest.raises(subprocess.TimeoutExpired):
        cli.subprocess("run", timeout=3)
    assert [p for p in descendants() if p[0] not in before] == []
    # the server still serves
    assert cli("--version").code == 0
