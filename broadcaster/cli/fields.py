"""The CLI's wording of an operation's field: ``zone`` is ``--zone`` on this face.

The application layer names the parameter a bad value was given for (a
:class:`~broadcaster.core.errors.FieldProblem`); only the CLI knows what its options are
called, so the one line it prints (``--zone: unknown zone 'x'``) is made here.
"""

from __future__ import annotations

import dataclasses

from broadcaster.core.errors import BroadcasterError, FieldProblem

#: Fields whose option is not ``--`` + the field with ``-`` for ``_``.
OPTIONS = {
    "outage": "--fail",  # simulate --fail ZONE@START/END
    "resume": "--continue",  # simulate --continue
}


def option_of(field: str) -> str:
    """The option (or environment variable, spelt as it is) a field is given with."""
    if field in OPTIONS:
        return OPTIONS[field]
    if field.isupper():  # BROADCASTER_NOW, BROADCASTER_CLOCK_OFFSET
        return field
    return "--" + field.replace("_", "-")


def error_line(exc: BroadcasterError) -> str:
    """The one line the CLI prints for a refusal: a field problem names the option."""
    if isinstance(exc, FieldProblem):
        return str(dataclasses.replace(exc.problem, field=option_of(exc.field)))
    return str(exc)
