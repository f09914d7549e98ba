"""Chains triggered by ERP records and dates: first purchase, every purchase, an invoice overdue, a quote not ordered, a complaint closed, a birthday, a first-purchase anniversary.

Every one of them is a record whose *trigger day* (its date plus the chain's `days`, in
the company's time zone) has come. The tick looks at the days from the one after the
chain's watermark (`crm_chain.days_seen`) up to today, through indexes on those dates,
in pages, so its cost follows the records of the new days, never a whole ERP table;
a tick that did not run for days catches up on all of them.

- **Look-back.** Document triggers look at three more days before that
  (`LOOK_BACK_DAYS`): a row the sync brought late, or a status corrected late, still
  counts. A chain's first look starts today minus that grace, so a chain published
  today never enrols years of old invoices. Birthdays and anniversaries take no grace
  and a week at most of catching up (`LATEST_GREETING_DAYS`): a greeting weeks late is
  not sent.
- **Once only.** The occurrence names the record (erp_crm/automation/occurrences.py);
  a record's occurrence the chain had in any version is never enrolled again, and the
  unique (version, partner, occurrence) constraint holds within a version against races.
  A first purchase is one per partner, whatever its document.
- **Birthdays** on 29 February are kept on 28 February in other years.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.chain_definition import DATES, Trigger
from erp_crm.automation.chain_store import Enrolled, Published, enrol_from_events, enrol_occurrences
from erp_crm.automation.occurrences import document_prefix
from erp_crm.metrics.purchases import PURCHASES
from erp_crm.model.tables.chains import chain, enrolment
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.segments import segment_event
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import PurchasesFrom

LOOK_BACK_DAYS = 3
LATEST_GREETING_DAYS = 7
OLDEST_BIRTHDAY_YEARS = 120  # birth dates further back are not looked up
OLDEST_ANNIVERSARY_YEARS = 100
_PAGE = 1000
_OPEN_QUOTE_UNLESS = ("draft", "accepted", "refused", "cancelled")

Found = list[tuple[int, str]]  # (partner id, occurrence)


def enrol_from_triggers(conn: Connection, published: Published, now: dt.datetime, zone: ZoneInfo, purchases_from: PurchasesFrom) -> Enrolled:
    """Enrol from the chain's trigger: segment events, or the ERP records and dates of the days not yet looked at."""
    if not published.chain.trigger.on_records:  # a later version on records starts from its own first day, not from this one's
        conn.execute(sa.update(chain).where(chain.c.id == published.chain_id, chain.c.days_seen.is_not(None)).values(days_seen=None))
        return enrol_from_events(conn, published, now)
    today = local_day(now, zone)
    trigger = published.chain.trigger
    seen = conn.execute(sa.select(chain.c.days_seen).where(chain.c.id == published.chain_id)).scalar()
    start = min(seen + dt.timedelta(days=1), today) if seen is not None else today
    if trigger.kind in DATES:
        start = max(start, today - dt.timedelta(days=LATEST_GREETING_DAYS))
    else:
        start -= dt.timedelta(days=LOOK_BACK_DAYS)
    report = Enrolled()
    for found in _FINDERS[trigger.kind](conn, published.chain_id, trigger, start, today, purchases_from):
        report.add(enrol_occurrences(conn, published, found, now))
    newest_event = sa.select(sa.func.coalesce(sa.func.max(segment_event.c.id), 0)).scalar_subquery()
    # the segment events of these days are not this trigger's: a later version on a segment starts after them
    conn.execute(sa.update(chain).where(chain.c.id == published.chain_id).values(days_seen=today, events_seen=newest_event))
    return report


def local_day(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The company's day at `now` (UTC, as the tick keeps it)."""
    return now.replace(tzinfo=dt.UTC).astimezone(zone).date()


def _new(chain_id: int, partner_id: sa.ColumnElement[int], occurrence: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The occurrence was never enrolled in the chain, in any version (the index on chain and partner finds it)."""
    e = enrolment.c
    return ~sa.exists().where(e.chain_id == chain_id, e.partner_id == partner_id, e.occurrence == occurrence)


def _pages(conn: Connection, query: sa.Select[Any], key: sa.ColumnElement[int]) -> Iterator[Found]:
    """The (partner, occurrence) rows of `query` (selecting key, partner, occurrence), a page at a time in key order."""
    last = 0
    while True:
        rows = conn.execute(query.where(key > last).order_by(key).limit(_PAGE)).all()
        if not rows:
            return
        yield [(row[1], row[2]) for row in rows]
        last = int(rows[-1][0])


def _live(table: sa.Table) -> sa.ColumnElement[bool]:
    """The row and its partner still in the ERP."""
    partner = SYNCED["partner"]
    return sa.and_(table.c.erp_deleted_at.is_(None), sa.exists().where(partner.c.id == table.c.partner_id, partner.c.erp_deleted_at.is_(None)))


def _occurrence(prefix: str, record_id: sa.ColumnElement[int], suffix: str = "") -> sa.ColumnElement[str]:
    text = sa.literal(prefix, sa.String) + sa.cast(record_id, sa.String)
    return text + sa.literal(suffix, sa.String) if suffix else text


def _between(start: dt.date, today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The record dates whose trigger day (date + days) falls from `start` to `today`."""
    return start - dt.timedelta(days=days), today - dt.timedelta(days=days)


def _overdue_invoices(conn: Connection, chain_id: int, trigger: Trigger, start: dt.date, today: dt.date, _: PurchasesFrom) -> Iterator[Found]:
    inv = SYNCED["invoice"]
    first, last = _between(start, today, trigger.days)
    occurrence = _occurrence(document_prefix(trigger.kind, "invoice"), inv.c.id)
    query = sa.select(inv.c.id, inv.c.partner_id, occurrence).where(
        inv.c.due_date.between(first, last),
        inv.c.status == "posted",
        sa.func.coalesce(inv.c.kind, "invoice") == "invoice",
        _live(inv),
        _new(chain_id, inv.c.partner_id, occurrence),
    )
    return _pages(conn, query, inv.c.id)


def _quotes_not_ordered(conn: Connection, chain_id: int, trigger: Trigger, start: dt.date, today: dt.date, _: PurchasesFrom) -> Iterator[Found]:
    quote, order = SYNCED["quote"], SYNCED["order"]
    first, last = _between(start, today, trigger.days)
    occurrence = _occurrence(document_prefix(trigger.kind, "quote"), quote.c.id)
    ordered = sa.exists().where(order.c.quote_id == quote.c.id, sa.func.coalesce(order.c.status, "") != "cancelled", order.c.erp_deleted_at.is_(None))
    query = sa.select(quote.c.id, quote.c.partner_id, occurrence).where(
        quote.c.date.between(first, last),
        sa.func.coalesce(quote.c.status, "sent").not_in(_OPEN_QUOTE_UNLESS),
        ~ordered,
        _live(quote),
        _new(chain_id, quote.c.partner_id, occurrence),
    )
    return _pages(conn, query, quote.c.id)


def _complaints_closed(conn: Connection, chain_id: int, trigger: Trigger, start: dt.date, today: dt.date, _: PurchasesFrom) -> Iterator[Found]:
    """Tickets closed on the days (their `closed_at` as the ERP keeps it: the company's local time)."""
    ticket = SYNCED["ticket"]
    first, last = _between(start, today, trigger.days)
    occurrence = _occurrence(document_prefix(trigger.kind, "ticket"), ticket.c.id)
    query = sa.select(ticket.c.id, ticket.c.partner_id, occurrence).where(
        ticket.c.closed_at >= dt.datetime.combine(first, dt.time()),
        ticket.c.closed_at < dt.datetime.combine(last + dt.timedelta(days=1), dt.time()),
        ticket.c.status == "closed",
        ticket.c.category == "complaint",
        _live(ticket),
        _new(chain_id, ticket.c.partner_id, occurrence),
    )
    return _pages(conn, query, ticket.c.id)


def _purchases(conn: Connection, chain_id: int, trigger: Trigger, start: dt.date, today: dt.date, purchases_from: PurchasesFrom) -> Iterator[Found]:
    """Purchase documents (as `metrics.purchases_from` counts them) dated on the days; for first_purchase, only a partner's first."""
    documents = PURCHASES[purchases_from]
    doc = documents.table
    occurrence = _occurrence(document_prefix(trigger.kind, documents.entity), doc.c.id)
    conditions = [doc.c.date.between(start, today), documents.counted(None), sa.not_(documents.credit()), _live(doc)]
    if trigger.kind == "first_purchase":
        earlier = doc.alias("earlier")
        e = enrolment.c
        conditions += [
            ~sa.exists().where(
                earlier.c.partner_id == doc.c.partner_id,
                sa.or_(earlier.c.date < doc.c.date, sa.and_(earlier.c.date == doc.c.date, earlier.c.id < doc.c.id)),
                documents.counted(None, earlier),
                sa.not_(documents.credit(earlier)),
            ),
            ~sa.exists().where(e.chain_id == chain_id, e.partner_id == doc.c.partner_id, e.occurrence.startswith("first_purchase:", autoescape=True)),
        ]
    else:
        conditions.append(_new(chain_id, doc.c.partner_id, occurrence))
    return _pages(conn, sa.select(doc.c.id, doc.c.partner_id, occurrence).where(*conditions), doc.c.id)


def same_day_in_years(day: dt.date, years: range) -> list[dt.date]:
    """The dates in `years` that have their birthday or anniversary on `day`; 29 February counts on 28 February in other years."""
    out = [day.replace(year=year) for year in years if not (day.month == 2 and day.day == 29 and not calendar.isleap(year))]
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        out += [dt.date(year, 2, 29) for year in years if calendar.isleap(year)]
    return out


def _days(start: dt.date, today: dt.date) -> Iterator[dt.date]:
    for n in range((today - start).days + 1):
        yield start + dt.timedelta(days=n)


def _birthdays(conn: Connection, chain_id: int, trigger: Trigger, start: dt.date, today: dt.date, _: PurchasesFrom) -> Iterator[Found]:
    """Active contacts whose birthday is on one of the days: one occurrence per contact and year."""
    contact = SYNCED["contact"]
    for day in _days(start, today):
        occurrence = _occurrence("birthday:", contact.c.id, f":{day.year:04d}")
        born = same_day_in_years(day, range(max(day.year - OLDEST_BIRTHDAY_YEARS, 1), day.year + 1))
        query = sa.select(contact.c.id, contact.c.partner_id, occurrence).where(
            contact.c.birth_date.in_(born),
            sa.func.coalesce(contact.c.active, sa.true()),
            _live(contact),
            _new(chain_id, contact.c.partner_id, occurrence),
        )
        yield from _pages(conn, query, contact.c.id)


def _anniversaries(conn: Connection, chain_id: int, trigger: Trigger, start: dt.date, today: dt.date, _: PurchasesFrom) -> Iterator[Found]:
    """Partners whose first purchase (as the last metrics run found it) was one or more whole years before one of the days."""
    m = partner_metrics
    for day in _days(start, today):
        occurrence = sa.literal(f"anniversary:{day.year:04d}", sa.String)
        first = same_day_in_years(day, range(max(day.year - OLDEST_ANNIVERSARY_YEARS, 1), day.year))
        query = sa.select(m.c.partner_id, m.c.partner_id, occurrence).where(
            m.c.first_purchase.in_(first),
            sa.exists().where(SYNCED["partner"].c.id == m.c.partner_id, SYNCED["partner"].c.erp_deleted_at.is_(None)),
            _new(chain_id, m.c.partner_id, occurrence),
        )
        yield from _pages(conn, query, m.c.partner_id)


_FINDERS: dict[str, Callable[[Connection, int, Trigger, dt.date, dt.date, PurchasesFrom], Iterator[Found]]] = {
    "invoice_overdue": _overdue_invoices,
    "quote_not_ordered": _quotes_not_ordered,
    "complaint_closed": _complaints_closed,
    "purchase": _purchases,
    "first_purchase": _purchases,
    "birthday": _birthdays,
    "first_purchase_anniversary": _anniversaries,
}
