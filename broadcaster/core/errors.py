"""Errors a user can cause and fix.

They carry where the problem is (file, line, field) so every face can print the same
one-line ``path:line: field: message`` without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    """One thing wrong with the user's input, located as precisely as we know."""

    message: str
    path: str | None = None
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


class BroadcasterError(Exception):
    """A user mistake or an unmet precondition: exit 1, one line, no traceback."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = Problem(message, path=path, line=line, field=field)
        super().__init__(str(self.problem))


class ConfigErrors(BroadcasterError):
    """Several problems found at once (``check`` reports all of them, not just the first)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        Exception.__init__(self, "\n".join(str(p) for p in problems))
        self.problem = problems[0]


class UsageProblem(BroadcasterError):
    """A command line that does not make sense (exit 2, like click's own usage errors)."""

    exit_code = 2


class FieldProblem(UsageProblem):
    """A bad value for one of an operation's parameters, named by the parameter.

    ``field`` is the operation's own name for it (``zone``, ``at``, ``week``,
    ``bulletin``; an environment variable such as ``BROADCASTER_NOW`` is named as it is
    spelt), and the message says what is wrong without naming any face's option: the
    CLI prints ``--zone: ...``, a web form puts the message next to its ``zone`` input.
    ``exit_code`` is 2 (usage) unless the value was fine but the machine refused it (a
    file it cannot write: 1).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        path: str | None = None,
        line: int | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message, path=path, line=line, field=field)
        self.field = field
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's first line, cut to ``limit``: what a one-line error shows of an
    error that is not ours (a library's message can run to pages, or be empty)."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__
