"""Invoices per partner and day, read from the overlay for the invoice figures and the customer models.

What counts is what the ERP invoiced: posted or paid invoices and credit notes
(``crm_invoice``), not deleted in the ERP, dated on or before ``as_of``. Credit notes
count negatively whatever sign the ERP stores them with. The database sums them per
partner and day (``GROUP BY partner, date``), so Python only ever holds one row per
invoicing day, read in batches: its invoices, its credit notes, its net and its credited
amount. The partners' invoice counts and revenue add those rows up; a day whose net is
above zero is a purchase (an invoice credited back the same day, or a day holding only a
credit note, is not). Purchases feed ``summary.rfm_summary`` and ``rhythm.typical_gaps``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables import SYNCED

EPOCH = dt.date(1970, 1, 1)
BATCH = 50_000
PURCHASE_STATUSES = ("posted", "paid")


@dataclass(frozen=True)
class Purchases:
    """Purchase days sorted by partner and day: ids, day numbers (days since 1970-01-01), net values."""

    partner_id: np.ndarray
    day: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls) -> Purchases:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))

    def __len__(self) -> int:
        return int(self.partner_id.size)


def day_number_sql(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The date column as whole days since 1970-01-01, computed by the database."""
    if dialect == "sqlite":
        return sa.cast(sa.func.julianday(column) - 2440587.5, sa.Integer)
    return sa.cast(column - sa.literal(EPOCH, sa.Date), sa.Integer)


def signed_amount(table: sa.Table, column: str = "amount_net") -> sa.ColumnElement:
    """The net amount with credit notes negative, whatever sign the ERP stored them with."""
    invoice = SYNCED["invoice"]
    amount = sa.func.coalesce(table.c[column], 0)
    return sa.case((invoice.c.kind == "credit_note", -sa.func.abs(amount)), else_=amount)


def invoice_filter(as_of: dt.date) -> sa.ColumnElement:
    """Invoices and credit notes that count: posted or paid, not deleted, dated by ``as_of``."""
    invoice = SYNCED["invoice"]
    return sa.and_(
        sa.func.coalesce(invoice.c.kind, "invoice").in_(("invoice", "credit_note")),
        invoice.c.status.in_(PURCHASE_STATUSES),
        invoice.c.erp_deleted_at.is_(None),
        invoice.c.date <= as_of,
    )


@dataclass(frozen=True)
class InvoiceDays:
    """Per partner and invoicing day (sorted by partner and day): counts and amounts as float arrays."""

    partner_id: np.ndarray
    day: np.ndarray
    invoices: np.ndarray
    credit_notes: np.ndarray
    net: np.ndarray  # invoices minus credit notes, rounded to 4 decimals
    credited: np.ndarray  # credit notes' amount, positive

    def purchases(self) -> Purchases:
        """The days whose net is above zero."""
        bought = self.net > 0
        return Purchases(self.partner_id[bought], self.day[bought], self.net[bought])

    def per_partner(self) -> pd.DataFrame:
        """invoices, credit_notes, revenue_net and credit_note_value per partner id."""
        if not self.partner_id.size:
            return pd.DataFrame(columns=["invoices", "credit_notes", "revenue_net", "credit_note_value"], index=pd.Index([], name="partner_id", dtype=np.int64))
        starts = np.flatnonzero(np.r_[True, self.partner_id[1:] != self.partner_id[:-1]])
        return pd.DataFrame(
            {
                "invoices": np.add.reduceat(self.invoices, starts),
                "credit_notes": np.add.reduceat(self.credit_notes, starts),
                "revenue_net": np.round(np.add.reduceat(self.net, starts), 4),
                "credit_note_value": np.round(np.add.reduceat(self.credited, starts), 4),
            },
            index=pd.Index(self.partner_id[starts], name="partner_id"),
        )


def invoice_days_query(as_of: dt.date, dialect: str, partners: sa.Select[tuple[int]] | None = None, live_only: bool = False) -> sa.Select:
    """One row per partner and invoicing day: (partner_id, day number, invoices, credit notes, net, credited)."""
    invoice, partner = SYNCED["invoice"], SYNCED["partner"]
    credit = invoice.c.kind == "credit_note"
    query = (
        sa.select(
            invoice.c.partner_id,
            day_number_sql(invoice.c.date, dialect).label("day"),
            sa.func.count(sa.case((credit, None), else_=1)),
            sa.func.count(sa.case((credit, 1))),
            sa.func.sum(signed_amount(invoice)),
            sa.func.sum(sa.case((credit, sa.func.abs(invoice.c.amount_net)), else_=0)),
        )
        .where(invoice_filter(as_of))
        .group_by(invoice.c.partner_id, invoice.c.date)
        .order_by(invoice.c.partner_id, invoice.c.date)
    )
    if live_only:
        query = query.join(partner, partner.c.id == invoice.c.partner_id).where(partner.c.erp_deleted_at.is_(None))
    if partners is not None:
        query = query.where(invoice.c.partner_id.in_(partners))
    return query


def read_invoice_days(conn: Connection, as_of: dt.date, partners: sa.Select[tuple[int]] | None = None, live_only: bool = False) -> InvoiceDays:
    """Every invoicing day up to ``as_of`` (of the `partners` subquery's ids only, when given), streamed."""
    query = invoice_days_query(as_of, conn.dialect.name, partners, live_only)
    parts: list[np.ndarray] = []
    result = conn.execute(query, execution_options={"stream_results": True, "yield_per": BATCH})
    for rows in result.partitions():
        # None sums (no amount) become NaN and then 0; Decimals (PostgreSQL) become floats
        parts.append(np.array([tuple(r) for r in rows], dtype=np.float64).reshape(len(rows), 6))
    data = np.concatenate(parts) if parts else np.empty((0, 6))
    # Money has four decimals in the overlay; rounding makes float sums independent of the
    # order the database added them in, so that any two runs give the same figures.
    amounts = np.round(np.nan_to_num(data[:, 4:6]), 4)
    return InvoiceDays(data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2], data[:, 3], amounts[:, 0], amounts[:, 1])


def read_purchases(conn: Connection, as_of: dt.date) -> Purchases:
    """Every purchase day up to ``as_of`` of the partners not deleted in the ERP."""
    return read_invoice_days(conn, as_of, live_only=True).purchases()
