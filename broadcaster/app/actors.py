"""Who acts: a person signed in on a face, or the station's own shell.

Every operation that changes something takes an :class:`Actor`, so the permission check
and the audit entry know who, with which roles, through which face and from where.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from broadcaster.app.roles import Role

FACES = ("cli", "web")


@dataclass(frozen=True)
class Actor:
    who: str  # a user's name, or "cli:<os user>" for the station's shell
    roles: frozenset[Role]
    face: str = "cli"  # "cli" | "web"
    address: str = ""  # where from: "local", a client IP address
    zones: frozenset[str] | None = None  # an operator limited to these zones; None: all
    by: str = ""  # the person named with --by on the CLI, recorded next to ``who``

    @classmethod
    def local_cli(cls, by: str | None = None, os_user: str | None = None) -> Actor:
        """The station's shell: whoever has it has the database, so every right.

        Recorded as ``cli:<os user>``, plus the ``--by`` name where a command takes one.
        """
        user = os_user or _os_user()
        return cls(
            who=f"cli:{user}",
            roles=frozenset(Role),
            face="cli",
            address="local",
            zones=None,
            by=(by or "").strip(),
        )

    @property
    def name(self) -> str:
        """The person's name as the evidence records it: the ``--by`` name on the shell,
        else the signed-in user."""
        return self.by or self.who

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def roles_text(self) -> str:
        return ",".join(sorted(r.value for r in self.roles))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except OSError:  # no user name in the environment or the password database
        return "unknown"
