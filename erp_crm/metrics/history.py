"""Purchases per partner and day, read from the overlay for the customer models.

A purchase is what the ERP invoiced: posted or paid invoices and credit notes
(``crm_invoice``), not deleted in the ERP, of a partner not deleted either, dated on or
before ``as_of``. Credit notes count negatively whatever sign the ERP stores them with.
The database sums them per partner and day (``GROUP BY partner, date``), so Python only
ever holds one row per purchase day, read in batches; a day whose net is zero or less
(an invoice credited back the same day, or a day holding only a credit note) is not a
purchase. The result feeds ``summary.rfm_summary`` and ``rhythm.typical_gaps``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables import SYNCED

EPOCH = dt.date(1970, 1, 1)
BATCH = 50_000
IDS_PER_QUERY = 5_000  # partner ids bound per statement (SQLite allows 32,766 variables)
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


def chunks(ids: Iterable[int], size: int = IDS_PER_QUERY) -> Iterator[list[int]]:
    ids = sorted(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def purchases_query(as_of: dt.date, dialect: str, partner_ids: list[int] | None = None) -> sa.Select:
    """One row per partner and purchase day: (partner_id, day number, net value)."""
    invoice, partner = SYNCED["invoice"], SYNCED["partner"]
    net = sa.func.sum(signed_amount(invoice))
    query = (
        sa.select(invoice.c.partner_id, day_number_sql(invoice.c.date, dialect).label("day"), net.label("value"))
        .join(partner, partner.c.id == invoice.c.partner_id)
        .where(invoice_filter(as_of), partner.c.erp_deleted_at.is_(None))
        .group_by(invoice.c.partner_id, invoice.c.date)
        .having(net > 0)
        .order_by(invoice.c.partner_id, invoice.c.date)
    )
    if partner_ids is not None:
        query = query.where(invoice.c.partner_id.in_(partner_ids))
    return query


def read_purchases(conn: Connection, as_of: dt.date, partner_ids: Iterable[int] | None = None) -> Purchases:
    """Every purchase day up to ``as_of`` (of the given partners only, when given), streamed."""
    dialect = conn.dialect.name
    queries = (
        [purchases_query(as_of, dialect)]
        if partner_ids is None
        else [purchases_query(as_of, dialect, part) for part in chunks(partner_ids)]
    )
    ids: list[np.ndarray] = []
    days: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for query in queries:
        result = conn.execute(query, execution_options={"stream_results": True, "yield_per": BATCH})
        for rows in result.partitions():
            ids.append(np.fromiter((r[0] for r in rows), np.int64, len(rows)))
            days.append(np.fromiter((r[1] for r in rows), np.int64, len(rows)))
            values.append(np.fromiter((float(r[2]) for r in rows), np.float64, len(rows)))
    if not ids:
        return Purchases.empty()
    # Money has four decimals in the overlay; rounding makes float sums independent of the
    # order the database added them in, so that any two runs give the same figures.
    return Purchases(np.concatenate(ids), np.concatenate(days), np.round(np.concatenate(values), 4))
