"""Which unexpected errors are the machine's or its files' doing, and their one line.

Every face turns the station's own refusals (BroadcasterError) into its wording; the
errors a disk, a database or an output can cause are classified here once, so that the
CLI and the web station say the same thing and neither has to know the libraries that
raise them. Anything else is a bug.
"""

from __future__ import annotations

from broadcaster.core.errors import first_line
from broadcaster.i18n import _


def machine_error(exc: BaseException) -> str | None:
    """The one line for an error the machine or its files can cause, or None for a bug."""
    from broadcaster.playout.base import OutputError
    from broadcaster.store.errors import database_reason

    if isinstance(exc, OutputError):  # an output that cannot start (ffmpeg missing, ...)
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or first_line(exc)}"
    reason = database_reason(exc)  # the store's DatabaseFailure, or the toolkit's own
    if reason is not None:
        return _("database: {err}").format(err=reason)
    if isinstance(exc, UnicodeError):
        return _("not UTF-8 text: {err}").format(err=first_line(exc))
    if isinstance(exc, RecursionError | MemoryError):
        return _("the input is too large or nested too deeply")
    return None
