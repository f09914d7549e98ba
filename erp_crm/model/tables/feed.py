"""The partner change feed's table (the feed itself: `erp_crm.store.change_feed`)."""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

partner_change = sa.Table(
    "crm_partner_change",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.Integer, comment="the partner whose data changed; NULL: any partner may have"),
    sa.Column("day", sa.Date, comment="the date of the changed document (dated documents and their lines)"),
    sa.Column("entity", sa.String(40), nullable=False, comment="what changed: a synced entity, or metrics"),
    sa.Column("changed_at", sa.DateTime, nullable=False, index=True),
    comment="the partner change feed (erp_crm.store.change_feed): who changed when, for incremental metrics and segments",
)
