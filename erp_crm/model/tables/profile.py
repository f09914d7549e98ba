"""What the CRM itself knows of a partner: descriptive and qualitative data the sync never touches."""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

partner_profile = sa.Table(
    "crm_partner_profile",
    metadata,
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), primary_key=True),
    sa.Column("industry", sa.Text),
    sa.Column("size_class", sa.Text),
    sa.Column("ownership", sa.Text),
    sa.Column("risk_rating", sa.Text),
    sa.Column("credit_limit", sa.Numeric(18, 4)),
    sa.Column("key_account", sa.Boolean(create_constraint=False)),
    sa.Column("customer_rating", sa.Integer),
    sa.Column("custom", sa.JSON),
    sa.Column("updated_at", sa.DateTime, nullable=False, index=True),  # set by every change: segment refreshes look here
    comment="descriptive and qualitative data kept by the CRM; the sync never overwrites it",
)
