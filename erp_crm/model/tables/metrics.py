"""Customer metrics (docs/metrics.md): each customer's invoices per day, one row of figures per live
partner as of the last run, the same rows kept per date, and a record of each run.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

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
        sa.Column("longest_gap_days", count, comment="the longest gap between purchase days; 0 with one"),
        sa.Column("overdue_ratio", ratio),
        # probabilistic
        sa.Column("p_alive", ratio, comment="MBG/NBD probability of still being a customer"),
        sa.Column("expected_purchases_90d", ratio),
        sa.Column("expected_value", money, comment="Gamma-Gamma expected mean purchase value"),
        sa.Column("clv_12m", money),
        # lapse
        sa.Column("lapsed_score", sa.Boolean(create_constraint=False), comment="the lapse score at or above its threshold"),
        sa.Column("lapsed_rule", sa.Boolean(create_constraint=False)),
        sa.Column("lapsed_rhythm", sa.Boolean(create_constraint=False)),
        sa.Column("lapsed_model", sa.Boolean(create_constraint=False)),
        sa.Column("lapse_score", ratio, comment="the chance of no purchase in the lapse horizon (or, without a fitted lapse model, the hand-weighted score)"),
        sa.Column("lapse_reason", sa.JSON(none_as_null=True), comment="why lapsed: reason codes with their numbers, rendered per language when read"),
    ]


partner_metrics = sa.Table(
    "crm_partner_metrics",
    metadata,
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    *_metric_columns(),
    sa.Index("ix_crm_partner_metrics_first_purchase", "first_purchase"),  # first-purchase anniversaries, looked up by day
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
