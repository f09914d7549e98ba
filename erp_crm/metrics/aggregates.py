"""Stage 1 of a metrics run: what each partner's documents add up to, and whose changed.

The aggregates (the quantitative data of `quantitative`, first and last purchase,
purchase days and values, typical gap) depend on nothing but a partner's own documents,
so an incremental run aggregates again only the partners the change feed
(`erp_crm.model.changes`) names since the last run, plus those with documents dated
between the last run's date and this one's, and takes everyone else's from the stored rows.
"""

from __future__ import annotations

import datetime as dt
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics import rhythm
from erp_crm.metrics.history import EPOCH, Purchases, read_invoice_days
from erp_crm.metrics.quantitative import quantitative
from erp_crm.metrics.summary import rfm_summary
from erp_crm.model import changes
from erp_crm.model.tables import SYNCED

AGGREGATES = (
    "quotes", "orders", "order_value", "invoices", "revenue_net", "services_value", "credit_notes",
    "credit_note_value", "complaints", "quote_conversion", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days",
)  # fmt: skip
COUNT_COLUMNS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days")
ZERO_WHEN_MISSING = COUNT_COLUMNS + ("order_value", "revenue_net", "services_value", "credit_note_value", "purchase_value")
# What the aggregates are made of: a change to any of these in the feed means aggregating again.
INPUTS = ("partner", "quote", "order", "invoice", "invoice_line", "product", "ticket")


def changed_partners(conn: Connection, since: dt.datetime, last_as_of: dt.date, as_of: dt.date) -> set[int] | None:
    """Partners whose aggregates may differ from the stored ones; None: possibly everyone.

    The change feed names those whose documents, lines or own row changed since `since`;
    documents dated after `last_as_of` and up to `as_of` start to count in this run.
    """
    ids = changes.changed_since(conn, since, INPUTS)
    if ids is None or as_of <= last_as_of:
        return ids
    quote, order, invoice, ticket = SYNCED["quote"], SYNCED["order"], SYNCED["invoice"], SYNCED["ticket"]
    start = dt.datetime.combine(last_as_of + dt.timedelta(days=1), dt.time())
    stop = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    selects = [sa.select(t.c.partner_id).where(t.c.date > last_as_of, t.c.date <= as_of) for t in (quote, order, invoice)]
    selects.append(sa.select(ticket.c.partner_id).where(ticket.c.opened_at >= start, ticket.c.opened_at < stop))
    # an order starting to count changes the conversion rate of its quote's partner
    selects.append(sa.select(quote.c.partner_id).join(order, order.c.quote_id == quote.c.id).where(order.c.date > last_as_of, order.c.date <= as_of))
    ids.update(int(r) for r in conn.execute(sa.union(*selects)).scalars() if r is not None)
    return ids


def aggregates(conn: Connection, as_of: dt.date, partners: sa.Select[tuple[int]] | None) -> pd.DataFrame:
    """Stage 1 for the partners `partners` selects (all when None): one row per partner with documents."""
    counts = quantitative(conn, as_of, partners)
    counts["quote_conversion"] = np.where(counts["quotes"] > 0, counts["quotes_converted"] / counts["quotes"].where(counts["quotes"] > 0, 1), np.nan)
    days = read_invoice_days(conn, as_of, partners)
    frame = counts.drop(columns="quotes_converted").join(days.per_partner(), how="outer").join(purchase_figures(days.purchases(), as_of), how="outer")
    return frame.reindex(columns=list(AGGREGATES))


def purchase_figures(purchases: Purchases, as_of: dt.date) -> pd.DataFrame:
    """First and last purchase day, purchase days, their value, mean repeat value, typical gap."""
    end = (as_of - EPOCH).days
    summary = rfm_summary(purchases.partner_id, purchases.day, purchases.value, end)
    index = summary.index.astype(np.int64)
    first = end - summary["T"].to_numpy().astype(np.int64)
    frequency = summary["frequency"].to_numpy().astype(np.int64)
    last = first + summary["recency"].to_numpy().astype(np.int64)
    # purchases are sorted by partner: one sum per partner's run of rows
    starts = np.flatnonzero(np.r_[True, purchases.partner_id[1:] != purchases.partner_id[:-1]]) if len(purchases) else np.empty(0, np.int64)
    value = np.round(np.add.reduceat(purchases.value, starts), 4) if len(purchases) else np.empty(0)
    repeat = summary["monetary_value"].to_numpy()
    frame = pd.DataFrame(
        {
            "first_purchase": first,
            "last_purchase": last,
            "purchase_days": frequency + 1,
            "purchase_value": value,
            "repeat_value": np.where(frequency > 0, np.round(repeat, 4), np.nan),
            "avg_order_value": np.round(value / (frequency + 1), 4),
        },
        index=pd.Index(index, name="partner_id"),
    )
    frame["typical_gap_days"] = typical_gaps(purchases, frame.index)
    return frame


def typical_gaps(purchases: Purchases, index: pd.Index) -> np.ndarray:
    """Each customer's typical gap between purchase days (``rhythm.typical_gaps``), NaN if unknown."""
    if not len(purchases):
        return np.empty(0)
    return rhythm.typical_gaps(purchases.partner_id, purchases.day).reindex(index).to_numpy(dtype=np.float64)


def complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Partners without documents get zero counts; every column gets one dtype (float) whatever its source."""
    frame = frame.copy()
    for column in AGGREGATES:
        values = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        if column in ZERO_WHEN_MISSING:
            values = values.fillna(0.0)
        frame[column] = values
    return frame
