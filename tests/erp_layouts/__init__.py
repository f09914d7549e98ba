"""Real ERP table layouts for testing the shipped connector definitions.

One module per ERP (`odoo`, `erpnext`, `sap_b1`), each with

- `DIALECT`: the server the ERP runs on (`postgresql`, `mysql`), and for SAP Business One
  the server it is tested on instead of SQL Server;
- `DDL`: the subset of the ERP's real tables and columns that its definition in
  `connectors/` reads, with the real names and compatible types, plus the usual NOT NULL
  standard columns;
- `fill(conn)`: a small deterministic data set (a handful of partners and products, a few
  quotes, orders and invoices with lines, a credit note, documents the definition must
  leave out, a payment, tickets where the ERP has them) returning the `Expected` counts
  per canonical entity after the definition's filters;
- `build(engine)`: `DDL` then `fill`, in one transaction.

The layouts are documented, table by table, in docs/erps.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Expected:
    """What a sync of a filled layout must produce in the overlay."""

    counts: dict[str, int]
    credit_note_key: str  # ERP key of the credit note, as the overlay stores it
    credit_note_total: Decimal  # its amount_total in the overlay: negative
    excluded: dict[str, list[str]] = field(default_factory=dict)  # entity → ERP keys that must not arrive


def insert(conn: sa.Connection, table: str, rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows; table and column names are quoted as the dialect needs (spaces, capitals).

    Rows are grouped by the columns they give, so a column a row leaves out keeps the
    table's default instead of becoming NULL.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for names, group in groups.items():
        target = sa.table(table, *(sa.column(n) for n in names))
        conn.execute(sa.insert(target), group)


def run_ddl(conn: sa.Connection, statements: Iterable[str]) -> None:
    for statement in statements:
        conn.exec_driver_sql(statement)
