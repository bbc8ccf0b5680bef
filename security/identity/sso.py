"""Single sign-on: an OpenID Connect identity (Streamlit's ``st.user``) to a principal.

Roles come only from the identity provider's groups, mapped by the setting
``auth.sso_group_roles`` ({"group": ["role", ...]}); a user in no mapped group
gets no access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.errors import PermissionDenied
from config.settings import AuthPolicy
from security.identity.principal import Principal
from security.identity.roles import parse_roles


def principal_from_claims(claims: Mapping[str, Any], policy: AuthPolicy) -> Principal:
    name = str(claims.get("email") or claims.get("preferred_username") or claims.get("sub") or "").strip().lower()
    if not name:
        raise PermissionDenied("The identity provider sent no e-mail or subject.", "Ask your IdP administrator.")
    groups = claims.get(policy.sso_groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    roles = parse_roles(role for group in groups for role in policy.sso_group_roles.get(str(group), []))
    if not roles:
        raise PermissionDenied(
            f"{name} is in no group that PromptForge maps to a role.",
            "Ask an administrator to add your group to auth.sso_group_roles.",
        )
    return Principal(name, roles, "sso")


def sso_configured(secrets: Mapping[str, Any]) -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section Streamlit can log in with."""
    auth = secrets.get("auth") if secrets else None
    return bool(auth) and bool(auth.get("client_id") or any(isinstance(v, Mapping) for v in auth.values()))
