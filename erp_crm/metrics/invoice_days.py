"""Purchase documents per partner and day, read from the overlay for the purchase figures and the customer models.

What counts is the kind of document `metrics.purchases_from` names (``purchases``):
posted or paid invoices and credit notes (``crm_invoice``) by default, or confirmed,
delivered or closed orders (``crm_order``); not deleted in the ERP, dated on or before
``as_of``. Credit notes count negatively whatever sign the ERP stores them with. The
database sums the documents per partner and day (``GROUP BY partner, date``), so Python
only ever holds one row per day, read in batches: its documents, its credit notes, its
net and its credited amount. The partners' revenue adds those rows up; a day whose net is
above zero is a purchase (an invoice credited back the same day, or a day holding only a
credit note, is not). Purchases feed ``summary.rfm_summary`` and ``rhythm.typical_gaps``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics.purchases import Documents
from erp_crm.metrics.summary import EPOCH
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.driver import driver_rows

BATCH = 50_000


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


FIELDS = ("invoices", "credit_notes", "net", "credited", "services")


@dataclass(frozen=True)
class DocumentDays:
    """Per partner and day of purchase documents (sorted by partner and day): counts and amounts as float arrays.

    The fields are named after the columns of `crm_partner_day`, which was made for
    invoices: with purchases from orders, `invoices` counts the orders (and there are no
    credit notes).
    """

    partner_id: np.ndarray
    day: np.ndarray  # days since 1970-01-01
    invoices: np.ndarray
    credit_notes: np.ndarray
    net: np.ndarray  # invoices minus credit notes, rounded to 4 decimals
    credited: np.ndarray  # credit notes' amount, positive
    services: np.ndarray  # lines of service products, credit notes negative

    @classmethod
    def of(cls, partner_id: np.ndarray, day: np.ndarray, values: np.ndarray) -> DocumentDays:
        """From ids, day numbers and a matrix of `FIELDS` columns; amounts rounded to 4 decimals.

        Money has four decimals in the overlay; rounding makes float sums independent of the
        order the database added them in, so that any two runs give the same figures.
        """
        amounts = np.round(np.nan_to_num(values[:, 2:5]), 4)
        return cls(partner_id.astype(np.int64), day.astype(np.int64), values[:, 0], values[:, 1], amounts[:, 0], amounts[:, 1], amounts[:, 2])

    def until(self, end: int) -> DocumentDays:
        """The days up to day number `end`."""
        keep = self.day <= end
        return DocumentDays(*(getattr(self, f)[keep] for f in ("partner_id", "day", *FIELDS)))

    def purchases(self) -> Purchases:
        """The days whose net is above zero."""
        bought = self.net > 0
        return Purchases(self.partner_id[bought], self.day[bought], self.net[bought])

    def per_partner(self) -> pd.DataFrame:
        """invoices, credit_notes, revenue_net, credit_note_value and services_value per partner id."""
        names = {"invoices": "invoices", "credit_notes": "credit_notes", "net": "revenue_net", "credited": "credit_note_value", "services": "services_value"}
        if not self.partner_id.size:
            return pd.DataFrame(columns=list(names.values()), index=pd.Index([], name="partner_id", dtype=np.int64))
        starts = np.flatnonzero(np.r_[True, self.partner_id[1:] != self.partner_id[:-1]])
        sums = {name: np.add.reduceat(getattr(self, f), starts) for f, name in names.items()}
        for money in ("revenue_net", "credit_note_value", "services_value"):
            sums[money] = np.round(sums[money], 4)
        return pd.DataFrame(sums, index=pd.Index(self.partner_id[starts], name="partner_id"))


def _by_day(documents: Documents, query: sa.Select, partners: sa.Select[tuple[int]] | None, cells: sa.FromClause | None, live_only: bool) -> sa.Select:
    """`query` over `documents` narrowed to some partners, to some (partner, day) cells, or to live partners; per partner and day.

    A document without a partner or a date (the sync never writes one, but the columns
    allow it) belongs to no day of anyone's.
    """
    doc, partner = documents.table, SYNCED["partner"]
    query = query.where(doc.c.partner_id.is_not(None), doc.c.date.is_not(None))
    if live_only:
        query = query.join(partner, partner.c.id == doc.c.partner_id).where(partner.c.erp_deleted_at.is_(None))
    if partners is not None:
        query = query.where(doc.c.partner_id.in_(partners))
    if cells is not None:
        query = query.where(sa.tuple_(doc.c.partner_id, doc.c.date).in_(sa.select(cells.c.partner_id, cells.c.day)))
    return query.group_by(doc.c.partner_id, doc.c.date).order_by(doc.c.partner_id, doc.c.date)


def days_query(
    documents: Documents, dialect: str, partners: sa.Select[tuple[int]] | None = None, cells: sa.FromClause | None = None, live_only: bool = False
) -> sa.Select:
    """One row per partner and day of any date: (partner_id, day number, documents, credit notes, net, credited)."""
    doc = documents.table
    query = sa.select(doc.c.partner_id, day_number_sql(doc.c.date, dialect).label("day"), *documents.sums()).where(documents.counted(None))
    return _by_day(documents, query, partners, cells, live_only)


def services_days_query(
    documents: Documents, dialect: str, partners: sa.Select[tuple[int]] | None = None, cells: sa.FromClause | None = None, live_only: bool = False
) -> sa.Select:
    """One row per partner and day with service lines: (partner_id, day number, their net amount)."""
    doc, line, product = documents.table, documents.lines, SYNCED["product"]
    query = (
        sa.select(doc.c.partner_id, day_number_sql(doc.c.date, dialect).label("day"), sa.func.sum(documents.signed(line)))
        .select_from(line)
        .join(doc, doc.c.id == line.c[f"{documents.entity}_id"])
        .join(product, product.c.id == line.c.product_id)
        .where(documents.counted(None), line.c.erp_deleted_at.is_(None), product.c.kind == "service")
    )
    return _by_day(documents, query, partners, cells, live_only)


def rounded_as_numpy(value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """`value` as a float rounded to 4 decimals the way ``np.round(x, 4)`` rounds it: ``rint(x * 10⁴) / 10⁴`` in doubles.

    PostgreSQL's ``round(double precision)`` is ``rint`` (half to even), and a numeric
    cast to double is correctly rounded as Python's ``float(Decimal)`` is, so the
    database gives the very doubles the Python path computes from the same sums.
    """
    scale = sa.literal(10_000.0, sa.Float)
    return sa.func.round(sa.cast(value, sa.Float) * scale, type_=sa.Float) / scale


def day_rows_query(documents: Documents, dialect: str) -> sa.Select:
    """Every day of the `documents` as rows of `crm_partner_day`, with the values `read_days` gives them.

    The day sums and the service lines' sums are the statements `read_days` reads, joined
    on (partner, day) instead of in numpy; a day without service lines has services 0.
    """
    days = days_query(documents, dialect).order_by(None).subquery("days")
    services = services_days_query(documents, dialect).order_by(None).subquery("services")
    partner_id, day, invoices, credit_notes, net, credited = days.c
    service_partner, service_day, service_net = services.c
    return sa.select(
        partner_id,
        sa.literal(EPOCH, sa.Date) + day,
        invoices,
        credit_notes,
        rounded_as_numpy(net),
        rounded_as_numpy(sa.func.coalesce(credited, 0)),
        rounded_as_numpy(sa.func.coalesce(service_net, 0)),
    ).select_from(days.outerjoin(services, sa.and_(service_partner == partner_id, service_day == day)))


def matrix(conn: Connection, query: sa.Select, width: int) -> np.ndarray:
    """The query's rows as one float matrix (None becomes NaN; Decimals floats), read in batches."""
    parts = [np.array(rows, dtype=np.float64).reshape(len(rows), width) for rows in driver_rows(conn, query, BATCH)]
    return np.concatenate(parts) if parts else np.empty((0, width))


def _keys(partner_id: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(partner, day) as one sortable integer: day numbers lie well within ±2**20."""
    return partner_id.astype(np.int64) * 2**21 + (day.astype(np.int64) + 2**20)


def read_days(
    conn: Connection, documents: Documents, partners: sa.Select[tuple[int]] | None = None, cells: sa.FromClause | None = None, live_only: bool = False
) -> DocumentDays:
    """Every day of the `documents` (of the `partners` selected, or the (partner_id, day) `cells`, when given)."""
    narrowing = (partners, cells, live_only)
    days = matrix(conn, days_query(documents, conn.dialect.name, *narrowing), 6)
    services = matrix(conn, services_days_query(documents, conn.dialect.name, *narrowing), 3)
    values = np.column_stack([days[:, 2:6], np.zeros(len(days))])
    if len(services):  # both are sorted by partner and day, and a day with services has documents
        at = np.searchsorted(_keys(days[:, 0], days[:, 1]), _keys(services[:, 0], services[:, 1]))
        values[at, 4] = services[:, 2]
    return DocumentDays.of(days[:, 0], days[:, 1], values)


def read_purchases(conn: Connection, documents: Documents, as_of: dt.date) -> Purchases:
    """Every purchase day up to ``as_of`` of the partners not deleted in the ERP."""
    return read_days(conn, documents, live_only=True).until((as_of - EPOCH).days).purchases()
