"""Random purchase histories for the `bought` and `quoted` predicates, and what they must select, worked out in Python.

`fill` (or `filled_overlay`) writes partners, products (codes and names that look like SQL, LIKE patterns,
long and accented text among them), and for each partner a few invoices, orders and
quotes with lines, in every status, kind and state (deleted documents and lines, lines
without a product, future dates). `expected` answers a predicate from those rows
without SQL, the way docs/filters.md defines it, so a test can compare the database's
answer with it on any overlay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import default_registry, fold_text
from erp_crm.segments.language import parse_filter
from erp_crm.settings.metrics import PurchasesFrom
from erp_crm.store.overlay import Overlay

TODAY = date(2024, 6, 30)
STAMP = datetime(2024, 6, 30, 6, 0)
HOSTILE = [
    "'; DROP TABLE crm_partner; --",
    '" OR 1=1 --',
    "%",
    "_",
    "%' OR name LIKE '%",
    "\\' OR '1'='1",
    "Árvíztűrő tükörfúrógép",
    "ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP",
    "x" * 3000,
    "",
    " ",
    "Csavar\tM8",
    "ő\"' \\ ) OR (1=1",
]
PRODUCTS = [  # code, name, category
    ("CS-100", "Facsavar 4x40", "Csavarok"),
    ("SZ-200", "Csavarhúzó készlet", "Szerszámok"),
    ("SRV-1", "Helyszíni szerelés", "Szolgáltatás"),
    ("%", "Árvíztűrő tükörfúrógép", "Gépek"),
    ("_", "'; DROP TABLE crm_partner; --", "Ékezetes Árú"),
    ("x" * 3000, "%' OR name LIKE '%", None),
    ("DUP", "Facsavar 4x40", "csavarok"),  # the same name under another code
]
STATUSES = {"invoice": ("posted", "paid", "draft", "cancelled", None), "order": ("confirmed", "delivered", "closed", "draft", "cancelled", None)}
STATUSES["quote"] = ("sent", "accepted", "refused", "draft", "cancelled", None)


@dataclass
class Document:
    partner: int
    day: date
    status: str | None
    kind: str | None
    deleted: bool
    lines: list[tuple[int | None, bool]] = field(default_factory=list)  # (product id, deleted)


@dataclass
class History:
    partners: int
    documents: dict[str, list[Document]] = field(default_factory=dict)


def _synced(id_: int, **values: Any) -> dict[str, Any]:
    return {"id": id_, "source": "t", "erp_key": str(id_), "row_hash": "-", "synced_at": STAMP, **values}


def _document(rng: random.Random, entity: str, partner: int) -> Document:
    day = TODAY - timedelta(days=rng.randint(-60, 800))  # some after today
    kind = rng.choice(("invoice", "credit_note", None)) if entity == "invoice" else None
    lines = [(rng.choice([*range(1, len(PRODUCTS) + 1), None]), rng.random() < 0.1) for _ in range(rng.randint(0, 3))]
    return Document(partner, day, rng.choice(STATUSES[entity]), kind, rng.random() < 0.1, lines)


def fill(conn: sa.Connection, partners: int, seed: int) -> History:
    """Write `partners` partners with random documents; return what was written."""
    rng = random.Random(seed)
    t = SYNCED
    conn.execute(t["partner"].insert(), [_synced(p, name=f"Partner {p}") for p in range(1, partners + 1)])
    conn.execute(t["product"].insert(), [_synced(i, code=c, name=n, category=cat) for i, (c, n, cat) in enumerate(PRODUCTS, 1)])
    history = History(partners)
    for entity in ("invoice", "order", "quote"):
        docs = [_document(rng, entity, p) for p in range(1, partners + 1) for _ in range(rng.randint(0, 4))]
        history.documents[entity] = docs
        extra = {"kind": lambda d: d.kind} if entity == "invoice" else {}
        headers = [
            _synced(i, partner_id=d.partner, date=d.day, status=d.status, erp_deleted_at=STAMP if d.deleted else None, **{k: f(d) for k, f in extra.items()})
            for i, d in enumerate(docs, 1)
        ]
        lines = [
            _synced(i * 10 + n, **{f"{entity}_id": i}, product_id=product, erp_deleted_at=STAMP if gone else None)
            for i, d in enumerate(docs, 1)
            for n, (product, gone) in enumerate(d.lines)
        ]
        if headers:
            conn.execute(t[entity].insert(), headers)
        if lines:
            conn.execute(t[f"{entity}_line"].insert(), lines)
    return history


def filled_overlay(url: str, partners: int, seed: int) -> tuple[Overlay, History]:
    """A new overlay at `url` with `partners` partners and their random documents."""
    overlay = Overlay.open(sa.engine.make_url(url), at_head=False)
    overlay.upgrade()
    with overlay.begin() as conn:
        history = fill(conn, partners, seed)
    return overlay, history


def select(source: Any, purchases_from: PurchasesFrom = "invoices") -> sa.Select[Any]:
    """The partners a filter (text or YAML form) selects as of `TODAY`."""
    registry = default_registry(purchases_from=purchases_from)
    return sa.select(registry.partner.c.id).where(compile_filter(parse_filter(source), registry, TODAY))


def _matches(product_id: int | None, product: str | None, category: str | None) -> bool:
    if product_id is None:
        return False
    code, name, cat = PRODUCTS[product_id - 1]
    if product is not None and code != product and fold_text(name) != fold_text(product):
        return False
    return category is None or (cat is not None and fold_text(cat) == fold_text(category))


def _counts(entity: str, d: Document, excluded: tuple[str, ...]) -> bool:
    if d.deleted or d.status in excluded:
        return False
    return not (entity == "invoice" and d.kind == "credit_note")


def expected(history: History, entity: str, excluded: tuple[str, ...], product: str | None = None, category: str | None = None, since: date | None = None) -> set[int]:
    """The partners with a live `entity` document not in an `excluded` status, dated from `since` to today, with a live line of those goods."""
    found = set()
    for d in history.documents[entity]:
        if not _counts(entity, d, excluded) or d.day > TODAY or (since is not None and d.day < since):
            continue
        if (product is None and category is None) or any(not gone and _matches(p, product, category) for p, gone in d.lines):
            found.add(d.partner)
    return found
