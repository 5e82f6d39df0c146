"""The store's own exception for a database that fails, so the layers above can tell one
apart (and word it) without importing the SQL toolkit that raised it.

:meth:`broadcaster.store.db.Database.read` and :meth:`~broadcaster.store.db.Database.write`
turn every SQLAlchemy error raised inside their transaction into a :class:`DatabaseFailure`
(the original is its ``__cause__``): a locked, damaged or vanished database, a driver's
refusal. :func:`database_reason` words any of them, and also a SQLAlchemy error raised
outside a transaction (opening, creating the tables), for the faces' one-line errors.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from broadcaster.core.errors import first_line


class DatabaseFailure(Exception):
    """A query the database could not run: the machine's or its files' doing, neither the
    user's mistake nor a refusal of the station's.

    ``str()`` is the original error's text (what an audit entry or a log line showed
    before this class existed); ``reason`` is the driver's own first line."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.reason = _driver_words(original)


def database_reason(exc: BaseException) -> str | None:
    """The driver's own words (first line) for a database error, None for any other."""
    if isinstance(exc, DatabaseFailure):
        return exc.reason
    if isinstance(exc, SQLAlchemyError):
        return _driver_words(exc)
    return None


def _driver_words(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError):
        return first_line(exc.orig or exc)
    return first_line(exc)
