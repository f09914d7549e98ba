"""Stage 1 of a metrics run: what each partner's documents add up to, and whose changed.

The aggregates (the quantitative data of `quantitative`, first and last purchase,
purchase days and values, typical gap) depend on nothing but a partner's own documents,
so an incremental run aggregates again only the partners the change feed
(`erp_crm.store.change_feed`) names since the last run, plus those with documents dated
between the last run's date and this one's, and takes everyone else's from the stored
rows. It goes further by parts (`PARTS`): a partner whose only news is a complaint gets
its complaints counted again, not its invoices read again, and one whose own row alone
changed (an address, its customer group) gets no aggregation at all. The invoices part
comes from the partner-day table (`days`), of which only the days the feed names are
counted again from the invoices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics import partner_days, rhythm
from erp_crm.metrics.invoice_days import EPOCH, InvoiceDays, Purchases, read_invoice_days
from erp_crm.metrics.quantitative import PARTS as quantitative_parts
from erp_crm.metrics.quantitative import quantitative
from erp_crm.metrics.summary import rfm_summary
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store import change_feed
from erp_crm.store.idset import id_set

AGGREGATES = (
    "quotes", "orders", "order_value", "invoices", "revenue_net", "services_value", "credit_notes",
    "credit_note_value", "complaints", "quote_conversion", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days",
)  # fmt: skip
COUNT_COLUMNS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days")
ZERO_WHEN_MISSING = COUNT_COLUMNS + ("order_value", "revenue_net", "services_value", "credit_note_value", "purchase_value")
INVOICE_COLUMNS = (
    "invoices", "revenue_net", "services_value", "credit_notes", "credit_note_value", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days",
)  # fmt: skip
DAY_ENTITIES = ("invoice", "invoice_line")  # their changes name the partner's day that changed
# Each part of stage 1: the aggregates it computes, and the entities they are made of.
PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "quotes": (("quotes", "quote_conversion"), ("quote", "order")),
    "orders": (("orders", "order_value"), ("order",)),
    "complaints": (("complaints",), ("ticket",)),
    "invoices": (INVOICE_COLUMNS, (*DAY_ENTITIES, "product")),
}
EVERY_PART = "*"  # the pseudo-entity of partners to aggregate whole (new ones, say)
# A change to any of these in the feed may change a partner's figures.
INPUTS = ("partner", *sorted({e for _, entities in PARTS.values() for e in entities}))


@dataclass
class Changes:
    """Which partners changed, by entity (`EVERY_PART`: in every way), and which of their invoice days."""

    by_entity: dict[str, set[int]] = field(default_factory=dict)
    days: dict[int, set[dt.date] | None] = field(default_factory=dict)  # None: any day may have

    def cells(self) -> tuple[set[tuple[int, dt.date]], set[int]]:
        """The (partner, day) cells of the day table to count again, and the partners to count again whole."""
        whole = {p for p, days in self.days.items() if days is None} | self.by_entity.get(EVERY_PART, set())
        return {(p, d) for p, days in self.days.items() if days is not None and p not in whole for d in days}, whole

    @property
    def partners(self) -> set[int]:
        return set().union(*self.by_entity.values())

    def add(self, entity: str, ids: Iterable[int]) -> None:
        self.by_entity.setdefault(entity, set()).update(ids)

    @property
    def aggregated(self) -> set[int]:
        """The partners of whom some part is aggregated again (not those whose own row alone changed)."""
        return set().union(*(self.of_part(part) for part in PARTS))

    def of_part(self, part: str) -> set[int]:
        """The partners whose `part` must be aggregated again."""
        entities = (*PARTS[part][1], EVERY_PART)
        return set().union(*(self.by_entity.get(e, set()) for e in entities))


def changed_partners(conn: Connection, since: dt.datetime, last_as_of: dt.date, as_of: dt.date) -> Changes | None:
    """Partners whose aggregates may differ from the stored ones, by entity; None: possibly everyone.

    The change feed names those whose documents, lines or own row changed since `since`,
    and the days of their invoices that changed; documents dated after `last_as_of` and up
    to `as_of` start to count in this run (their days are in the day table already).
    """
    entries = change_feed.changed_entries(conn, since, INPUTS)
    if entries is None:
        return None
    result = Changes()
    for entity, partner_id, day in entries:
        result.add(entity, [partner_id])
        if entity in DAY_ENTITIES:
            known = result.days.setdefault(partner_id, set())
            if day is None or known is None:
                result.days[partner_id] = None
            else:
                known.add(day)
    if as_of <= last_as_of:
        return result
    quote, order, ticket = SYNCED["quote"], SYNCED["order"], SYNCED["ticket"]
    start = dt.datetime.combine(last_as_of + dt.timedelta(days=1), dt.time())
    stop = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    for entity in ("quote", "order", "invoice"):
        t = SYNCED[entity]
        result.add(entity, conn.execute(sa.select(t.c.partner_id).where(t.c.date > last_as_of, t.c.date <= as_of).distinct()).scalars())
    result.add("ticket", conn.execute(sa.select(ticket.c.partner_id).where(ticket.c.opened_at >= start, ticket.c.opened_at < stop).distinct()).scalars())
    # an order starting to count changes the conversion rate of its quote's partner
    converted = sa.select(quote.c.partner_id).join(order, order.c.quote_id == quote.c.id).where(order.c.date > last_as_of, order.c.date <= as_of)
    result.add("order", conn.execute(converted.distinct()).scalars())
    for ids in result.by_entity.values():
        ids.discard(None)
    return result


def aggregates(conn: Connection, as_of: dt.date, partners: sa.Select[tuple[int]] | None, days: InvoiceDays | None, parts: Collection[str] = tuple(PARTS)) -> pd.DataFrame:
    """Stage 1 for the partners `partners` selects (all when None): one row per partner with documents.

    The invoices part comes from `days` (their invoice days). With `parts`, only those
    parts' columns (the others are left out).
    """
    columns = [c for part in PARTS if part in parts for c in PARTS[part][0]]
    frames = []
    asked = [p for p in parts if p in quantitative_parts]
    if asked:
        counts = quantitative(conn, as_of, partners, asked)
        if "quotes" in asked:
            quotes = counts["quotes"]
            counts["quote_conversion"] = np.where(quotes > 0, counts["quotes_converted"] / quotes.where(quotes > 0, 1), np.nan)
            counts = counts.drop(columns="quotes_converted")
        frames.append(counts)
    if "invoices" in parts:
        assert days is not None, "the invoices part needs the invoice days"
        counted = days.until((as_of - EPOCH).days)
        frames += [counted.per_partner(), purchase_figures(counted.purchases(), as_of)]
    rest: list[pd.DataFrame | pd.Series] = [*frames[1:]]  # the list type DataFrame.join is declared to take
    frame = frames[0].join(rest, how="outer") if rest else frames[0]
    return frame.reindex(columns=columns)


def everyone(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """Stage 1 for every partner, the day table written anew from the invoices on the way."""
    invoice_days = read_invoice_days(conn)
    partner_days.replace_all(conn, invoice_days)
    return aggregates(conn, as_of, None, invoice_days)


def refreshed(conn: Connection, as_of: dt.date, changed: Changes, stored: pd.DataFrame) -> pd.DataFrame:
    """The changed partners' aggregates: parts whose inputs changed computed again, the rest as `stored`."""
    cells, whole = changed.cells()
    partner_days.recount(conn, cells, whole)
    frame = stored.reindex(sorted(changed.partners), columns=list(AGGREGATES))
    groups: dict[frozenset[int], list[str]] = {}
    for part in PARTS:
        groups.setdefault(frozenset(changed.of_part(part)), []).append(part)
    for members, parts in groups.items():
        if not members:
            continue
        with id_set(conn, members, "erp_crm_part_ids") as ids:
            fresh = aggregates(conn, as_of, ids, partner_days.read(conn, ids) if "invoices" in parts else None, parts)
        rows = sorted(members)
        frame.loc[rows, list(fresh.columns)] = fresh.reindex(rows).to_numpy(np.float64)  # no row: no such documents any more
    return frame


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
