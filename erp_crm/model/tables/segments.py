"""Segments (docs/filters.md, "Segments"): named filters over partners, who is in each one
with entered/left times (a partner that leaves and comes back gets a new row), and the
entered/left events that notification chains start from.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

CURRENT = sa.text("left_at IS NULL")

segment = sa.Table(
    "crm_segment",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("title", sa.Text),
    sa.Column("filter", sa.Text, nullable=False, comment="the filter in its text form"),
    sa.Column("source", sa.String(20), nullable=False, comment="config (config/segments.yaml) or user"),
    sa.Column("updated_at", sa.DateTime, nullable=False, comment="when the definition last changed"),
    sa.Column("refreshed_at", sa.DateTime, comment="when membership was last brought up to date"),
    sa.Column("refreshed_as_of", sa.Date, comment="the day the last refresh evaluated the filter for"),
    sa.Column("refreshed_filter", sa.Text, comment="the filter as of the last refresh; a changed one is refreshed whole"),
)

segment_member = sa.Table(
    "crm_segment_member",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("crm_segment.id"), nullable=False),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), nullable=False),
    sa.Column("entered_at", sa.DateTime, nullable=False),
    sa.Column("left_at", sa.DateTime, comment="NULL while the partner is a member"),
    sa.Index("ix_crm_segment_member_current", "segment_id", "left_at", "partner_id"),
    # One current row per segment and partner: two refreshes racing must not make a member twice (migration 0006).
    sa.Index("uq_crm_segment_member_current", "segment_id", "partner_id", unique=True, sqlite_where=CURRENT, postgresql_where=CURRENT),
    comment="membership periods; current members have no left_at",
)

segment_event = sa.Table(
    "crm_segment_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("crm_segment.id"), nullable=False, index=True),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False, comment="entered or left"),
    sa.Column("at", sa.DateTime, nullable=False),
    comment="partners entering and leaving segments, in id order, for the notification chains",
)
