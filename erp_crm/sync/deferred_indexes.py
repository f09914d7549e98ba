"""A first load's indexes built once at its end rather than row by row (PostgreSQL).

PostgreSQL keeps an index up to date by one tree insert and one WAL record per row, in
the order the rows come; built at the end, an index is one sort. On a million lines the
inserts cost more than the sort: a tenth of the load, most of an invoice load (an
invoice has six indexes). So a first load into a table that holds no row at all (of
any source: nothing reads it yet) drops the table's secondary indexes, and the
entity's pass builds them again once it has read everything. SQLite gained nothing
measurable from this and its page cache grew, so it keeps its indexes.

The unique key (source, ERP key) is what refuses a key met twice, and what the row path
upserts by; kept, it cost a million lines 1.8 s of a 7 s load, against 0.6 s to build
(byte-ordered keys). It is dropped too only where the ERP's own catalog says its key is
unique (`sync.erp_keys`): then no batch can bring a key twice, and the one way a key
can still come twice is a row read again in a later batch because it moved while the
load ran (a line moved to another invoice). Building the key then finds both copies,
and the older one goes: the later read is the ERP as it is, what an upsert would have
kept. A batch that needs the row path gets the key back first (`restore_keys`).

A run that dies in between leaves the table without them: every pass starts by
building whatever index or key of its table is missing (`restore`), so the next run,
resumed or not, puts them back before it writes a row. Until then queries are slower,
never wrong.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import AddConstraint, DropConstraint

log = logging.getLogger(__name__)


def defer(conn: Connection, table: sa.Table, unique_key: bool) -> bool:
    """Drop `table`'s secondary indexes, and its unique key if `unique_key`, if it holds no row; whether it did (then `restore` must follow)."""
    if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
        return False
    for index in table.indexes:
        index.drop(conn, checkfirst=True)
    if unique_key:
        for key in _unique_keys(table):
            conn.execute(DropConstraint(key))
    return bool(table.indexes) or unique_key


def restore(conn: Connection, table: sa.Table) -> None:
    """Build whichever of `table`'s unique keys and secondary indexes is missing (the keys first: the row path needs them)."""
    restore_keys(conn, table)
    for index in table.indexes:
        index.create(conn, checkfirst=True)


def restore_keys(conn: Connection, table: sa.Table) -> None:
    """Build `table`'s unique keys where missing, the older copy of a key met twice deleted first (see the module's docstring)."""
    if conn.dialect.name != "postgresql":  # only PostgreSQL's first load drops them
        return
    names = sa.text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:table AS regclass)")
    present = set(conn.execute(names, {"table": table.name}).scalars())
    for key in _unique_keys(table):
        if key.name in present:
            continue
        try:
            with conn.begin_nested():
                conn.execute(AddConstraint(key))
        except sa.exc.IntegrityError:
            gone = _keep_the_latest(conn, table, [c.name for c in key.columns])
            log.info("%s: %d rows read again after they moved while the first load ran; the later read is kept", table.name, gone)
            conn.execute(AddConstraint(key))


def _unique_keys(table: sa.Table) -> list[sa.UniqueConstraint]:
    return sorted((c for c in table.constraints if isinstance(c, sa.UniqueConstraint)), key=lambda c: str(c.name))


def _keep_the_latest(conn: Connection, table: sa.Table, columns: list[str]) -> int:
    """Delete every row another row of the same key was written after (a higher id); how many."""
    later = sa.alias(table, "later")
    same = sa.and_(*(later.c[c] == table.c[c] for c in columns), later.c.id > table.c.id)
    return conn.execute(sa.delete(table).where(sa.exists().where(same))).rowcount or 0
