"""The effective account owner of a partner, as one SQL expression every reader shares (docs/owners.md).

Tasks for "the salesperson", the `salesperson` a message template greets with, the
`owner` filter field and `erp-crm owners show` must never disagree about who looks
after a customer, so they all build on `effective_owner_id`: the CRM's owner
(`crm_partner_owner`) while that user is still an active ERP user, else the ERP's
salesperson. A CRM owner who leaves the company hands the account back to the ERP's
choice without anyone having to notice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from erp_crm.model.tables.owners import partner_owner
from erp_crm.model.tables.synced import SYNCED

# Its own alias: the expression is often nested in a query that reads crm_user itself
# (the owner's login, name, e-mail), and must not be correlated to that query's row.
_OWNER_USER = SYNCED["user"].alias("owner_user")


def active_user(user: sa.FromClause) -> sa.ColumnElement[bool]:
    """The ERP still has the user and does not say it is inactive (an unknown `active` counts as active, as everywhere)."""
    return sa.and_(user.c.erp_deleted_at.is_(None), user.c.active.is_not(False))


def effective_owner(partner: sa.FromClause, column: str) -> sa.ScalarSelect[Any]:
    """A column (`id`, `login`, `name`, `email`) of the partner row's owner: the CRM's while that user is active, else the ERP's salesperson; NULL for nobody.

    One flat subquery (the candidates, the CRM's first), not a subquery inside a
    COALESCE: filters fold text in nineteen nested calls, and SQLite parses only so deep.
    """
    u, o = _OWNER_USER, partner_owner
    return (
        sa.select(u.c[column])
        .select_from(u.outerjoin(o, sa.and_(o.c.user_id == u.c.id, o.c.partner_id == partner.c.id)))
        .where(sa.or_(sa.and_(o.c.partner_id.is_not(None), active_user(u)), u.c.id == partner.c.salesperson_id))
        .order_by(o.c.partner_id.is_(None))
        .limit(1)
        .correlate(partner)
        .scalar_subquery()
    )


def effective_owner_id(partner: sa.FromClause) -> sa.ColumnElement[Any]:
    """The user id of the partner row's owner (NULL: nobody); see `effective_owner`."""
    return effective_owner(partner, "id")
