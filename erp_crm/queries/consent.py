"""A partner's consent as people read it: every opt-in and opt-out, newest first."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.consent import consent


def consent_history(conn: Connection, partner_id: int) -> list[dict[str, Any]]:
    c = consent.c
    query = sa.select(c.channel, c.status, c.source, c.at, c.detail).where(c.partner_id == partner_id).order_by(c.id.desc())
    return [dict(row) for row in conn.execute(query).mappings()]
