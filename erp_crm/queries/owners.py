"""Account owners as people read them: whose a partner is and why, and every change of it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.account_owner import active_user, effective_owner_id
from erp_crm.model.tables.owners import partner_owner, partner_owner_event
from erp_crm.model.tables.synced import SYNCED


def account_owner(conn: Connection, partner_id: int) -> dict[str, Any]:
    """The partner's effective owner, the CRM's owner (if any, and whether active) and the ERP's salesperson."""
    partner = SYNCED["partner"]
    owner, crm, erp = (SYNCED["user"].alias(name) for name in ("owner", "crm", "erp"))
    row = (
        conn.execute(
            sa.select(
                partner.c.erp_key.label("partner"),
                partner.c.name,
                owner.c.login.label("owner"),
                owner.c.name.label("owner_name"),
                crm.c.login.label("crm_owner"),
                active_user(crm).label("crm_owner_active"),
                partner_owner.c.since,
                partner_owner.c.by,
                partner_owner.c.reason,
                erp.c.login.label("erp_salesperson"),
            )
            .select_from(partner)
            .outerjoin(owner, owner.c.id == effective_owner_id(partner))
            .outerjoin(partner_owner, partner_owner.c.partner_id == partner.c.id)
            .outerjoin(crm, crm.c.id == partner_owner.c.user_id)
            .outerjoin(erp, erp.c.id == partner.c.salesperson_id)
            .where(partner.c.id == partner_id)
        )
        .mappings()
        .one()
    )
    shown = dict(row)
    shown["crm_owner_active"] = bool(shown["crm_owner_active"]) if shown["crm_owner"] else None
    shown["from"] = "crm" if shown["crm_owner"] and shown["crm_owner_active"] else "erp" if shown["erp_salesperson"] else None
    return shown


def owner_history(conn: Connection, partner_id: int) -> list[dict[str, Any]]:
    """Every change of the partner's owner, oldest first."""
    e = partner_owner_event.c
    before, after = SYNCED["user"].alias("before"), SYNCED["user"].alias("after")
    query = (
        sa.select(e.at, e.kind, before.c.login.label("from"), after.c.login.label("to"), e.by, e.reason, e.step, e.enrolment_id, e.tasks_moved)
        .select_from(partner_owner_event)
        .outerjoin(before, before.c.id == e.from_user_id)
        .outerjoin(after, after.c.id == e.to_user_id)
        .where(e.partner_id == partner_id)
        .order_by(e.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
