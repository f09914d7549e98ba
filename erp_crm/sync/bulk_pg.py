"""A bulk load's batches between two PostgreSQL databases: the ERP's rows copied into a staging table on the overlay.

A PostgreSQL overlay cannot read the ERP's database itself, so each batch is streamed
from one connection to the other: `COPY (SELECT …) TO STDOUT` on the ERP's read-only
connection, its blocks written as they come to `COPY … FROM STDIN` into a temporary
table on the overlay's, in binary (no value is parsed twice, none becomes a Python
object, and no more than one block is held at a time). The staging table's columns
have the ERP's types, and is emptied at every commit or rollback; `bulk.BulkLoad`
then maps it with one INSERT … SELECT, as it maps SQLite's attached ERP.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.abc import Buffer
from sqlalchemy.engine import Connection

from erp_crm.store.overlay import Overlay
from erp_crm.sync.plan import ReadPlan
from erp_crm.sync.source import ErpSource
from erp_crm.sync.sql_mapping import SqlMapping, Untranslated, translate
from erp_crm.sync.sql_mapping_pg import STAGED, PgSql

log = logging.getLogger(__name__)
STAGE = "pg_temp.erp_crm_stage"
PIPED = 256 * 1024  # bytes written to the stage at once


class Staged:
    """The ERP's rows of a batch, copied to `STAGE` in the overlay connection's transaction."""

    schema = ""
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def __init__(self, conn: Connection, erp: ErpSource, mapping: SqlMapping) -> None:
        self.conn = conn
        self.erp = erp
        self.mapping = mapping

    def read(self, conn: Connection, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> tuple[str, dict[str, Any]]:
        query = self.erp.compile(plan.select(where).order_by(None))
        overlay = conn.connection.driver_connection
        assert overlay is not None  # a live connection
        try:
            with (
                self.erp.conn.cursor() as reading,
                overlay.cursor() as writing,
                reading.copy(f"COPY ({query.sql}) TO STDOUT (FORMAT BINARY)", query.params) as rows,
                writing.copy(f"COPY {STAGE} FROM STDIN (FORMAT BINARY)") as stage,
            ):
                _pipe(rows, stage)
        finally:
            self.erp.conn.rollback()  # end the read transaction (and its snapshot), as `ErpSource.rows` does
        return f"SELECT * FROM {STAGE}", {}

    def stamp(self, now: datetime) -> Any:
        return now

    def texts_fit(self, conn: Connection, table: str, texts: list[str], after_id: int) -> bool:
        """Always: PostgreSQL text in a UTF-8 database holds neither NUL nor broken bytes."""
        return True

    def close(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")
        conn.exec_driver_sql("RESET extra_float_digits")
        conn.commit()


def _pipe(rows: psycopg.Copy, stage: psycopg.Copy) -> None:
    """The ERP's COPY data onto the stage's, a few hundred kilobytes at a time (the ERP hands it on one row per block)."""
    held: list[Buffer] = []
    size = 0
    for block in rows:
        held.append(block)
        size += len(block)
        if size >= PIPED:
            stage.write(b"".join(held))
            held.clear()
            size = 0
    if held:
        stage.write(b"".join(held))


def open_staging(overlay: Overlay, erp: ErpSource, plan: ReadPlan) -> Staged | None:
    """The staging of `plan`'s rows, or None where the SQL mapping or the drivers cannot do it (the row path then does it all)."""
    if erp.url is None or erp.url.get_driver_name() != "psycopg" or overlay.engine.url.get_driver_name() != "psycopg":
        return None
    types = _column_types(erp, plan)
    if types is None:
        return None
    try:
        mapping = translate(plan.entity, plan.spec, plan.mapper, PgSql(types))
    except Untranslated as exc:
        log.info("%s: loaded row by row (the SQL mapping does not translate %s)", plan.entity.name, exc)
        return None
    conn = overlay.connect()
    try:
        columns = ", ".join(f"c{i} {STAGED[t]}" for i, t in enumerate(types))
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {STAGE.split('.')[1]} ({columns}) ON COMMIT DELETE ROWS")
        conn.exec_driver_sql("SET extra_float_digits = 1")  # a float's text as Python's repr: the shortest exact digits
        conn.commit()
    except sa.exc.DBAPIError as exc:  # no temporary tables for this role, say: the row path needs none
        conn.close()
        log.info("%s: loaded row by row (no staging table on the overlay: %s)", plan.entity.name, exc.orig)
        return None
    except BaseException:
        conn.close()
        raise
    return Staged(conn, erp, mapping)


def _column_types(erp: ErpSource, plan: ReadPlan) -> list[int] | None:
    """The type OIDs of the columns the plan reads, None unless the ERP's text is UTF-8 (the only text the checks know)."""
    query = erp.compile(plan.select([]).order_by(None).limit(0))
    try:
        with erp.conn.cursor() as cursor:
            cursor.execute("SHOW server_encoding")
            encoding = cursor.fetchone()
            cursor.execute(query.sql, query.params)
            description = cursor.description or []
    except psycopg.Error:
        return None  # the row path meets the same refusal and says what it is
    finally:
        erp.conn.rollback()
    if encoding is None or encoding[0] != "UTF8":
        return None
    return [column.type_code for column in description]
