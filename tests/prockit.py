"""The processes a test run leaves behind, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def descendants(pid: int | None = None) -> list[tuple[int, str]]:
    """Living descendants of ``pid`` (default: this process) as (pid, command line);
    zombies (dead, waiting to be reaped) do not count."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        states[child] = fields[0]
        children.setdefault(int(fields[1]), []).append(child)
    found, todo = [], list(children.get(root, []))
    while todo:
        child = todo.pop()
        todo.extend(children.get(child, []))
        if states.get(child) == "Z":
            continue
        try:
            cmd = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # gone meanwhile
        found.append((child, cmd.decode("utf-8", "replace").strip()[:200]))
    return found


def survivors(grace: float = 10.0) -> list[tuple[int, str]]:
    """Descendants still alive after ``grace`` seconds (processes that are exiting get
    that long to finish)."""
    deadline = time.monotonic() + grace
    left = descendants()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = descendants()
    return left
