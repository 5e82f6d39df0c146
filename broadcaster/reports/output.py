"""Writing a report file all at once or not at all.

Every writer works on a temporary file next to the target and renames it at the end, so
an interrupted or failed run never leaves a half-written report where an officer would
file it, and an existing report is replaced only by a complete one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from broadcaster.core.errors import UsageProblem
from broadcaster.i18n import _


def check_target(target: Path, option: str = "--out") -> Path:
    """Refuse, before any work, a target that cannot be written."""
    target = target.expanduser()
    if target.is_dir():
        raise UsageProblem(
            _("{option}: '{target}' is a folder; give a file name").format(
                option=option, target=target
            )
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageProblem(
            _("{option}: folder '{folder}' does not exist").format(option=option, folder=parent)
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageProblem(
            _("{option}: cannot write in folder '{folder}'").format(option=option, folder=parent)
        )
    return target


@contextlib.contextmanager
def atomic_file(target: Path, option: str = "--out") -> Iterator[Path]:
    """A temporary path beside ``target``; renamed onto it when the block succeeds."""
    target = check_target(target, option)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise UsageProblem(
            _("{option}: cannot write '{target}': {err}").format(
                option=option, target=target, err=exc.strerror
            )
        ) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageProblem(
            _("{option}: cannot write '{target}': {err}").format(
                option=option, target=target, err=exc.strerror
            )
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
