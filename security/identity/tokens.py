"""API tokens: what a service or a CI job holds to act as an account, without a password.

An administrator creates a token for an account with a scope (``read``, ``run``, ``evaluate``), an
expiry and optional limits (requests per minute, model spend per day). The token is shown once;
only its SHA-256 is stored (a token is 32 random bytes, so a fast hash is enough: there is nothing
to guess). A token acts with its account's roles narrowed to its scope, so it can never do more
than the account, and a disabled account's tokens stop working with it. Every use is attributed
to the account through the token (``token:alice/ID``) in records and audit events; creating and
revoking one are audit events on the account (``user:alice``) naming the token's id.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from config.errors import AuthenticationError, InputError, NotFoundError
from security.identity.principal import Principal
from security.identity.roles import Permission, parse_roles
from storage.schema import utcnow
from storage.tokens import TokenRow, TokenTable
from storage.users import UserTable

PREFIX = "pft_"
SCOPES: dict[str, frozenset[Permission]] = {
    "read": frozenset({Permission.READ_RUNS}),
    "run": frozenset({Permission.READ_RUNS, Permission.RUN_PROMPTS}),
    "evaluate": frozenset({Permission.READ_RUNS, Permission.RUN_PROMPTS, Permission.EVALUATE, Permission.COMPARE}),
}
DEFAULT_DAYS = 90
MAX_DAYS = 366
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_id() -> str:
    """16 hexadecimal characters with a letter and a digit: read everywhere as an id (never as a
    phone or account number), also by the export's personal-data check."""
    while True:
        candidate = secrets.token_hex(8)
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def scope_permissions(scopes: Iterable[str]) -> frozenset[Permission]:
    return frozenset(p for name in scopes for p in SCOPES[name])


@dataclass(frozen=True)
class Limits:
    """A token's limits; None: no limit."""

    requests_per_minute: int | None
    spend_per_day_usd: float | None


@dataclass(frozen=True)
class TokenInfo:
    """What lists show of a token (never the token or its hash)."""

    id: str
    name: str
    username: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    requests_per_minute: int | None
    spend_per_day_usd: float | None

    @classmethod
    def of(cls, row: TokenRow) -> TokenInfo:
        return cls(
            row.id, row.name, row.username, tuple(row.scopes), row.created_at, row.created_by, row.expires_at,
            row.revoked_at, row.last_used_at, row.requests_per_minute, row.spend_per_day_usd,
        )

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class TokenService:
    def __init__(self, tokens: TokenTable, users: UserTable, audit, clock: Callable[[], datetime] = utcnow) -> None:
        self.tokens, self.users, self.audit, self.clock = tokens, users, audit, clock

    # administration -------------------------------------------------------------------
    def create(
        self,
        by: Principal,
        username: str,
        name: str,
        scopes: Iterable[str],
        days: int = DEFAULT_DAYS,
        requests_per_minute: int | None = None,
        spend_per_day_usd: float | None = None,
    ) -> tuple[TokenInfo, str]:
        """A new token for ``username``; returns it with the token itself, to show once."""
        by.require(Permission.MANAGE_USERS, "create API tokens")
        account = self.users.get(username.strip().lower())
        if account is None:
            raise NotFoundError(f"No user named {username!r}.", "Create the account first, then its token.")
        if account.disabled:
            raise InputError(f"The account {account.username!r} is disabled.", "Enable it first.")
        scopes = sorted(set(scopes))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise InputError(
                f"Unknown or missing token scope: {', '.join(unknown) or 'none given'}.",
                f"Give one or more of: {', '.join(SCOPES)} (read: runs, prompts, traces; run: also run "
                "prompts and the gateway; evaluate: also evaluations and comparisons).",
            )
        name = name.strip()
        if not name or len(name) > 100:
            raise InputError("A token needs a name of 1 to 100 characters.", "Name what will hold it, e.g. 'ci-nightly'.")
        if not 1 <= days <= MAX_DAYS:
            raise InputError(f"A token lasts 1 to {MAX_DAYS} days, not {days}.", "Pick an expiry in that range.")
        for label, value in (("requests per minute", requests_per_minute), ("spend per day", spend_per_day_usd)):
            if value is not None and value <= 0:
                raise InputError(f"The {label} limit must be above 0.", "Leave it out for no limit.")
        token = PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        row = TokenRow(
            id=_new_id(), token_hash=token_hash(token), name=name, username=account.username,
            scopes=scopes, created_at=now, created_by=by.actor, expires_at=now + timedelta(days=days),
            revoked_at=None, revoked_by=None, last_used_at=None, requests_per_minute=requests_per_minute,
            spend_per_day_usd=spend_per_day_usd,
        )
        self.tokens.insert(row)
        # the account is the event's target (as for every account change); the token's free-text name
        # stays in pf_api_tokens, out of the audit trail and its exports
        self.audit.append(by.actor, "token_created", f"user:{row.username}", {
            "token": row.id, "scopes": scopes, "expires_at": row.expires_at.isoformat(),
            "requests_per_minute": requests_per_minute, "spend_per_day_usd": spend_per_day_usd,
        })
        return TokenInfo.of(row), token

    def list(self, by: Principal, username: str | None = None) -> list[TokenInfo]:
        by.require(Permission.MANAGE_USERS, "list API tokens")
        return [TokenInfo.of(r) for r in self.tokens.all(username.strip().lower() if username else None)]

    def revoke(self, by: Principal, token_id: str) -> TokenInfo:
        by.require(Permission.MANAGE_USERS, "revoke API tokens")
        row = self.tokens.get(token_id.strip())
        if row is None:
            raise NotFoundError(f"No API token with id {token_id!r}.", "List them with 'tokens list'.")
        if row.revoked_at is not None:
            raise InputError(f"The token {row.id} was revoked already ({row.revoked_at:%Y-%m-%d %H:%M} UTC).",
                             "Nothing to do.")
        now = self.clock()
        self.tokens.update(row.id, revoked_at=now, revoked_by=by.actor)
        self.audit.append(by.actor, "token_revoked", f"user:{row.username}", {"token": row.id})
        return TokenInfo.of(self.tokens.get(row.id))

    # use --------------------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal:
        """The account behind ``token``, its roles narrowed to the token's scope; raises
        ``AuthenticationError`` (saying why) for an unknown, revoked or expired token or a
        disabled account."""
        return self.verify(token)[0]

    def verify(self, token: str) -> tuple[Principal, Limits]:
        """``authenticate``, with the token's limits read from the same row (the API checks both
        on every request)."""
        token = (token or "").strip()
        row = self.tokens.by_hash(token_hash(token)) if token.startswith(PREFIX) else None
        if row is None:
            raise AuthenticationError("The API token is not valid.", "Check it was copied whole, or ask for a new one.")
        now = self.clock()
        if row.revoked_at is not None:
            raise AuthenticationError(f"The API token {row.id} was revoked.", "Ask an administrator for a new one.")
        if row.expires_at <= now:
            raise AuthenticationError(
                f"The API token {row.id} expired on {row.expires_at:%Y-%m-%d} (UTC).", "Ask an administrator for a new one."
            )
        account = self.users.get(row.username)
        if account is None or account.disabled:
            raise AuthenticationError(
                f"The account {row.username!r} of API token {row.id} is disabled or gone.", "Ask an administrator."
            )
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            self.tokens.update(row.id, last_used_at=now)
        principal = Principal(
            account.username, parse_roles(account.roles), "token", scope=scope_permissions(row.scopes), token=row.id
        )
        return principal, Limits(row.requests_per_minute, row.spend_per_day_usd)


def token_service(settings):
    from storage.audit import audit_log
    from storage.engine import make_engine

    engine = make_engine(settings)
    return TokenService(TokenTable(engine), UserTable(engine), audit_log(settings))
