"""The canonical entities every connector maps its ERP onto.

This list is the contract between connector definitions (which say where each field
comes from in one ERP) and everything downstream (metrics, segments, panels), which
only ever sees these names.  The overlay tables are generated from it, so a field
added here is a field the sync can fill, the migration can create and a definition
can map, all at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Kind(str, Enum):
    """Value kinds; the sync converts and validates ERP values into these."""

    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    ref: str | None = None  # canonical entity this field points at (by ERP key)
    choices: tuple[str, ...] = ()  # allowed canonical values after value maps
    doc: str = ""


@dataclass(frozen=True)
class Entity:
    name: str
    table: str
    fields: tuple[Field, ...]
    parent: str | None = None  # line entities: the document they belong to
    doc: str = ""
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def refs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.ref)

    @property
    def parent_field(self) -> Field | None:
        return next((f for f in self.fields if f.ref == self.parent), None) if self.parent else None


T, I, D, B, DT, TS = Kind.TEXT, Kind.INT, Kind.DECIMAL, Kind.BOOL, Kind.DATE, Kind.DATETIME  # noqa: E741 (short kind names keep the entity table readable)

QUOTE_STATUSES = ("draft", "sent", "accepted", "refused", "cancelled")
ORDER_STATUSES = ("draft", "confirmed", "delivered", "closed", "cancelled")
INVOICE_STATUSES = ("draft", "posted", "paid", "cancelled")
TICKET_STATUSES = ("open", "in_progress", "closed")


def _document(name: str, table: str, statuses: tuple[str, ...], extra: tuple[Field, ...], doc: str) -> Entity:
    """Quotes, orders and invoices share their header shape."""
    return Entity(
        name,
        table,
        (
            Field("number", doc="the document number people see"),
            Field("partner", required=True, ref="partner"),
            Field("salesperson", ref="user"),
            Field("date", DT, required=True),
            Field("status", choices=statuses),
            Field("currency"),
            Field("amount_net", D),
            Field("amount_tax", D),
            Field("amount_total", D),
        )
        + extra,
        doc=doc,
    )


def _lines(name: str, table: str, parent: str, doc: str) -> Entity:
    """Quote, order and invoice lines share their shape."""
    return Entity(
        name,
        table,
        (
            Field(parent, required=True, ref=parent),
            Field("product", ref="product"),
            Field("description"),
            Field("quantity", D),
            Field("unit_price", D),
            Field("discount_pct", D),
            Field("amount_net", D),
        ),
        parent=parent,
        doc=doc,
    )


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "user",
        "crm_user",
        (Field("login"), Field("name"), Field("email"), Field("active", B)),
        doc="ERP users who own customers and documents (salespeople)",
    ),
    Entity(
        "partner",
        "crm_partner",
        (
            Field("name", required=True),
            Field("kind", choices=("company", "person")),
            Field("is_customer", B),
            Field("is_prospect", B),
            Field("is_supplier", B),
            Field("customer_group", doc="the ERP's customer category, for per-group rules"),
            Field("tax_number", doc="Hungarian adószám 12345678-1-12 or foreign VAT id"),
            Field("eu_vat_number"),
            Field("registration_number", doc="cégjegyzékszám"),
            Field("email"),
            Field("phone"),
            Field("mobile"),
            Field("website"),
            Field("street"),
            Field("zip"),
            Field("city"),
            Field("country"),
            Field("lang"),
            Field("salesperson", ref="user"),
            Field("industry"),
            Field("size_class"),
            Field("credit_limit", D),
            Field("active", B),
            Field("created_at", TS),
        ),
        doc="organisations and people: customers past, present and potential",
    ),
    Entity(
        "contact",
        "crm_contact",
        (
            Field("partner", ref="partner"),
            Field("first_name"),
            Field("last_name"),
            Field("name"),
            Field("job_title"),
            Field("email"),
            Field("phone"),
            Field("mobile"),
            Field("gender", choices=("female", "male", "other")),
            Field("birth_date", DT),
            Field("active", B),
        ),
        doc="people at a partner",
    ),
    Entity(
        "product",
        "crm_product",
        (
            Field("code"),
            Field("name", required=True),
            Field("kind", choices=("goods", "service")),
            Field("category"),
            Field("unit_price", D),
            Field("active", B),
        ),
        doc="goods and services",
    ),
    _document("quote", "crm_quote", QUOTE_STATUSES, (Field("valid_until", DT),), "offers (árajánlat)"),
    _lines("quote_line", "crm_quote_line", "quote", "lines of quotes"),
    _document("order", "crm_order", ORDER_STATUSES, (Field("quote", ref="quote"),), "customer orders"),
    _lines("order_line", "crm_order_line", "order", "lines of orders"),
    _document(
        "invoice",
        "crm_invoice",
        INVOICE_STATUSES,
        (
            Field("kind", choices=("invoice", "credit_note")),
            Field("order", ref="order"),
            Field("due_date", DT),
        ),
        "invoices and credit notes; credit notes carry negative amounts",
    ),
    _lines("invoice_line", "crm_invoice_line", "invoice", "lines of invoices and credit notes"),
    Entity(
        "payment",
        "crm_payment",
        (
            Field("partner", required=True, ref="partner"),
            Field("invoice", ref="invoice"),
            Field("date", DT, required=True),
            Field("amount", D),
            Field("currency"),
            Field("method"),
        ),
        doc="money received",
    ),
    Entity(
        "ticket",
        "crm_ticket",
        (
            Field("number"),
            Field("partner", ref="partner"),
            Field("subject"),
            Field("category", choices=("complaint", "question", "request", "other")),
            Field("severity"),
            Field("status", choices=TICKET_STATUSES),
            Field("opened_at", TS),
            Field("closed_at", TS),
        ),
        doc="complaints, questions and requests",
    ),
)

BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}
SYNC_ORDER: tuple[str, ...] = tuple(e.name for e in ENTITIES)
