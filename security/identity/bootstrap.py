"""First start: an administrator with a one-time password, and demo users per role.

Passwords are printed once to the terminal that runs ``python launch.py`` and
stored only as Argon2id hashes.
"""

from __future__ import annotations

from collections.abc import Callable

from config.settings import Settings
from security.identity.roles import Role

DEMO_USERS = {f"demo-{role.value}": role for role in Role if role is not Role.ADMIN}


def account_service(settings: Settings):
    from security.identity.accounts import AccountService
    from storage.audit import audit_log
    from storage.engine import make_engine
    from storage.users import UserTable

    return AccountService(UserTable(make_engine(settings)), audit_log(settings), settings.auth)


def first_start(settings: Settings, demo: bool, out: Callable[[str], None] = print) -> dict[str, str]:
    """Create the admin (and with ``demo`` the demo users) if there is no account yet.
    Returns {user: password} of what was created (empty when accounts existed)."""
    accounts = account_service(settings)
    password = accounts.bootstrap_admin()
    if password is None:
        return {}
    created = {"admin": password}
    if demo:
        for username, role in DEMO_USERS.items():
            demo_password = accounts.ensure_user(username, {role}, by="system:demo")
            if demo_password:
                created[username] = demo_password
    lines = [
        "",
        "PromptForge: first start. Sign in with these one-time credentials (shown once, never stored in clear):",
        *[f"    {user:<16} {pw}" + ("   (admin: must be changed at first sign-in)" if user == "admin" else f"   ({DEMO_USERS[user].value}, demo)")
          for user, pw in created.items()],
        "",
    ]
    out("\n".join(lines))
    return created
