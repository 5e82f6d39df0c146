"""Which action needs which role: the one place the rule is written.

Every face asks :func:`authorize` before it changes anything, so the CLI and the web
pages cannot disagree. Three rules:

- each :class:`Action` needs the one role in :data:`REQUIRED_ROLE` (an action missing
  from it needs no role: signing in);
- an operator limited to some zones may do the zone actions (:data:`ZONE_ACTIONS`) only
  there; an action on every zone (``zone=None``) is refused to a limited operator;
- the author of a bulletin may not approve it, unless the station allows it
  (``station.authors_may_approve``).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from broadcaster.app.actors import Actor
from broadcaster.app.roles import Role
from broadcaster.core.errors import BroadcasterError
from broadcaster.i18n import _


class Action(StrEnum):
    BULLETIN_WRITE = "bulletin.write"
    BULLETIN_APPROVE = "bulletin.approve"
    BULLETIN_REJECT = "bulletin.reject"
    SCHEDULE_PLAN = "schedule.plan"
    SCHEDULE_QUEUE = "schedule.queue"
    SCHEDULE_CANCEL = "schedule.cancel"
    EMERGENCY_AIR = "emergency.air"
    LIVE_AIR = "live.air"
    RECEIVERS_CONTROL = "receivers.control"
    LOG_READ = "log.read"
    REPORT_MAKE = "report.make"
    EVIDENCE_MAKE = "evidence.make"
    USERS_MANAGE = "users.manage"
    SETTINGS_EDIT = "settings.edit"
    LOGIN = "auth.login"


REQUIRED_ROLE: dict[Action, Role] = {
    Action.BULLETIN_WRITE: Role.OFFICER,
    Action.BULLETIN_APPROVE: Role.APPROVER,
    Action.BULLETIN_REJECT: Role.APPROVER,
    Action.SCHEDULE_PLAN: Role.OPERATOR,
    Action.SCHEDULE_QUEUE: Role.OPERATOR,
    Action.SCHEDULE_CANCEL: Role.OPERATOR,
    Action.EMERGENCY_AIR: Role.OPERATOR,
    Action.LIVE_AIR: Role.OPERATOR,
    Action.RECEIVERS_CONTROL: Role.OPERATOR,
    Action.LOG_READ: Role.REPORTER,
    Action.REPORT_MAKE: Role.REPORTER,
    Action.EVIDENCE_MAKE: Role.REPORTER,
    Action.USERS_MANAGE: Role.ADMIN,
    Action.SETTINGS_EDIT: Role.ADMIN,
}

# The operator's actions, which a zone-limited operator may take only in their zones.
ZONE_ACTIONS = frozenset(
    {
        Action.SCHEDULE_PLAN,
        Action.SCHEDULE_QUEUE,
        Action.SCHEDULE_CANCEL,
        Action.EMERGENCY_AIR,
        Action.LIVE_AIR,
        Action.RECEIVERS_CONTROL,
    }
)


class PermissionDenied(BroadcasterError):
    """The actor lacks the role (or the zone, or is the author) the action needs."""

    def __init__(self, message: str, *, action: Action, missing: Role | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.missing = missing


def authorize(
    actor: Actor,
    action: Action,
    *,
    zone: str | Collection[str] | None = None,
    author: str | None = None,
    authors_may_approve: bool = False,
) -> None:
    """Return if ``actor`` may take ``action``; raise :class:`PermissionDenied` if not.

    ``zone`` is the zone (or zones) acted on, ``None`` meaning every zone; ``author`` is
    who wrote the bulletin being approved; ``authors_may_approve`` is the station's
    setting of the same name.
    """
    required = REQUIRED_ROLE.get(action)
    if required is not None and not actor.has(required):
        raise PermissionDenied(
            _("{who} may not {action}: it needs the role '{role}'").format(
                who=actor.who, action=action.value, role=required.value
            ),
            action=action,
            missing=required,
        )
    if action in ZONE_ACTIONS and actor.zones is not None:
        _check_zones(actor, action, zone)
    if (
        action is Action.BULLETIN_APPROVE
        and author
        and not authors_may_approve
        and _same_person(actor, author)
    ):
        raise PermissionDenied(
            _(
                "{who} may not approve a bulletin they wrote (another approver must, "
                "unless the station sets authors_may_approve)"
            ).format(who=actor.who),
            action=action,
        )


def permitted(actor: Actor, action: Action, *, zone: str | None = None) -> bool:
    """Whether :func:`authorize` would let ``actor`` take ``action`` (on ``zone``): for a
    face that offers only what the visitor may do. The operation still authorizes."""
    try:
        authorize(actor, action, zone=zone)
    except PermissionDenied:
        return False
    return True


def _check_zones(actor: Actor, action: Action, zone: str | Collection[str] | None) -> None:
    allowed = actor.zones or frozenset()
    if zone is None:
        raise PermissionDenied(
            _("{who} may not {action} on every zone: limited to {zones}").format(
                who=actor.who, action=action.value, zones=", ".join(sorted(allowed)) or "-"
            ),
            action=action,
        )
    wanted = {zone} if isinstance(zone, str) else set(zone)
    outside = sorted(wanted - allowed)
    if outside:
        raise PermissionDenied(
            _("{who} may not {action} in zone {zone}: limited to {zones}").format(
                who=actor.who,
                action=action.value,
                zone=", ".join(outside),
                zones=", ".join(sorted(allowed)) or "-",
            ),
            action=action,
        )


def _same_person(actor: Actor, author: str) -> bool:
    """Whether ``author`` names the person acting.

    On the shell several people share ``cli:<os user>``, so there the person is the
    ``--by`` name when one is given; a signed-in user is their user name.
    """
    return author.strip() == (actor.by or actor.who)


def roles_used(actor: Actor, action: Action) -> str:
    """The role an allowed action was taken with (for the audit trail)."""
    required = REQUIRED_ROLE.get(action)
    if required is None:
        return actor.roles_text
    return required.value if actor.has(required) else ""


def authorize_any(actor: Actor, actions: Collection[Action]) -> None:
    """Return if ``actor`` may take at least one of ``actions`` (a page that shows what
    any of them needs: the bulletins, to the officer who writes and the approver who
    reads them); raise the first refusal otherwise. No action at all is refused.

    Opening a page is not acting on every zone: an operator limited to some zones may
    open the page of a zone action, which then allows it only in those zones."""
    first: PermissionDenied | None = None
    for action in actions:
        try:
            somewhere = sorted(actor.zones) if action in ZONE_ACTIONS and actor.zones else None
            authorize(actor, action, zone=somewhere)
            return
        except PermissionDenied as exc:
            first = first or exc
    if first is None:
        raise PermissionDenied(
            _("{who} may not open this page").format(who=actor.who), action=Action.LOGIN
        )
    raise first
