"""A first load's secondary indexes built once at its end rather than row by row (PostgreSQL).

PostgreSQL keeps an index up to date by one tree insert and one WAL record per row, in
the order the rows come; built at the end, an index is one sort. On a million lines the
inserts cost more than the sort: a tenth of the load, most of an invoice load (an
invoice has six indexes). So a first load into a table that holds no row at all (of
any source: nothing reads it yet) drops the table's secondary indexes, and the
entity's pass builds them again once it has read everything. The unique key (source,
ERP key) stays: it is what refuses a key met twice, and what references resolve by.
SQLite gained nothing measurable from this and its page cache grew, so it keeps its
indexes.

A run that dies in between leaves the table without them: every pass starts by
building whatever index of its table is missing (`restore`), so the next run, resumed
or not, puts them back before it writes a row. Until then queries are slower, never
wrong.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def defer(conn: Connection, table: sa.Table) -> bool:
    """Drop `table`'s secondary indexes if it holds no row; whether it did (then `restore` must follow)."""
    if not table.indexes or conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
        return False
    for index in table.indexes:
        index.drop(conn, checkfirst=True)
    return True


def restore(conn: Connection, table: sa.Table) -> None:
    """Build whichever of `table`'s secondary indexes is missing."""
    for index in table.indexes:
        index.create(conn, checkfirst=True)
