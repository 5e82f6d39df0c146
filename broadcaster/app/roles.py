"""The roles of a commune's radio, as the people there divide the work.

A user may hold several. The ids are ASCII (typed on a command line, stored in the
database); the labels are what a person reads.
"""

from __future__ import annotations

from enum import StrEnum

from broadcaster.core.errors import FieldProblem
from broadcaster.i18n import _


class Role(StrEnum):
    OFFICER = "soan-tin"  # soạn tin: writes and edits bulletins
    APPROVER = "duyet"  # duyệt: commune leadership; approves or rejects with a reason
    OPERATOR = "van-hanh"  # vận hành: queues, cancels, runs emergencies, controls receivers
    REPORTER = "bao-cao"  # báo cáo: reads the log, makes reports and evidence packs
    ADMIN = "quan-tri"  # quản trị: users and station settings


def describe(role: Role) -> str:
    """What the role is for, in the reader's language."""
    return {
        Role.OFFICER: _("officer: writes and edits bulletins"),
        Role.APPROVER: _("approver: approves or rejects bulletins, with a reason"),
        Role.OPERATOR: _(
            "operator: queues, cancels, runs emergencies, controls receivers "
            "(may be limited to some zones)"
        ),
        Role.REPORTER: _("reporter: reads the log, makes reports and evidence packs"),
        Role.ADMIN: _("admin: users and station settings"),
    }[role]


def parse_role(text: str, field: str = "role") -> Role:
    """A role from its id, refusing anything else with the list of valid ids."""
    try:
        return Role(text.strip())
    except ValueError:
        raise FieldProblem(
            _("'{value}' is not a role (roles: {known})").format(
                value=text, known=", ".join(r.value for r in Role)
            ),
            field=field,
            exit_code=1,
        ) from None


def parse_roles(values: list[str] | tuple[str, ...], field: str = "role") -> frozenset[Role]:
    """Roles from ids, each possibly a comma-separated list ("duyet,bao-cao")."""
    return frozenset(
        parse_role(part, field) for value in values for part in value.split(",") if part.strip()
    )
