"""A set of ids as a temporary table, for statements about "these partners".

An incremental run asks several questions about the same few thousand partners. Bound
as parameters, each question would need the ids again, cut into chunks below every
database's parameter limit; in a temporary table they are written once, and each
statement says `partner_id IN (SELECT id FROM …)`, which both SQLite and PostgreSQL plan
as a lookup per id through the column's index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@contextmanager
def id_set(conn: Connection, ids: Iterable[int], name: str = "erp_crm_ids") -> Iterator[sa.Select[tuple[int]]]:
    """Within the block, a SELECT of `ids` from a temporary table on `conn`, dropped afterwards."""
    table = sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=False), prefixes=["TEMPORARY"])
    table.create(conn)
    try:
        rows = [{"id": int(i)} for i in sorted(set(ids))]
        if rows:
            conn.execute(table.insert(), rows)
        yield sa.select(table.c.id)
    finally:
        table.drop(conn)
