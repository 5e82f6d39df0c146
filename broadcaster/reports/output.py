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

from broadcaster.core.errors import FieldProblem
from broadcaster.i18n import _


def check_target(target: Path, field: str = "out") -> Path:
    """Refuse, before any work, a target that cannot be written."""
    target = target.expanduser()
    if target.is_dir():
        raise FieldProblem(
            _("'{target}' is a folder; give a file name").format(target=target), field=field
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FieldProblem(_("folder '{folder}' does not exist").format(folder=parent), field=field)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FieldProblem(
            _("cannot write in folder '{folder}'").format(folder=parent), field=field
        )
    return target


@contextlib.contextmanager
def atomic_file(target: Path, field: str = "out") -> Iterator[Path]:
    """A temporary path beside ``target``; renamed onto it when the block succeeds."""
    target = check_target(target, field)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise FieldProblem(
            _("cannot write '{target}': {err}").format(target=target, err=exc.strerror), field=field
        ) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FieldProblem(
            _("cannot write '{target}': {err}").format(target=target, err=exc.strerror), field=field
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
