"""Stage 1 of a metrics run: what each partner's documents add up to, and whose changed.

The aggregates (the quantitative data of `quantitative`, first and last purchase,
purchase days and values, typical gap) depend on nothing but a partner's own documents,
so an incremental run aggregates again only the partners the change feed
(`erp_crm.store.change_feed`) names since the last run, plus those with documents dated
between the last run's date and this one's, and takes everyone else's from the stored
rows. It goes further by parts (`parts_of`): a partner whose only news is a complaint
gets its complaints counted again, not its invoices read again, and one whose own row
alone changed (an address, its customer group) gets no aggregation at all. The purchase
part (`DAYS`) comes from the partner-day table (`partner_days`), of which only the days
the feed names are counted again from the purchase documents (`purchases`: invoices, or
orders) and their lines.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics import day_aggregates_sql, partner_days, rhythm
from erp_crm.metrics.invoice_days import DocumentDays, Purchases, read_days
from erp_crm.metrics.progress import AGGREGATING, DAY_TABLE, READING, Progress, silent
from erp_crm.metrics.purchases import Documents
from erp_crm.metrics.quantitative import PART_COLUMNS as QUANTITATIVE_COLUMNS
from erp_crm.metrics.quantitative import PARTS as quantitative_parts
from erp_crm.metrics.quantitative import quantitative
from erp_crm.metrics.summary import EPOCH, rfm_summary
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store import change_feed
from erp_crm.store.idset import id_set

AGGREGATES = (
    "quotes", "orders", "order_value", "invoices", "revenue_net", "services_value", "credit_notes",
    "credit_note_value", "complaints", "quote_conversion", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days", "longest_gap_days",
)  # fmt: skip
COUNT_COLUMNS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days")
ZERO_WHEN_MISSING = COUNT_COLUMNS + ("order_value", "revenue_net", "services_value", "credit_note_value", "purchase_value")
PURCHASE_COLUMNS = (
    "revenue_net", "services_value", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days", "longest_gap_days",
)  # fmt: skip
INVOICE_COUNTS = QUANTITATIVE_COLUMNS["invoices"]
DAYS = "days"  # the part computed from the partner-day table
EVERY_PART = "*"  # the pseudo-entity of partners to aggregate whole (new ones, say)
Parts = dict[str, tuple[tuple[str, ...], tuple[str, ...]]]


@functools.cache
def parts_of(documents: Documents) -> Parts:
    """Each part of stage 1 when purchases are `documents`: the aggregates it computes, and the entities they are made of.

    The day table holds the purchase documents' days. When those are invoices it gives
    the invoice counts too; when they are orders, the invoices are counted apart.
    """
    parts: Parts = {
        "quotes": (("quotes", "quote_conversion"), ("quote", "order")),
        "orders": (("orders", "order_value"), ("order",)),
        "complaints": (("complaints",), ("ticket",)),
    }
    if documents.entity == "invoice":
        parts[DAYS] = (INVOICE_COUNTS + PURCHASE_COLUMNS, (*documents.entities, "product"))
    else:
        parts["invoices"] = (INVOICE_COUNTS, ("invoice",))
        parts[DAYS] = (PURCHASE_COLUMNS, (*documents.entities, "product"))
    return parts


def inputs(documents: Documents) -> tuple[str, ...]:
    """The entities whose changes in the feed may change a partner's figures."""
    return ("partner", *sorted({e for _, entities in parts_of(documents).values() for e in entities}))


@dataclass
class Changes:
    """Which partners changed, by entity (`EVERY_PART`: in every way), and which of their purchase days."""

    documents: Documents  # what a purchase is: it decides the parts and the entities that name days
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
        return set().union(*(self.of_part(part) for part in parts_of(self.documents)))

    def of_part(self, part: str) -> set[int]:
        """The partners whose `part` must be aggregated again."""
        entities = (*parts_of(self.documents)[part][1], EVERY_PART)
        return set().union(*(self.by_entity.get(e, set()) for e in entities))


def changed_partners(conn: Connection, documents: Documents, since: dt.datetime, last_as_of: dt.date, as_of: dt.date) -> Changes | None:
    """Partners whose aggregates may differ from the stored ones, by entity; None: possibly everyone.

    The change feed names those whose documents, lines or own row changed since `since`,
    and the days of their purchase documents that changed; documents dated after
    `last_as_of` and up to `as_of` start to count in this run (their days are in the day
    table already).
    """
    entries = change_feed.changed_entries(conn, since, inputs(documents))
    if entries is None:
        return None
    result = Changes(documents)
    for entity, partner_id, day in entries:
        result.add(entity, [partner_id])
        if entity in documents.entities:
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


def aggregates(
    conn: Connection,
    documents: Documents,
    as_of: dt.date,
    partners: sa.Select[tuple[int]] | None,
    days: DocumentDays | None,
    parts: Collection[str] | None = None,
    *,
    day_part: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Stage 1 for the partners `partners` selects (all when None): one row per partner with documents.

    The purchase part (`DAYS`) comes from `days` (the partners' days of purchase
    `documents`), or is `day_part` when the database computed it
    (`day_aggregates_sql`). With `parts`, only those parts' columns (the others are left out).
    """
    every = parts_of(documents)
    parts = every if parts is None else parts
    columns = [c for part in every if part in parts for c in every[part][0]]
    frames = []
    asked = [p for p in parts if p in quantitative_parts]
    if asked:
        counts = quantitative(conn, as_of, partners, asked)
        if "quotes" in asked:
            quotes = counts["quotes"]
            counts["quote_conversion"] = np.where(quotes > 0, counts["quotes_converted"] / quotes.where(quotes > 0, 1), np.nan)
            counts = counts.drop(columns="quotes_converted")
        frames.append(counts)
    if DAYS in parts:
        if day_part is None:
            assert days is not None, "the purchase part needs the purchase days"
            day_part = python_day_part(days, as_of)
        frames.append(day_part[[c for c in day_part.columns if c in every[DAYS][0]]])
    rest: list[pd.DataFrame | pd.Series] = [*frames[1:]]  # the list type DataFrame.join is declared to take
    frame = frames[0].join(rest, how="outer") if rest else frames[0]
    return frame.reindex(columns=columns)


def python_day_part(days: DocumentDays, as_of: dt.date) -> pd.DataFrame:
    """The purchase part from the partners' `days`, in numpy: their sums, and the figures of their purchase days up to `as_of`."""
    counted = days.until((as_of - EPOCH).days)
    return counted.per_partner().join(purchase_figures(counted.purchases(), as_of), how="outer")


def everyone(
    conn: Connection, documents: Documents, as_of: dt.date, *, in_database: bool = False, progress: Progress = silent
) -> tuple[pd.DataFrame, DocumentDays | None]:
    """Stage 1 for every partner, and every partner's days: the day table written anew from the purchase `documents` on the way.

    `in_database`: PostgreSQL writes the day table and sums it per partner itself
    (`partner_days.replace_all_in_database`, `day_aggregates_sql`), and no partner's
    days are read (None in their place). `progress` hears of each of these steps as it
    begins: on a large base each takes a while.
    """
    if in_database:
        progress(DAY_TABLE, None, None)
        partner_days.replace_all_in_database(conn, documents)
        progress(AGGREGATING, None, None)
        return aggregates(conn, documents, as_of, None, None, day_part=day_aggregates_sql.day_part(conn, as_of)), None
    progress(READING, None, None)
    days = read_days(conn, documents)
    progress(DAY_TABLE, None, None)
    partner_days.replace_all(conn, days)
    progress(AGGREGATING, None, None)
    return aggregates(conn, documents, as_of, None, days), days


def refreshed(conn: Connection, as_of: dt.date, changed: Changes, stored: pd.DataFrame) -> pd.DataFrame:
    """The changed partners' aggregates: parts whose inputs changed computed again, the rest as `stored`."""
    documents = changed.documents
    cells, whole = changed.cells()
    partner_days.recount(conn, documents, cells, whole)
    frame = stored.reindex(sorted(changed.partners), columns=list(AGGREGATES))
    groups: dict[frozenset[int], list[str]] = {}
    for part in parts_of(documents):
        groups.setdefault(frozenset(changed.of_part(part)), []).append(part)
    for members, parts in groups.items():
        if not members:
            continue
        with id_set(conn, members, "erp_crm_part_ids") as ids:
            fresh = aggregates(conn, documents, as_of, ids, partner_days.read(conn, ids) if DAYS in parts else None, parts)
        rows = sorted(members)
        frame.loc[rows, list(fresh.columns)] = fresh.reindex(rows).to_numpy(np.float64)  # no row: no such documents any more
    return frame


def purchase_figures(purchases: Purchases, as_of: dt.date) -> pd.DataFrame:
    """First and last purchase day, purchase days, their value, mean repeat value, typical and longest gap."""
    end = (as_of - EPOCH).days
    summary = rfm_summary(purchases.partner_id, purchases.day, purchases.value, end)
    index = summary.index.astype(np.int64)
    first = end - summary["T"].to_numpy().astype(np.int64)
    frequency = summary["frequency"].to_numpy().astype(np.int64)
    last = first + summary["recency"].to_numpy().astype(np.int64)
    # purchases are sorted by partner: one sum per partner's run of rows
    starts = np.flatnonzero(np.r_[True, purchases.partner_id[1:] != purchases.partner_id[:-1]]) if len(purchases) else np.empty(0, np.int64)
    value = np.round(np.add.reduceat(purchases.value, starts), 4) if len(purchases) else np.empty(0)
    # the mean of the days after the first, from the rounded sum: a float sum of the days' doubles would make it
    # depend on the order they were added in when it falls halfway between two ten-thousandths
    repeat = (value - purchases.value[starts]) / np.maximum(frequency, 1) if len(purchases) else np.empty(0)
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
    frame["longest_gap_days"] = _longest_gaps(purchases, starts)
    return frame


def _longest_gaps(purchases: Purchases, starts: np.ndarray) -> np.ndarray:
    """Each partner's longest gap between purchase days (0 with one purchase day); `starts`: where each partner's rows begin."""
    if not len(purchases):
        return np.empty(0)
    same = purchases.partner_id[1:] == purchases.partner_id[:-1]
    gaps = np.r_[0, np.where(same, np.diff(purchases.day), 0)]
    return np.maximum.reduceat(gaps, starts).astype(np.float64)


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
