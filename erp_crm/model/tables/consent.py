"""Consent and suppression (docs/sending.md, "Consent"): what each partner agreed to or refused, per channel, and addresses that must not be used.

Consent rows are never changed or deleted: each opt-in and opt-out is a new row with
its source and time, so whether and how someone agreed can be shown (GDPR Art. 7), and
the partner's current state on a channel is their newest row.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

CONSENT_CHANNELS = ("email", "sms")
CONSENT_STATUSES = ("opt_in", "opt_out")

consent = sa.Table(
    "crm_consent",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False, comment=" | ".join(CONSENT_CHANNELS)),
    sa.Column("status", sa.String(10), nullable=False, comment=" | ".join(CONSENT_STATUSES)),
    sa.Column("source", sa.String(40), nullable=False, comment="how it was given: one-click, unsubscribe page, form, cli, import"),
    sa.Column("at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("detail", sa.Text, comment="what shows it: the message it came from, who recorded it, the wording agreed to"),
    sa.Index("ix_crm_consent_partner", "partner_id", "channel", "id"),
    comment="every opt-in and opt-out, kept: the newest per partner and channel is the current state",
)

suppression = sa.Table(
    "crm_suppression",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("address", sa.String(320), nullable=False, comment="the normalised address or number"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", sa.String(40), nullable=False, comment="bounce, cli"),
    sa.Column("at", sa.DateTime, nullable=False, comment="UTC"),
    sa.UniqueConstraint("channel", "address", name="uq_crm_suppression_channel"),
    comment="addresses never to be used again: hard bounces, addresses a person struck out",
)
