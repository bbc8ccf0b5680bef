"""Identity: roles and what they may do, who acts (principals), accounts, sessions, SSO.

Every service that changes or reveals something takes a ``Principal`` and calls
``principal.require(Permission.X)`` itself, so a page that forgets a check is
still refused. Pages only decide what to show.
"""

from security.identity.principal import PermissionDenied, Principal
from security.identity.roles import GRANTS, Permission, Role, parse_roles

__all__ = ["GRANTS", "Permission", "PermissionDenied", "Principal", "Role", "parse_roles"]
