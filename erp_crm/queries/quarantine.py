"""ERP rows the sync could not take, with the reason and the raw values."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.sync import quarantine


def quarantined_rows(conn: Connection, source: str, *, entity: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The quarantined rows of `source` (of one `entity`, if given), by entity and key, at most `limit`."""
    q = quarantine
    statement = _of(sa.select(q.c.entity, q.c.erp_key, q.c.reason, q.c.raw, q.c.first_seen_at, q.c.last_seen_at), source, entity)
    return [dict(row._mapping) for row in conn.execute(statement.order_by(q.c.entity, q.c.erp_key).limit(limit))]


def quarantined_count(conn: Connection, source: str, *, entity: str | None = None) -> int:
    """How many rows `quarantined_rows` would list without a limit: a cut list must say that more exist."""
    return int(conn.execute(_of(sa.select(sa.func.count()).select_from(quarantine), source, entity)).scalar_one())


def _of(statement: sa.Select[Any], source: str, entity: str | None) -> sa.Select[Any]:
    q = quarantine
    statement = statement.where(q.c.source == source)
    return statement.where(q.c.entity == entity) if entity else statement
