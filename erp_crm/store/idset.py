"""Sets of ids (or of id and day pairs) as temporary tables, for statements about "these partners".

An incremental run asks several questions about the same few thousand partners. Bound
as parameters, each question would need the ids again, cut into chunks below every
database's parameter limit; in a temporary table they are written once, and each
statement says `partner_id IN (SELECT id FROM …)`, which both SQLite and PostgreSQL plan
as a lookup per id through the column's index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@contextmanager
def temporary_table(conn: Connection, name: str, columns: list[sa.Column], rows: list[dict[str, object]]) -> Iterator[sa.Table]:
    """Within the block, a temporary table on `conn` holding `rows`, dropped afterwards.

    A pooled connection of a long-lived process (the scheduler, a worker) may still hold
    the table from a block whose transaction was rolled back after its drop (SQLite's
    driver commits a CREATE at once, but a DROP inside a transaction goes with it), so a
    table left over is dropped first rather than failing every later run on that connection.
    """
    table = sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.drop(conn, checkfirst=True)
    table.create(conn)
    try:
        if rows:
            conn.execute(table.insert(), rows)
        yield table
    finally:
        table.drop(conn)


@contextmanager
def id_set(conn: Connection, ids: Iterable[int], name: str = "erp_crm_ids") -> Iterator[sa.Select[tuple[int]]]:
    """Within the block, a SELECT of `ids` from a temporary table."""
    column = sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)
    with temporary_table(conn, name, [column], [{"id": int(i)} for i in sorted(set(ids))]) as table:
        yield sa.select(table.c.id)


@contextmanager
def day_set(conn: Connection, cells: Iterable[tuple[int, dt.date]], name: str = "erp_crm_days") -> Iterator[sa.Table]:
    """Within the block, a temporary table of (partner_id, day) pairs."""
    columns: list[sa.Column[Any]] = [sa.Column("partner_id", sa.Integer, primary_key=True, autoincrement=False), sa.Column("day", sa.Date, primary_key=True)]
    with temporary_table(conn, name, columns, [{"partner_id": int(p), "day": d} for p, d in sorted(set(cells))]) as table:
        yield table
