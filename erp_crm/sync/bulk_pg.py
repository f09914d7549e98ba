"""A bulk load's batches between two PostgreSQL databases: the ERP's rows copied into a staging table on the overlay.

A PostgreSQL overlay cannot read the ERP's database itself, so each batch is streamed
from one connection to the other: `COPY (SELECT …) TO STDOUT` on a read-only ERP
connection, its blocks written as they come to `COPY … FROM STDIN` into a staging table
on the overlay, in binary (no value is parsed twice, none becomes a Python object, and
no more than one block is held at a time). `bulk.BulkLoad` then maps it with one
INSERT … SELECT, as it maps SQLite's attached ERP.

The copy of a batch and the insert of the one before it run at the same time
(`staging`): a batch's copy took a third of a load, and it is mostly the other servers'
work (the ERP's reading, the overlay's parsing). The copying thread has connections of
its own (an ERP twin, a second overlay connection), so the two staging tables are
regular ones, UNLOGGED (scratch: nothing in them outlives a batch), named after the
copying session's process id; a run that dies leaves its pair behind, and the next one
drops every pair whose session is gone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.abc import Buffer
from sqlalchemy.engine import Connection

from erp_crm.errors import SourceError
from erp_crm.store.overlay import Overlay
from erp_crm.sync.plan import ReadPlan
from erp_crm.sync.source import ErpSource
from erp_crm.sync.sql_mapping import SqlMapping, Untranslated, translate
from erp_crm.sync.sql_mapping_pg import STAGED, PgSql
from erp_crm.sync.staging import TwoTables

log = logging.getLogger(__name__)
PREFIX = "erp_crm_stage_"
PIPED = 256 * 1024  # bytes written to a staging table at once
SAMPLED = 10  # the statistics target of a batch's ANALYZE: 3,000 rows sampled, not 30,000 (see `Stager._copy`)


class Staged:
    """The ERP's rows of a batch, copied to a staging table by `Stager`, the next batch's copy started meanwhile."""

    schema = ""
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)
    defers_indexes = True
    mapped = False

    def __init__(self, conn: Connection, stager: Stager) -> None:
        self.conn = conn
        self.stager = stager
        self.mapping = stager.mapping

    def read(self, conn: Connection, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> str:
        assert self.stager.turns is not None  # made with the stager
        return f"SELECT * FROM {self.stager.turns.take(where)}"

    def ahead(self, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> None:
        assert self.stager.turns is not None
        self.stager.turns.start(where)

    def stamp(self, now: datetime) -> Any:
        return now

    def texts_fit(self) -> bool:
        """Always: PostgreSQL text in a UTF-8 database holds neither NUL nor broken bytes."""
        return True

    def close(self, conn: Connection) -> None:
        """Undo the load's settings, as `Stager.close` does: the connection goes back to the pool."""
        try:
            self.stager.close()
        finally:
            for setting in ("extra_float_digits", "synchronous_commit"):
                conn.exec_driver_sql(f"RESET {setting}")
            conn.commit()


class Stager:
    """Two staging tables on the overlay, filled by turns (`staging.TwoTables`) with connections of their own."""

    def __init__(self, overlay: Overlay, erp: ErpSource, plan: ReadPlan, mapping: SqlMapping, types: list[int]) -> None:
        self.erp = erp
        self.plan = plan
        self.mapping = mapping
        self.conn = overlay.connect()
        self.twin: ErpSource | None = None
        self.turns: TwoTables[Sequence[sa.ColumnElement[bool]], str] | None = None
        try:
            raw = self._raw()
            pid = raw.info.backend_pid
            _drop_abandoned(raw)
            columns = ", ".join(f"c{i} {STAGED[t]}" for i, t in enumerate(types))
            tables = [f"{PREFIX}{pid}_{n}" for n in (0, 1)]
            for table in tables:
                raw.execute(f"CREATE UNLOGGED TABLE {table} ({columns})")
            raw.execute("SET synchronous_commit = off")
            raw.execute(f"SET default_statistics_target = {SAMPLED}")  # see `_copy`
            raw.commit()
            self.turns = TwoTables(tables, self._copy)
            self.twin = erp.twin()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the thread, drop the tables, and give the connection back to the pool as it was taken.

        Its `synchronous_commit = off` must not outlive the load: a pooled connection
        serves the outbox next, whose `sent` marks must survive a crash of the server.
        """
        try:
            if self.turns is not None:
                self.turns.close()
            raw = self._raw()
            raw.rollback()
            for table in self.turns.tables if self.turns is not None else ():
                raw.execute(f"DROP TABLE IF EXISTS {table}")
            raw.execute("RESET synchronous_commit")
            raw.execute("RESET default_statistics_target")
            raw.commit()
        finally:
            try:
                if self.twin is not None:
                    self.twin.close()
            finally:
                self.conn.close()

    def _copy(self, where: Sequence[sa.ColumnElement[bool]], table: str) -> str:
        """Empty `table` and stream the batch's rows into it from the ERP; committed, so the inserting connection sees them.

        The table is analysed too, off the insert's path: knowing a batch's size and how
        many parents its lines name, the planner looks each reference up by its index;
        guessing, it hashed every invoice of the overlay for every batch, which grows
        with the overlay (a 10M-line load ran at 0.20 of the bare read, a 1M one at 0.25).
        A sample of a few thousand rows tells it as much as the default 30,000, which
        cost a million lines a second of the thread's time against 0.2 s.
        """
        assert self.twin is not None  # made at the start
        query = self.erp.compile(self.plan.select(where).order_by(None))
        raw = self._raw()
        try:
            raw.execute(f"TRUNCATE {table}")
            with (
                self.twin.conn.cursor() as reading,
                raw.cursor() as writing,
                reading.copy(f"COPY ({query.sql}) TO STDOUT (FORMAT BINARY)", query.params) as rows,
                writing.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as stage,
            ):
                _pipe(rows, stage)
            raw.execute(f"ANALYZE {table}")  # the plan of the insert: see `_copy`'s docstring
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            self.twin.conn.rollback()  # end the read transaction (and its snapshot), as `ErpSource.rows` does
        return table

    def _raw(self) -> psycopg.Connection[Any]:
        raw = self.conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)  # a live psycopg connection (checked by `open_staging`)
        return raw


def _drop_abandoned(raw: psycopg.Connection[Any]) -> None:
    """Drop the staging tables of runs whose session is gone (killed mid-load): no live run reads them."""
    rows = raw.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
        " AND c.relname LIKE %s",
        (PREFIX.replace("_", r"\_") + "%",),
    ).fetchall()
    live = {row[0] for row in raw.execute("SELECT pid FROM pg_stat_activity").fetchall()}
    for (name,) in rows:
        found = re.fullmatch(rf"{PREFIX}(\d+)_[01]", name)
        if found and int(found.group(1)) not in live:
            raw.execute(f"DROP TABLE IF EXISTS {name}")
    raw.commit()


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
    try:
        stager = Stager(overlay, erp, plan, mapping, types)
    except sa.exc.DBAPIError as exc:  # no right to create tables, say: the row path needs none
        log.info("%s: loaded row by row (no staging table on the overlay: %s)", plan.entity.name, exc.orig)
        return None
    except psycopg.Error as exc:
        log.info("%s: loaded row by row (no staging table on the overlay: %s)", plan.entity.name, exc)
        return None
    except SourceError as exc:  # the ERP allows one session, say: the row path needs no other
        log.info("%s: loaded row by row (no second ERP session for the staging thread: %s)", plan.entity.name, exc)
        return None
    conn = overlay.connect()
    try:
        conn.exec_driver_sql("SET extra_float_digits = 1")  # a float's text as Python's repr: the shortest exact digits
        conn.exec_driver_sql("SET synchronous_commit = off")  # a batch lost with the server is read again: its progress is lost with it
        conn.commit()
    except BaseException:
        conn.close()
        stager.close()
        raise
    return Staged(conn, stager)


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
