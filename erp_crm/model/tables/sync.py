"""The sync's bookkeeping: where each entity stands, the runs, the quarantine and the keys a reconciliation met."""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import KEY_LENGTH, metadata

sync_state = sa.Table(
    "crm_sync_state",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("cursor", sa.JSON, comment="change value reached by the last finished run"),
    sa.Column("pending", sa.JSON, comment="progress of an unfinished run, for resuming"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

sync_run = sa.Table(
    "crm_sync_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("counts", sa.JSON),
    sa.Column("error", sa.Text),
)

quarantine = sa.Table(
    "crm_quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("erp_key", sa.String(KEY_LENGTH)),
    sa.Column("key_values", sa.JSON, comment="the key columns' raw values, to read the row again"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.JSON, nullable=False),
    sa.Column("first_seen_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("last_run_id", sa.Integer, nullable=False, comment="the sync run that last met the row"),
    sa.UniqueConstraint("source", "entity", "erp_key", name="uq_crm_quarantine_row"),
)

sync_seen = sa.Table(
    "crm_sync_seen",
    metadata,
    sa.Column("source", sa.String(40), primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("erp_key", sa.String(KEY_LENGTH), primary_key=True),
    comment="keys met during a reconciliation pass; what the overlay has beyond them was deleted in the ERP",
)
