"""Account owners (docs/owners.md): who in the company looks after a partner, decided in the CRM.

The ERP's salesperson (`crm_partner.salesperson_id`) is synced and read-only: erp-crm
never writes to the ERP. A person or a chain that hands an account to someone else
writes `crm_partner_owner`, which overrides the salesperson while that user is active;
removing the row hands the account back to the ERP's salesperson. Every change is kept
in `crm_partner_owner_event`, with who made it, why, and which chain step if one did.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

OWNER_EVENT_KINDS = ("assigned", "released")

partner_owner = sa.Table(
    "crm_partner_owner",
    metadata,
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("crm_user.id"), nullable=False, index=True),
    sa.Column("since", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("by", sa.String(200), nullable=False, comment="who: an ERP login, or the chain step"),
    sa.Column("reason", sa.Text),
    comment="the CRM's account owner of a partner, overriding the ERP's salesperson while the user is active",
)

partner_owner_event = sa.Table(
    "crm_partner_owner_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False, comment=" | ".join(OWNER_EVENT_KINDS)),
    sa.Column("from_user_id", sa.Integer, sa.ForeignKey("crm_user.id"), comment="the effective owner before (NULL: nobody)"),
    sa.Column("to_user_id", sa.Integer, sa.ForeignKey("crm_user.id"), comment="the effective owner after (NULL: nobody)"),
    sa.Column("at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("by", sa.String(200), nullable=False, comment="who: an ERP login, or the chain step"),
    sa.Column("reason", sa.Text),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("crm_chain_enrolment.id"), comment="the enrolment whose step made it"),
    sa.Column("step", sa.String(64), comment="the chain step that made it"),
    sa.Column("tasks_moved", sa.Integer, nullable=False, server_default="0", comment="open tasks handed from the old owner to the new"),
    sa.Index("ix_crm_partner_owner_event_partner", "partner_id", "id"),
    comment="every change of a partner's account owner, kept",
)
