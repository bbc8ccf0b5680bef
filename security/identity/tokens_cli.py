"""``python launch.py tokens ...``: API tokens from a shell.

    tokens create --user NAME --scope read|run|evaluate [--scope ...] [--name N] [--days 90]
                  [--requests-per-minute N] [--spend-per-day USD]
                                     a token for the account; printed once, stored as a hash
    tokens list [--user NAME] [--json]
                                     id, name, account, scopes, state, expiry, last use, limits
    tokens revoke ID                 the token stops working at once

The commands act as ``security.identity.cli.cli_principal`` and go through ``TokenService``: the
``manage_users`` permission, and ``token_created`` / ``token_revoked`` audit events.
"""

from __future__ import annotations

import argparse
import json

from security.identity.tokens import DEFAULT_DAYS, SCOPES


def add_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "tokens", help="API tokens: create, list, revoke",
        description="API tokens that services and CI jobs hold to act as an account, within a scope.",
    )
    commands = t.add_subparsers(dest="tokens_command", metavar="COMMAND", required=True)
    create = commands.add_parser("create", help="a new token (printed once)")
    create.add_argument("--user", required=True, metavar="NAME", help="the account the token acts as")
    create.add_argument("--scope", action="append", required=True, choices=list(SCOPES),
                        help="what it may do (repeatable): read, run (also the gateway), evaluate")
    create.add_argument("--name", default="api", help="what holds it, e.g. ci-nightly (default api)")
    create.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"days until it expires (default {DEFAULT_DAYS})")
    create.add_argument("--requests-per-minute", type=int, metavar="N", help="at most N requests a minute")
    create.add_argument("--spend-per-day", type=float, metavar="USD", help="at most this much model spend a day")
    create.set_defaults(handler=cmd_create)
    ls = commands.add_parser("list", help="every token: account, scopes, state, expiry, last use")
    ls.add_argument("--user", metavar="NAME", help="only this account's tokens")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_list)
    revoke = commands.add_parser("revoke", help="revoke a token (it stops working at once)")
    revoke.add_argument("id", metavar="ID")
    revoke.set_defaults(handler=cmd_revoke)


def _service():
    from config.settings import get_settings
    from security.identity.cli import cli_principal
    from security.identity.tokens import token_service

    settings = get_settings()
    return token_service(settings), cli_principal(settings)


def cmd_create(args) -> int:
    service, by = _service()
    info, token = service.create(
        by, args.user, args.name, args.scope, days=args.days,
        requests_per_minute=args.requests_per_minute, spend_per_day_usd=args.spend_per_day,
    )
    print(f"token {info.id} ({info.name}) for {info.username}, scope {', '.join(info.scopes)}, "
          f"expires {info.expires_at:%Y-%m-%d} UTC")
    print("the token (shown once; send it as 'Authorization: Bearer TOKEN' or set PROMPTFORGE_TOKEN):")
    print(token)
    return 0


def cmd_list(args) -> int:
    from storage.schema import utcnow

    service, by = _service()
    now = utcnow()
    rows = [
        {
            "id": t.id, "name": t.name, "user": t.username, "scopes": list(t.scopes), "state": t.state(now),
            "created_at": t.created_at.isoformat(timespec="seconds"), "created_by": t.created_by,
            "expires_at": t.expires_at.isoformat(timespec="seconds"),
            "last_used_at": t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else None,
            "requests_per_minute": t.requests_per_minute, "spend_per_day_usd": t.spend_per_day_usd,
        }
        for t in service.list(by, args.user)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'id':13} {'name':18} {'user':16} {'scopes':20} {'state':8} {'expires':11} last used")
    for r in rows:
        print(f"{r['id']:13} {r['name'][:18]:18} {r['user'][:16]:16} {','.join(r['scopes']):20} {r['state']:8} "
              f"{r['expires_at'][:10]:11} {r['last_used_at'] or 'never'}")
    return 0


def cmd_revoke(args) -> int:
    service, by = _service()
    info = service.revoke(by, args.id)
    print(f"token {info.id} ({info.name}) of {info.username}: revoked")
    return 0
