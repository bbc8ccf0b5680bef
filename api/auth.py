"""Who calls: the bearer token of each request, as its account within the token's scope, and the
token's limits (requests per minute, model spend per day) checked before any work."""

from __future__ import annotations

from datetime import datetime
from datetime import time as day_start
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from config.errors import AuthenticationError, QuotaExceeded
from security.identity.principal import Principal
from security.identity.tokens import Limits
from storage import schema
from storage.engine import storage_errors
from storage.schema import utcnow
from storage.tokens import TokenTable


def bearer(request: Request) -> str:
    """The token of ``Authorization: Bearer TOKEN`` (OpenAI clients send their API key so)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "The request carries no API token.",
            "Send 'Authorization: Bearer TOKEN' (an administrator creates tokens: Admin page or 'launch.py tokens create').",
        )
    return token.strip()


class Quotas:
    """Each token's limits, counted in the database so they hold across every API process: requests
    in the current minute (UTC; a new minute starts a new count), and the model cost of the runs
    recorded through the token since midnight UTC."""

    def __init__(self, tokens: TokenTable, engine: sa.Engine) -> None:
        self.tokens, self.engine = tokens, engine

    def check(self, principal: Principal, limits: Limits) -> None:
        per_minute, per_day = limits.requests_per_minute, limits.spend_per_day_usd
        if per_minute:
            now = utcnow()
            minute = now.replace(second=0, microsecond=0)
            if self.tokens.hit(principal.token, minute) > per_minute:
                wait = max(1, 60 - now.second)
                raise QuotaExceeded(
                    f"The API token {principal.token} is limited to {per_minute} requests a minute.",
                    f"Retry in {wait} s, or ask an administrator for a higher limit.", retry_after=wait,
                )
        if per_day:
            spent = self.spent_today(principal.actor)
            if spent >= per_day:
                raise QuotaExceeded(
                    f"The API token {principal.token} has spent ${spent:.4f} of its ${per_day:.2f} a day on models.",
                    "Wait until midnight UTC, or ask an administrator for a higher limit.",
                    retry_after=_seconds_to_midnight(utcnow()),
                )

    def spent_today(self, actor: str) -> float:
        r = schema.runs.c
        midnight = datetime.combine(utcnow().date(), day_start.min)
        query = sa.select(sa.func.coalesce(sa.func.sum(r.cost_usd), 0.0)).where(r.actor == actor, r.started_at >= midnight)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return float(conn.execute(query).scalar_one())


def _seconds_to_midnight(now: datetime) -> int:
    return int(24 * 3600 - (now - datetime.combine(now.date(), day_start.min)).total_seconds()) + 1


# declares the bearer scheme in the OpenAPI document (the docs page's "Authorize"); ``bearer`` reads it
_SCHEME = HTTPBearer(auto_error=False, description="An API token: Admin page or 'launch.py tokens create'.")


def caller(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)] = None) -> Principal:
    """FastAPI dependency: the request's principal, its limits checked."""
    state = request.app.state
    principal, limits = state.tokens.verify(bearer(request))
    state.quotas.check(principal, limits)
    return principal
