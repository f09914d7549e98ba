"""SQLAlchemy tables of the overlay, generated from the canonical entity list.

Every synced row carries its source (which ERP), its ERP key as text, when it was
last synced, a hash of its canonical values (so unchanged rows are never rewritten)
and, once the ERP no longer has it, when it vanished: rows are never physically
deleted, because CRM records (tasks, notes, enrolments) may point at them.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.canonical import ENTITIES, Entity, Kind

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

KEY_LENGTH = 200
_TYPES: dict[Kind, sa.types.TypeEngine] = {
    Kind.TEXT: sa.Text(),
    Kind.INT: sa.BigInteger(),
    Kind.DECIMAL: sa.Numeric(18, 4),
    Kind.BOOL: sa.Boolean(create_constraint=False),
    Kind.DATE: sa.Date(),
    Kind.DATETIME: sa.DateTime(),
}


def ref_key_column(field_name: str) -> str:
    """Column holding the referenced row's ERP key (kept even when it does not resolve)."""
    return f"{field_name}_key"


def ref_id_column(field_name: str) -> str:
    """Column holding the referenced overlay row's id, for joins."""
    return f"{field_name}_id"


# The dates a metrics run on a new day looks up: documents dated since its last run start to count.
DATED = {("quote", "date"), ("order", "date"), ("invoice", "date"), ("ticket", "opened_at")}
# References indexed together with the document's date: a metrics run recounts one
# partner's invoices of one day (its `partner_id` alone is the index's first column).
WITH_DATE = {("invoice", "partner")}


def _synced_table(entity: Entity) -> sa.Table:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("erp_key", sa.String(KEY_LENGTH), nullable=False),
    ]
    for f in entity.fields:
        if f.ref:
            # Every index is paid for on each of a million line inserts: lines are found
            # through their document, so their product reference goes unindexed.  No
            # FOREIGN KEY either: the sync writes only ids it has just resolved, and
            # PostgreSQL's per-row constraint triggers cost two thirds of a load's time.
            indexed = not (entity.parent and f.ref == "product") and (entity.name, f.name) not in WITH_DATE
            columns.append(sa.Column(ref_key_column(f.name), sa.String(KEY_LENGTH)))
            columns.append(sa.Column(ref_id_column(f.name), sa.Integer, index=indexed))  # the id of the referenced entity's row
        else:
            columns.append(sa.Column(f.name, _TYPES[f.kind], index=(entity.name, f.name) in DATED))
    columns += [
        sa.Column("row_hash", sa.String(32), nullable=False),
        sa.Column("synced_at", sa.DateTime, nullable=False),
        sa.Column("erp_deleted_at", sa.DateTime),
        sa.UniqueConstraint("source", "erp_key", name=f"uq_{entity.table}_source_key"),
    ]
    columns += [sa.Index(f"ix_{entity.table}_{ref_id_column(name)}_date", ref_id_column(name), "date") for e, name in WITH_DATE if e == entity.name]
    return sa.Table(entity.table, metadata, *columns)


SYNCED: dict[str, sa.Table] = {e.name: _synced_table(e) for e in ENTITIES}

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


partner_change = sa.Table(
    "crm_partner_change",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.Integer, comment="the partner whose data changed; NULL: any partner may have"),
    sa.Column("day", sa.Date, comment="the date of the changed document (dated documents and their lines)"),
    sa.Column("entity", sa.String(40), nullable=False, comment="what changed: a synced entity, or metrics"),
    sa.Column("changed_at", sa.DateTime, nullable=False, index=True),
    comment="the partner change feed (erp_crm.model.changes): who changed when, for incremental metrics and segments",
)

partner_day = sa.Table(
    "crm_partner_day",
    metadata,
    sa.Column("partner_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("invoices", sa.Integer, nullable=False),
    sa.Column("credit_notes", sa.Integer, nullable=False),
    sa.Column("net", sa.Float, nullable=False, comment="invoices minus credit notes, net of tax"),
    sa.Column("credited", sa.Float, nullable=False, comment="credit notes, positive"),
    sa.Column("services", sa.Float, nullable=False, comment="lines of service products, credit notes negative"),
    comment="the invoices that count, summed per partner and day, kept by the metrics runs (docs/metrics.md)",
    sqlite_with_rowid=False,  # one partner's days side by side in the file
)

# Customer metrics (docs/metrics.md): one row per live partner as of the last run, the
# same rows kept per date in the history table, and a record of each run.
def _metric_columns() -> list[sa.Column]:
    """The figures of one partner as of a date; shared by the current and history tables."""
    money, ratio, count, day = sa.Float, sa.Float, sa.Integer, sa.Date
    return [
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("computed_at", sa.DateTime, nullable=False),
        # the mission's quantitative data
        sa.Column("quotes", count, nullable=False),
        sa.Column("orders", count, nullable=False),
        sa.Column("order_value", money, nullable=False),
        sa.Column("invoices", count, nullable=False),
        sa.Column("revenue_net", money, nullable=False, comment="invoices minus credit notes, net of tax"),
        sa.Column("services_value", money, nullable=False, comment="invoice lines of service products"),
        sa.Column("credit_notes", count, nullable=False),
        sa.Column("credit_note_value", money, nullable=False, comment="credited amount, positive"),
        sa.Column("complaints", count, nullable=False),
        sa.Column("quote_conversion", ratio, comment="share of quotes that led to an order; NULL without quotes"),
        sa.Column("first_purchase", day),
        sa.Column("last_purchase", day),
        sa.Column("purchase_days", count, nullable=False, comment="days with a positive net invoiced amount"),
        sa.Column("purchase_value", money, nullable=False, comment="net amount of the purchase days"),
        sa.Column("repeat_value", money, comment="mean net amount of the repeat purchase days"),
        sa.Column("avg_order_value", money, comment="purchase_value / purchase_days"),
        sa.Column("tenure_days", count),
        # RFM
        sa.Column("recency_days", count),
        sa.Column("frequency", count),
        sa.Column("monetary", money),
        sa.Column("r_score", sa.SmallInteger),
        sa.Column("f_score", sa.SmallInteger),
        sa.Column("m_score", sa.SmallInteger),
        sa.Column("rfm_group", sa.String(40)),
        # buying rhythm
        sa.Column("typical_gap_days", ratio),
        sa.Column("overdue_ratio", ratio),
        # probabilistic
        sa.Column("p_alive", ratio, comment="MBG/NBD probability of still being a customer"),
        sa.Column("expected_purchases_90d", ratio),
        sa.Column("expected_value", money, comment="Gamma-Gamma expected mean purchase value"),
        sa.Column("clv_12m", money),
        # lapse
        sa.Column("lapsed_rule", sa.Boolean(create_constraint=False)),
        sa.Column("lapsed_rhythm", sa.Boolean(create_constraint=False)),
        sa.Column("lapsed_model", sa.Boolean(create_constraint=False)),
        sa.Column("lapse_score", ratio),
        sa.Column("lapse_reason_hu", sa.Text),
        sa.Column("lapse_reason_en", sa.Text),
    ]


partner_metrics = sa.Table(
    "crm_partner_metrics",
    metadata,
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    *_metric_columns(),
    comment="each live partner's figures as of the last metrics run",
)

partner_metrics_history = sa.Table(
    "crm_partner_metrics_history",
    metadata,
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True, index=True),
    *_metric_columns(),
    comment="snapshots of crm_partner_metrics, one per partner and date, for trends",
)

metrics_run = sa.Table(
    "crm_metrics_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("partners", sa.Integer, comment="partners whose figures were written"),
    sa.Column("recomputed", sa.Integer, comment="partners whose documents were aggregated again"),
    sa.Column("models", sa.JSON, comment="fitted model parameters, or why a model was not fitted"),
    sa.Column("settings_hash", sa.String(32), comment="the metrics settings the run used (a changed setting rewrites every row)"),
    sa.Column("written", sa.Integer, comment="rows of crm_partner_metrics written (the others were already right)"),
)


# Segments (docs/filters.md, "Segments"): named filters over partners, who is in each one
# with entered/left times (a partner that leaves and comes back gets a new row), and the
# entered/left events that notification chains start from.
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
