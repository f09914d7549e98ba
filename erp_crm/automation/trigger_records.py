"""What a template knows of the record that started its enrolment: the `trigger` fields.

A chain on overdue invoices writes "your invoice SZ-2026-0042 of 120 000 Ft was due on
…", a birthday greeting knows the age, a complaint follow-up names the ticket's
subject. Every template gets `trigger` with all of `TRIGGER_FIELDS`, None (or an empty
list) where the occurrence has no such value, so one template renders for any
enrolment, in a preview without a record too, and names outside the list stay out of
reach (the sandbox reads fields by key from the mappings it is given). Each record is
looked up by its id *and* the enrolment's partner, so an occurrence never shows another
partner's document.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.occurrences import Occurrence, parse_occurrence
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.segments import segment_event
from erp_crm.model.tables.synced import SYNCED

TRIGGER_FIELDS = (
    "kind", "number", "date", "status", "currency", "amount_total", "due_date", "days_overdue",
    "valid_until", "products", "subject", "closed_at", "first_purchase", "years",
)  # fmt: skip
MOST_PRODUCTS = 10
_DOCUMENT_FIELDS = ("number", "date", "status", "currency", "amount_total")
_OWN_FIELDS = {"invoice": ("due_date",), "quote": ("valid_until",), "order": ()}


def empty_trigger(kind: str | None = None) -> dict[str, Any]:
    """The `trigger` fields with no record behind them."""
    return dict.fromkeys(TRIGGER_FIELDS) | {"kind": kind, "products": []}


def trigger_context(conn: Connection, partner_id: int, occurrence: str, today: dt.date) -> dict[str, Any]:
    """The `trigger` fields of an enrolment's occurrence, as of `today` (the company's day)."""
    found = parse_occurrence(occurrence)
    if found.kind == "segment":
        event = conn.execute(
            sa.select(segment_event.c.kind, segment_event.c.at).where(segment_event.c.id == found.record_id, segment_event.c.partner_id == partner_id)
        ).first()
        return empty_trigger(event.kind if event else None) | ({"date": event.at.date()} if event else {})
    out = empty_trigger(found.kind)
    if found.entity == "ticket":
        out |= _ticket(conn, partner_id, found)
    elif found.entity is not None:
        out |= _document(conn, partner_id, found, today)
    elif found.kind == "birthday":
        contact = SYNCED["contact"]
        born = conn.execute(sa.select(contact.c.birth_date).where(contact.c.id == found.contact_id, contact.c.partner_id == partner_id)).scalar()
        out |= _years_since(born, found.year)
    elif found.kind == "first_purchase_anniversary":
        first = conn.execute(sa.select(partner_metrics.c.first_purchase).where(partner_metrics.c.partner_id == partner_id)).scalar()
        out |= {"first_purchase": first, **_years_since(first, found.year)}
    return out


def _document(conn: Connection, partner_id: int, found: Occurrence, today: dt.date) -> dict[str, Any]:
    assert found.entity is not None
    table, lines, product = SYNCED[found.entity], SYNCED[f"{found.entity}_line"], SYNCED["product"]
    names = (*_DOCUMENT_FIELDS, *_OWN_FIELDS[found.entity])
    record = conn.execute(sa.select(*(table.c[n] for n in names)).where(table.c.id == found.record_id, table.c.partner_id == partner_id)).first()
    if record is None:
        return {}
    out = dict(record._mapping)
    parent = lines.c[f"{found.entity}_id"]
    named = sa.func.coalesce(product.c.name, lines.c.description)
    query = (
        sa.select(named)
        .select_from(lines.outerjoin(product, product.c.id == lines.c.product_id))
        .where(parent == found.record_id, lines.c.erp_deleted_at.is_(None), named.is_not(None))
        .order_by(lines.c.id)
        .limit(MOST_PRODUCTS)
    )
    out["products"] = list(conn.execute(query).scalars())
    due = out.get("due_date")
    if due is not None:
        out["days_overdue"] = max((today - due).days, 0)
    return out


def _ticket(conn: Connection, partner_id: int, found: Occurrence) -> dict[str, Any]:
    ticket = SYNCED["ticket"]
    record = conn.execute(
        sa.select(ticket.c.number, ticket.c.subject, ticket.c.status, ticket.c.opened_at, ticket.c.closed_at).where(
            ticket.c.id == found.record_id, ticket.c.partner_id == partner_id
        )
    ).first()
    if record is None:
        return {}
    opened = record.opened_at.date() if record.opened_at else None
    return {"number": record.number, "subject": record.subject, "status": record.status, "date": opened, "closed_at": record.closed_at}


def _years_since(start: dt.date | None, year: int | None) -> dict[str, Any]:
    """The day in `year` that is the anniversary of `start` (29 February on 28 February in other years), and the years between."""
    if start is None or year is None or year < start.year or year > dt.MAXYEAR:
        return {}
    day = 28 if start.month == 2 and start.day == 29 and not calendar.isleap(year) else start.day
    return {"date": dt.date(year, start.month, day), "years": year - start.year}
