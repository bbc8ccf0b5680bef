"""Rows of ``pf_api_tokens``. Hashing, scopes, expiry and limits live in
``security.identity.tokens``; this module only reads and writes rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import schema
from storage.engine import storage_errors, upsert_into
from storage.migrate import ensure


@dataclass(frozen=True)
class TokenRow:
    id: str
    token_hash: str
    name: str
    username: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None
    requests_per_minute: int | None
    spend_per_day_usd: float | None


class TokenTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with storage_errors(engine):
            ensure(engine)

    def insert(self, row: TokenRow) -> None:
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.insert(schema.api_tokens).values(**asdict(row)))

    def by_hash(self, token_hash: str) -> TokenRow | None:
        t = schema.api_tokens
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.token_hash == token_hash)).first()
        return TokenRow(**row._mapping) if row else None

    def get(self, token_id: str) -> TokenRow | None:
        t = schema.api_tokens
        with storage_errors(self.engine), self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == token_id)).first()
        return TokenRow(**row._mapping) if row else None

    def all(self, username: str | None = None) -> list[TokenRow]:
        t = schema.api_tokens
        query = sa.select(t).order_by(t.c.created_at.desc(), t.c.id)
        if username is not None:
            query = query.where(t.c.username == username)
        with storage_errors(self.engine), self.engine.connect() as conn:
            return [TokenRow(**r._mapping) for r in conn.execute(query)]

    def update(self, token_id: str, **values: Any) -> None:
        t = schema.api_tokens
        with storage_errors(self.engine), self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.id == token_id).values(**values))

    def hit(self, token_id: str, minute: datetime) -> int:
        """Count one request of ``token_id`` in ``minute``; returns that minute's count so far (one
        statement, so two processes counting at once never lose a hit). Minutes older than an hour
        are dropped now and then."""
        t = schema.api_token_hits
        values = {"token_id": token_id, "minute": minute, "hits": 1}
        with storage_errors(self.engine), self.engine.begin() as conn:
            upsert = upsert_into(conn, t).values(**values)
            upsert = upsert.on_conflict_do_update(index_elements=[t.c.token_id, t.c.minute], set_={"hits": t.c.hits + 1})
            count = conn.execute(upsert.returning(t.c.hits)).scalar_one()
            if minute.minute == 0 and count == 1:
                conn.execute(sa.delete(t).where(t.c.minute < minute - timedelta(hours=1)))
        return int(count)
