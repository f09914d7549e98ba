"""The mission's quantitative data per partner, one GROUP BY statement per source table.

Every figure counts documents dated on or before ``as_of`` and not deleted in the ERP;
drafts and cancelled documents never count. docs/metrics.md defines each figure. The
database does the counting; Python receives one row per partner and table. The revenue,
the services and the purchase days come from the purchase documents per partner and day
(``invoice_days.read_days``, kept in ``partner_days``); so do the invoice counts when the
purchases are invoices, and the "invoices" part here counts them when they are orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics.invoice_days import BATCH
from erp_crm.metrics.purchases import INVOICES, ORDERS
from erp_crm.model.tables.synced import SYNCED

COUNTS = ("quotes", "quotes_converted", "orders", "complaints", "invoices", "credit_notes")
PART_COLUMNS = {
    "quotes": ("quotes", "quotes_converted"),
    "orders": ("orders", "order_value"),
    "complaints": ("complaints",),
    "invoices": ("invoices", "credit_notes", "credit_note_value"),
}
PARTS = tuple(PART_COLUMNS)

QUOTE_STATUSES = ("sent", "accepted", "refused")


def _valid(table: sa.Table, statuses: tuple[str, ...], as_of: dt.date) -> sa.ColumnElement:
    return sa.and_(table.c.status.in_(statuses), table.c.erp_deleted_at.is_(None), table.c.date <= as_of)


def _queries(as_of: dt.date) -> dict[str, tuple[sa.Select, sa.ColumnElement]]:
    """Per part of the figures: (GROUP BY statement, its partner column)."""
    quote, order, ticket, invoice = SYNCED["quote"], SYNCED["order"], SYNCED["ticket"], SYNCED["invoice"]

    # a quote converted has at least one counted order (looked up by the order's quote_id
    # index, so that a few partners' quotes do not read every order)
    ordered = sa.exists().where(order.c.quote_id == quote.c.id, ORDERS.counted(as_of))
    quotes = (
        sa.select(
            quote.c.partner_id,
            sa.func.count().label("quotes"),
            sa.func.count(sa.case((ordered, 1))).label("quotes_converted"),
        )
        .where(_valid(quote, QUOTE_STATUSES, as_of))
        .group_by(quote.c.partner_id)
    )
    orders = (
        sa.select(
            order.c.partner_id,
            sa.func.count().label("orders"),
            sa.func.coalesce(sa.func.sum(order.c.amount_net), 0).label("order_value"),
        )
        .where(ORDERS.counted(as_of))
        .group_by(order.c.partner_id)
    )
    # with purchases from orders, the invoices are counted here (else from the day table)
    documents, credit_notes, _, credited = INVOICES.sums()
    invoices = (
        sa.select(invoice.c.partner_id, documents.label("invoices"), credit_notes.label("credit_notes"), credited.label("credit_note_value"))
        .where(INVOICES.counted(as_of))
        .group_by(invoice.c.partner_id)
    )
    next_day = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    complaints = (
        sa.select(ticket.c.partner_id, sa.func.count().label("complaints"))
        .where(
            ticket.c.category == "complaint",
            ticket.c.erp_deleted_at.is_(None),
            ticket.c.opened_at < next_day,
        )
        .group_by(ticket.c.partner_id)
    )
    return {
        "quotes": (quotes, quote.c.partner_id),
        "orders": (orders, order.c.partner_id),
        "complaints": (complaints, ticket.c.partner_id),
        "invoices": (invoices, invoice.c.partner_id),
    }


def quantitative(
    conn: Connection, as_of: dt.date, partners: sa.Select[tuple[int]] | None = None, parts: Collection[str] = PARTS
) -> pd.DataFrame:
    """The counts and amounts of the parts' columns (``PART_COLUMNS``) per partner id (zero where a partner has none).

    Only partners with at least one counted document appear; ``partners`` (a SELECT of
    ids) restricts the statements to those partners, ``parts`` to some of the parts
    (incremental runs): the frame then has the columns of those parts only.
    """
    columns = [c for name in PARTS if name in parts for c in PART_COLUMNS[name]]
    found: dict[str, list[pd.DataFrame]] = {}
    for query, partner_column in (q for name, q in _queries(as_of).items() if name in parts):
        # a document of no partner (a ticket may be one; the sync writes no such quote, order or invoice) is no one's
        statement = query.where(partner_column.is_not(None) if partners is None else partner_column.in_(partners))
        result = conn.execute(statement, execution_options={"stream_results": True, "yield_per": BATCH})
        names = list(result.keys())
        for rows in result.partitions():
            frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=names)  # tuples: pandas probes Row objects slowly
            found.setdefault(names[1], []).append(frame.set_index("partner_id"))
    frames = [pd.concat(chunk) for chunk in found.values()]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns}, index=pd.Index([], name="partner_id", dtype=np.int64))
    merged = pd.concat(frames, axis=1).reindex(columns=columns).fillna(0)
    merged.index = merged.index.astype(np.int64)
    merged.index.name = "partner_id"
    for column in columns:
        merged[column] = merged[column].astype(np.int64) if column in COUNTS else merged[column].astype(np.float64).round(4)
    return merged.sort_index()
