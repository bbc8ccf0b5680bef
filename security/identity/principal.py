"""Who acts: a signed-in user, an SSO identity, the single local user, the OS user of the CLI, or
an account through one of its API tokens."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Literal

from config.errors import PermissionDenied
from security.identity.roles import Permission, Role, permissions_of

Kind = Literal["user", "sso", "single-user", "os", "cli", "system", "token"]


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[Role]
    kind: Kind = "user"
    # a token's scope: only these permissions, of those the roles grant (None: all of them)
    scope: frozenset[Permission] | None = None
    token: str | None = None  # the id of the API token this principal acts through

    @property
    def actor(self) -> str:
        """How audit events and records name this principal: ``user:alice`` (signed in),
        ``sso:alice@bank.example``, ``single-user:bob`` (no login), ``os:root`` (command
        line on SQLite), ``cli:alice`` (command line as a named account on PostgreSQL),
        ``token:alice/3f9c2a71b0de4e55`` (the account alice through that API token),
        ``system:demo`` (the demo seed)."""
        return f"{self.kind}:{self.name}" + (f"/{self.token}" if self.token else "")

    def can(self, permission: Permission) -> bool:
        return permission in permissions_of(self.roles) and (self.scope is None or permission in self.scope)

    def require(self, permission: Permission, doing: str | None = None) -> None:
        """Raise ``PermissionDenied`` unless one of the roles grants ``permission`` (and the
        token's scope, if any, allows it)."""
        if permission in permissions_of(self.roles) and not self.can(permission):
            raise PermissionDenied(
                f"The token {self.token} of {self.name} may not {doing or permission.value.replace('_', ' ')}: "
                "its scope does not allow it.",
                "Use a token with a wider scope (an administrator creates one), or sign in.",
            )
        if not self.can(permission):
            roles = ", ".join(sorted(r.value for r in self.roles)) or "no role"
            granting = sorted(r.value for r in Role if permission in permissions_of([r]))
            raise PermissionDenied(
                f"{self.name} ({roles}) may not {doing or permission.value.replace('_', ' ')}.",
                "Ask an administrator for one of these roles: " + ", ".join(granting) + ".",
            )

    @classmethod
    def local(cls, kind: Literal["single-user", "os"], name: str | None = None) -> Principal:
        """The person at this machine: every role (whoever runs it can read the database
        file anyway); audit events say ``single-user:`` or ``os:`` so nobody mistakes it
        for a verified account."""
        return cls(name or _os_user(), frozenset(Role), kind)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
