"""A partner's figures, and the customers most surely lapsed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.model.tables.metrics import partner_metrics, partner_metrics_history
from erp_crm.model.tables.synced import SYNCED

# What a partner's trend shows of each dated snapshot.
TREND = ("as_of", "recency_days", "frequency", "monetary", "rfm_group", "p_alive", "lapse_score")


def partner_figures(conn: Connection, source: str, partner_key: str) -> dict[str, Any]:
    """A partner's current figures and the snapshots kept of them, by its ERP key in `source`."""
    partner = SYNCED["partner"]
    found = conn.execute(sa.select(partner.c.id, partner.c.name).where(partner.c.source == source, partner.c.erp_key == partner_key)).first()
    if found is None:
        raise UserError(f"no partner with ERP key {partner_key!r} in source {source!r}")
    current = conn.execute(sa.select(partner_metrics).where(partner_metrics.c.partner_id == found.id)).mappings().first()
    if current is None:
        raise UserError(f"no figures for partner {partner_key!r} yet: run `erp-crm metrics compute`")
    h = partner_metrics_history
    trend = conn.execute(sa.select(*(h.c[c] for c in TREND)).where(h.c.partner_id == found.id).order_by(h.c.as_of)).mappings().all()
    return {"partner": partner_key, "name": found.name, "metrics": dict(current), "history": [dict(r) for r in trend]}


def most_lapsed(conn: Connection, count: int) -> list[dict[str, Any]]:
    """The `count` lapsed customers with the highest lapse score: name, score and reason (codes)."""
    m, p = partner_metrics, SYNCED["partner"]
    rows = conn.execute(
        sa.select(p.c.erp_key, p.c.name, m.c.lapse_score, m.c.lapse_reason)
        .join(p, p.c.id == m.c.partner_id)
        .where(m.c.lapse_reason.is_not(None))
        .order_by(m.c.lapse_score.desc(), p.c.name)
        .limit(count)
    ).mappings()
    return [dict(r) for r in rows]
