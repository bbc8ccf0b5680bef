"""``python launch.py users ...``: account administration from a shell, for a deployment set up
without a browser.

    users bootstrap                          the first administrator, when there is no account yet
                                             (what the app's first start does); prints its one-time password
    users list [--json]                      every account: roles, disabled, locked, password to change, last login
    users create NAME --roles ROLE [ROLE ..] a new account; prints its one-time password once
    users roles NAME ROLE [ROLE ...]         replace an account's roles
    users disable NAME | users enable NAME   disabling signs the account out everywhere
    users unlock NAME                        lift a lock-out after failed logins
    users reset-password NAME                a new one-time password, printed once; signs the account out

Every command but ``bootstrap`` acts as ``security.identity.cli.cli_principal`` and goes through
``AccountService``: the same permission checks (``manage_users``) and the same audit events as the
Admin page. One-time passwords go to standard output only, never to a log or the database.
"""

from __future__ import annotations

import argparse
import json
import sys
from security.identity.roles import Role, parse_roles

ROLE_NAMES = ", ".join(r.value for r in Role)
DONE = {"disable": "disabled (signed out everywhere)", "enable": "enabled", "unlock": "unlocked"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser(
        "users", help="user accounts: bootstrap, list, create, roles, disable, enable, unlock, reset-password",
        description="Manage PromptForge accounts with the Admin page's checks and audit events.",
    )
    commands = u.add_subparsers(dest="users_command", metavar="COMMAND", required=True)
    boot = commands.add_parser("bootstrap", help="create the first administrator (only when there is no account)")
    boot.add_argument("--name", default="admin", help="the administrator's user name (default admin)")
    boot.set_defaults(handler=cmd_bootstrap)
    ls = commands.add_parser("list", help="every account, one line each")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_list)
    create = commands.add_parser("create", help="a new account with a one-time password")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--roles", nargs="+", required=True, metavar="ROLE", help=f"one or more of: {ROLE_NAMES}")
    create.set_defaults(handler=cmd_create)
    roles = commands.add_parser("roles", help="replace an account's roles")
    roles.add_argument("name", metavar="NAME")
    roles.add_argument("roles", nargs="+", metavar="ROLE", help=f"one or more of: {ROLE_NAMES}")
    roles.set_defaults(handler=cmd_roles)
    for verb, helptext in (
        ("disable", "disable an account (signs it out everywhere)"),
        ("enable", "enable a disabled account"),
        ("unlock", "lift a lock-out after failed logins"),
        ("reset-password", "a new one-time password (signs the account out everywhere)"),
    ):
        p = commands.add_parser(verb, help=helptext)
        p.add_argument("name", metavar="NAME")
        p.set_defaults(handler=cmd_change, verb=verb)


def _accounts():
    from config.settings import get_settings
    from security.identity.bootstrap import account_service
    from security.identity.cli import cli_principal

    settings = get_settings()
    return account_service(settings), cli_principal(settings)


def _roles(names: list[str]) -> str:
    return ", ".join(sorted(r.value for r in parse_roles(names)))


def _hand_over(name: str, password: str) -> None:
    print(f"one-time password for {name} (shown once; it must be changed at the first sign-in):")
    print(password)


def cmd_bootstrap(args) -> int:
    from config.errors import InputError
    from config.settings import get_settings
    from security.identity.bootstrap import account_service

    name = args.name.strip().lower()
    password = account_service(get_settings()).bootstrap_admin(name)
    if password is None:
        raise InputError(
            "Accounts exist already: there is nothing to bootstrap.",
            "Ask an administrator, or use 'users create' as one (PROMPTFORGE_CLI_ACCOUNT on PostgreSQL).",
        )
    print(f"created the administrator {name}")
    _hand_over(name, password)
    return 0


def cmd_list(args) -> int:
    service, by = _accounts()
    accounts = service.list_accounts(by)
    rows = [
        {
            "username": a.username,
            "roles": sorted(r.value for r in a.roles),
            "disabled": a.disabled,
            "locked": a.locked(service.clock()),
            "must_change_password": a.must_change_password,
            "created_at": a.created_at.isoformat(timespec="seconds"),
            "created_by": a.created_by,
            "last_login_at": a.last_login_at.isoformat(timespec="seconds") if a.last_login_at else None,
        }
        for a in accounts
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'user':24} {'roles':36} {'state':22} last sign-in")
    for row in rows:
        state = ", ".join(
            word for word, on in (("disabled", row["disabled"]), ("locked", row["locked"]),
                                  ("must change password", row["must_change_password"])) if on
        ) or "active"
        print(f"{row['username']:24} {','.join(row['roles']):36} {state:22} {row['last_login_at'] or 'never'}")
    print(f"{len(rows)} account(s)", file=sys.stderr)
    return 0


def cmd_create(args) -> int:
    service, by = _accounts()
    password = service.create_user(by, args.name, args.roles)
    name = args.name.strip().lower()
    print(f"created {name} ({_roles(args.roles)})")
    _hand_over(name, password)
    return 0


def cmd_roles(args) -> int:
    service, by = _accounts()
    service.set_roles(by, args.name, args.roles)
    print(f"{args.name}: roles now {_roles(args.roles)}")
    return 0


def cmd_change(args) -> int:
    service, by = _accounts()
    if args.verb == "reset-password":
        _hand_over(args.name, service.reset_password(by, args.name))
        return 0
    if args.verb == "unlock":
        service.unlock(by, args.name)
    else:
        service.set_disabled(by, args.name, args.verb == "disable")
    print(f"{args.name}: {DONE[args.verb]}")
    return 0
