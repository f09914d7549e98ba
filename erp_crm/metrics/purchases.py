"""What a purchase is: the documents every purchase figure is made of, and why a run found none.

Most ERPs invoice every sale, and an invoice is what the customer owes, so purchases are
posted or paid invoices by default. Some ERPs keep their sales as orders and invoice
elsewhere (or the connector maps no invoices at all); for them `metrics.purchases_from:
orders` counts confirmed, delivered or closed orders instead. The choice is one
`Documents` value that every purchase figure reads through (the day table, the models,
`revenue_12m`, the `bought` predicate), so the two kinds are counted by the same code.

A run that finds no customer says why (`NoPurchases`): a connector that maps none of the
chosen documents, or an overlay that holds none of them, is a setting to change, not a
company without customers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.sync import sync_state
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import PurchasesFrom


@dataclass(frozen=True)
class Documents:
    """One kind of purchase document: its entity, the statuses that count, and whether credit notes are among them."""

    entity: str  # "invoice" or "order"; its lines are the entity `<entity>_line`
    statuses: tuple[str, ...]
    credit_notes: bool  # invoices carry a kind, credit notes among them; orders do not
    wording: str  # the documents that count, as a sentence names them

    @property
    def table(self) -> sa.Table:
        return SYNCED[self.entity]

    @property
    def lines(self) -> sa.Table:
        return SYNCED[f"{self.entity}_line"]

    @property
    def entities(self) -> tuple[str, str]:
        """The documents and their lines: a change of either in the change feed names the partner's day that changed."""
        return (self.entity, f"{self.entity}_line")

    def credit(self, table: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
        """The credit notes among the documents (orders have none); `table`: an alias of the documents to ask instead."""
        return (self.table if table is None else table).c.kind == "credit_note" if self.credit_notes else sa.false()

    def signed(self, table: sa.Table) -> sa.ColumnElement[Any]:
        """The net amount of `table` (the documents or their lines), credit notes negative whatever sign the ERP stored."""
        amount = sa.func.coalesce(table.c.amount_net, 0)
        return sa.case((self.credit(), -sa.func.abs(amount)), else_=amount) if self.credit_notes else amount

    def counted(self, as_of: dt.date | None, table: sa.FromClause | None = None) -> sa.ColumnElement[bool]:
        """The documents that count: a counted status, not deleted in the ERP, dated by `as_of` (any day: None); `table`: an alias to ask instead."""
        t = self.table if table is None else table
        conditions: list[sa.ColumnElement[bool]] = [t.c.status.in_(self.statuses), t.c.erp_deleted_at.is_(None)]
        if self.credit_notes:  # an empty kind is an invoice; any other kind (a deposit, say) is not a sale
            conditions.append(sa.func.coalesce(t.c.kind, "invoice").in_(("invoice", "credit_note")))
        if as_of is not None:
            conditions.append(t.c.date <= as_of)
        return sa.and_(*conditions)

    def sums(self) -> tuple[sa.ColumnElement[Any], ...]:
        """Aggregates of a group of documents: documents (credit notes not included), credit notes, net, credited (positive)."""
        credit = self.credit()
        return (
            sa.func.count(sa.case((credit, None), else_=1)),
            sa.func.count(sa.case((credit, 1))),
            sa.func.sum(self.signed(self.table)),
            sa.func.sum(sa.case((credit, sa.func.abs(self.table.c.amount_net)), else_=0)),
        )


INVOICES = Documents("invoice", ("posted", "paid"), credit_notes=True, wording="posted or paid invoices")
ORDERS = Documents("order", ("confirmed", "delivered", "closed"), credit_notes=False, wording="confirmed, delivered or closed orders")
PURCHASES: dict[PurchasesFrom, Documents] = {"invoices": INVOICES, "orders": ORDERS}


def _other(kind: PurchasesFrom) -> PurchasesFrom:
    return "orders" if kind == "invoices" else "invoices"


@dataclass(frozen=True)
class NoPurchases:
    """Why there is no purchase to count: what is missing, and how many documents of the other kind there are.

    `missing` completes "no purchases: …"; `others` is None where the other kind is not
    mapped either. `line()` is the one line `metrics compute` and `erp-crm check` print.
    """

    counted: PurchasesFrom  # what metrics.purchases_from counts
    missing: str
    others: int | None

    def line(self) -> str:
        other = _other(self.counted)
        if self.others:
            advice = f"there are {self.others:,} {other}: to count them as purchases, set metrics.purchases_from: {other} (docs/metrics.md)"
        else:
            advice = f"if the ERP keeps its sales as {other}, map them in the connector and set metrics.purchases_from: {other} (docs/connectors.md)"
        return f"no purchases (metrics.purchases_from: {self.counted}): {self.missing}; {advice}"

    def as_dict(self) -> dict[str, Any]:
        return {"purchases_from": self.counted, "missing": self.missing, "others": self.others, "message": self.line()}


def in_overlay(conn: Connection, kind: PurchasesFrom, as_of: dt.date) -> NoPurchases | None:
    """Why the overlay holds no purchase of `kind` up to `as_of`; None when it holds some."""
    found = {k: conn.execute(sa.select(sa.func.count()).select_from(d.table).where(d.counted(as_of))).scalar_one() for k, d in PURCHASES.items()}
    if found[kind]:
        return None
    synced = set(conn.execute(sa.select(sync_state.c.entity).distinct()).scalars())
    documents = PURCHASES[kind]
    if not synced:
        missing = "nothing has been synced yet (erp-crm sync)"
    elif documents.entity not in synced:
        missing = f"the connector maps no {kind} (erp-crm sync never read any)"
    else:
        missing = f"the overlay holds no {documents.wording} dated on or before {as_of.isoformat()}"
    other = _other(kind)
    return NoPurchases(kind, missing, found[other] if PURCHASES[other].entity in synced else None)


def in_connector(rows: dict[str, int | None], kind: PurchasesFrom) -> NoPurchases | None:
    """Why the ERP offers no purchase of `kind`, from the rows each mapped entity passes (None: its check failed)."""
    entity, other = PURCHASES[kind].entity, PURCHASES[_other(kind)].entity
    if entity not in rows:
        missing = f"the connector maps no {kind}"
    elif rows[entity] == 0:
        missing = f"no ERP row passes the connector's {entity} entity"
    else:
        return None
    return NoPurchases(kind, missing, rows.get(other))
