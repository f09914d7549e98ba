"""A bulk load's batches between two SQLite files: the ERP's rows mapped into a staging file by a thread of their own.

SQLite writes with one core, and a batch's statement did two things on it: read and map
the ERP's rows (the tests and conversions of `sql_mapping`), then resolve references
and write them into the overlay. The first half needs nothing of the overlay, so it is
done ahead, one batch early, on a connection of its own that has the ERP's file
attached read-only (`mode=ro`: it can no more write there than the ERP connection can)
and a scratch file of its own as its main database: two staging tables there receive
the mapped rows (`staging.TwoTables`), checked for NUL and broken bytes on the way
(`sql_mapping.text_check`), while the overlay's connection, with the scratch file
attached, inserts the batch before from the other table. The two connections never
wait for each other: neither writes the other's file, and the scratch file is in WAL
mode, so a table is read while its twin is written. SQLite releases Python's lock while
it works, so the two halves run on two cores.

The scratch file lives in a temporary folder removed when the load ends; nothing in it
outlives a batch, so it is never synced to disk.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import URL, Connection
from sqlalchemy.sql.compiler import SQLCompiler

from erp_crm.sync.connection import read_only_uri
from erp_crm.sync.plan import ReadPlan
from erp_crm.sync.source import concat
from erp_crm.sync.sql_mapping import SqlMapping, text_check
from erp_crm.sync.staging import TwoTables

log = logging.getLogger(__name__)
ALIAS = "erp_crm_erp"  # the ERP's file, attached to the staging connection
STAGE = "erp_crm_stage"  # the staging file, attached to the overlay's connection
TEXT_CHECK = "erp_crm_text_check"
_NAMED = SQLiteDialect(paramstyle="named")
Mapped = tuple[str, bool]  # a staging table, and whether its text holds what the mapper would store


class ParameterClash(Exception):
    """A definition's `:param` named as one of the mapping's: one statement cannot bind both, so the row path reads the batch."""


class StagedFile:
    """The overlay's side: each batch's mapped rows read from the staging file (`Stager`)."""

    schema = "main."
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, ParameterClash)  # the staging thread's, raised as they are
    defers_indexes = False
    mapped = True

    def __init__(self, conn: Connection, stager: Stager) -> None:
        self.stager = stager
        self.fits = False
        raw = conn.connection.driver_connection
        assert raw is not None  # a live connection
        raw.execute(f"ATTACH DATABASE ? AS {STAGE}", (str(stager.path),))

    def read(self, conn: Connection, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> str:
        assert self.stager.turns is not None  # made with the stager
        table, self.fits = self.stager.turns.take(where)
        return f"SELECT * FROM {STAGE}.{table}"

    def ahead(self, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> None:
        assert self.stager.turns is not None
        self.stager.turns.start(where)

    def stamp(self, now: datetime) -> Any:
        return now.isoformat(" ")

    def texts_fit(self) -> bool:
        """As the staging connection found the batch's text (`Stager._map`)."""
        return self.fits

    def close(self, conn: Connection) -> None:
        try:
            self.stager.close()
        finally:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute(f"DETACH DATABASE {STAGE}")


class Stager:
    """The staging file's connection, the ERP attached to it, and the thread that maps batches into its two tables."""

    def __init__(self, url: URL, plan: ReadPlan, mapping: SqlMapping) -> None:
        self.plan = plan
        self.mapping = mapping
        self.folder = Path(tempfile.mkdtemp(prefix="erp-crm-stage-"))
        self.path = self.folder / "stage.sqlite"
        self.turns: TwoTables[Sequence[sa.ColumnElement[bool]], Mapped] | None = None
        # made here, used by the staging thread alone (and closed here once it has stopped)
        try:
            self.raw = sqlite3.connect(f"file:{quote(str(self.path))}", uri=True, isolation_level=None, check_same_thread=False)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        try:
            self.raw.execute("PRAGMA journal_mode=WAL")  # the overlay reads one table while the other is written
            self.raw.execute("PRAGMA synchronous=OFF")  # scratch: a batch is read again if the machine dies
            names = ", ".join(item.rsplit(" AS ", 1)[1] for item in mapping.inner)
            for table in ("erp_crm_slot_0", "erp_crm_slot_1"):
                self.raw.execute(f"CREATE TABLE {table} ({names})")  # no types: values stay as the mapping made them
            self.attached = _attach(self.raw, url)
            self.raw.create_function("concat", -1, concat, deterministic=True)
            self.raw.create_function(TEXT_CHECK, -1, text_check, deterministic=True)
            checked = ["k", *(value.removeprefix("m.") for value in mapping.texts)]
            self.check = f"SELECT {TEXT_CHECK}({', '.join(f'group_concat({c}, char(10))' for c in checked)}) FROM {{}}"
            self.turns = TwoTables(["erp_crm_slot_0", "erp_crm_slot_1"], self._map)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            if self.turns is not None:
                self.turns.close()
        finally:
            self.raw.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def _map(self, where: Sequence[sa.ColumnElement[bool]], table: str) -> Mapped:
        """Empty `table` and write the batch's rows into it as the mapping makes them; committed, so the overlay sees them."""
        compiled = self.plan.select(where).order_by(None).compile(dialect=_NAMED, compile_kwargs={"render_postcompile": True})
        assert isinstance(compiled, SQLCompiler)  # a query: it has bound parameters
        sql, params = str(compiled), dict(compiled.construct_params())
        if params.keys() & self.mapping.params.keys():
            raise ParameterClash(", ".join(sorted(params.keys() & self.mapping.params.keys())))
        self.raw.execute("BEGIN")
        try:
            self.raw.execute(f"DELETE FROM {table}")
            self.raw.execute(f"INSERT INTO {table} SELECT {', '.join(self.mapping.inner)} FROM ({sql}) AS r", {**self.mapping.params, **params})
            fits = bool(self.raw.execute(self.check.format(table)).fetchone()[0])
            self.raw.execute("COMMIT")
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        return table, fits


def open_stager(url: URL, plan: ReadPlan, mapping: SqlMapping) -> Stager | None:
    """The staging of an entity's rows from the ERP's file at `url`, or None where the ERP cannot be attached."""
    try:
        stager = Stager(url, plan, mapping)
    except (sqlite3.Error, OSError) as exc:  # the row path reads through the ERP connection, which did open, and needs no scratch file
        log.info("%s: loaded row by row (no staging file with the ERP attached: %s)", plan.entity.name, exc)
        return None
    if not stager.attached:
        stager.close()
        return None
    return stager


def _attach(raw: Any, url: URL) -> bool:
    """Attach the ERP's file read-only, unless a name in it would be read from the staging file instead (SQLite looks there first)."""
    path = url.database or ""
    raw.execute(f"ATTACH DATABASE ? AS {ALIAS}", (read_only_uri(url),))
    attached = raw.execute("SELECT file FROM pragma_database_list WHERE name = ?", (ALIAS,)).fetchone()
    names = "SELECT lower(name) FROM {}.sqlite_master WHERE type IN ('table', 'view')"
    shared = raw.execute(f"{names.format(ALIAS)} INTERSECT SELECT * FROM ({names.format('main')} UNION {names.format('temp')})").fetchall()
    if attached is None or not attached[0] or Path(attached[0]).resolve() != Path(path).resolve() or shared:
        raw.execute(f"DETACH DATABASE {ALIAS}")
        return False
    return True
