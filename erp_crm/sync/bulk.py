"""A first load done by the overlay itself, one INSERT … SELECT per batch over the ERP's rows.

Row by row, a line costs 12–18 µs of Python (reading, the mapper, the hash, binding
and executemany) against 1.5 µs for SQLite to read it: a full sync ran at a tenth of a
bare read. Instead, each batch becomes one statement that maps the rows in SQL
(`sql_mapping`), resolves references by join and writes them, committed together with
how far the run got, as the row path commits its batches. The ERP's rows reach the
statement through a staging table filled one batch ahead by a thread of its own
(`staging`), so reading the next batch overlaps writing this one: between two SQLite
files the rows are read from the ERP's file attached read-only and already mapped
there (`bulk_sqlite`); between two PostgreSQL databases, which cannot read each other,
they are copied as they are onto the overlay and mapped by the statement (`bulk_pg`).
A `Feed` is what differs.

Only a first load goes this way (no overlay rows of the source yet, nothing in
quarantine): there is nothing to compare and nothing to tell the change feed row by
row. Its rows carry no hash (`sync.unhashed`: hashing needs Python per row); a later
pass, or a run resumed after a crash (it finds rows, so it goes the row path), compares
their values instead. A batch with a row the SQL mapping does not take as it is, text
with NUL or broken bytes, a required reference not in the overlay, or a key already
there is rolled back whole and goes the row path, which quarantines what it must.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.overlay import Overlay
from erp_crm.sync.bulk_pg import open_staging
from erp_crm.sync.bulk_sqlite import StagedFile, open_stager
from erp_crm.sync.plan import ReadPlan
from erp_crm.sync.source import ErpSource
from erp_crm.sync.sql_mapping import SqlMapping, Untranslated, translate
from erp_crm.sync.unhashed import UNHASHED

log = logging.getLogger(__name__)


class Feed(Protocol):
    """How the overlay's connection reaches a batch of the ERP's rows: SQLite's attachment, PostgreSQL's staging table (`bulk_pg`)."""

    schema: str  # where the overlay's own tables are, as a prefix of their names
    errors: tuple[type[BaseException], ...]  # the driver's errors that send a batch the row path (SQLAlchemy's do)
    defers_indexes: bool  # whether a load into an empty table builds its secondary indexes at the end (`sync.deferred_indexes`)
    mapped: bool  # whether `read` gives the rows mapped (`sql_mapping`'s k, f0, …, ok), not as the ERP has them

    def read(self, conn: Connection, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> str:
        """The SELECT giving the batch's rows to the overlay, in the same transaction."""

    def ahead(self, plan: ReadPlan, where: Sequence[sa.ColumnElement[bool]]) -> None:
        """The rows of the batch after this one: a feed that fetches them may start now, while this one is written."""

    def stamp(self, now: datetime) -> Any:
        """`synced_at` as the row path binds it."""

    def texts_fit(self) -> bool:
        """Whether the batch's text holds what the mapper would have stored."""

    def close(self, conn: Connection) -> None:
        """Undo what opening did to the overlay's connection."""


class BulkLoad:
    """One entity's first load through one overlay connection the ERP's rows reach (`Feed`); `close` undoes that."""

    def __init__(self, conn: Connection, plan: ReadPlan, source: str, mapping: SqlMapping, feed: Feed) -> None:
        self.conn = conn
        self.plan = plan
        self.source = source
        self.mapping = mapping
        self.feed = feed
        self.head = self._statement_head()

    @classmethod
    def open(cls, overlay: Overlay, erp: ErpSource, plan: ReadPlan, source: str) -> BulkLoad | None:
        """The bulk load of `plan`'s entity, or None where it cannot be done (the row path then does it all)."""
        if erp.url is None or overlay.dialect != erp.dialect_name:
            return None
        if overlay.dialect == "postgresql":  # lenient reading changes only how Python loads dates, which staging never does
            staged = open_staging(overlay, erp, plan)
            return None if staged is None else cls(staged.conn, plan, source, staged.mapping, staged)
        if overlay.dialect != "sqlite" or erp.lenient_text:
            return None
        try:
            mapping = translate(plan.entity, plan.spec, plan.mapper)
        except Untranslated as exc:
            log.info("%s: loaded row by row (the SQL mapping does not translate %s)", plan.entity.name, exc)
            return None
        stager = open_stager(erp.url, plan, mapping)
        if stager is None:
            return None
        conn = overlay.connect()
        try:
            return cls(conn, plan, source, mapping, StagedFile(conn, stager))
        except BaseException:
            conn.close()
            stager.close()
            raise

    def close(self) -> None:
        try:
            self.conn.rollback()
            self.feed.close(self.conn)
        finally:
            self.conn.close()

    def _statement_head(self) -> str:
        """The INSERT and the outer SELECT list, around the SELECT the ERP is read with.

        A row that fails the mapping's conditions, or whose required reference is not in
        the overlay, gets no row hash: the NOT NULL constraint stops the statement.
        """
        m, table = self.mapping, SYNCED[self.plan.entity.name]
        quote = self.conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c) for c in ["source", "erp_key", *m.columns, "row_hash", "synced_at"])
        ok = " AND ".join(["m.ok", *m.resolved])
        mark = m.sql.placeholder
        values = ", ".join([mark("b_source"), "m.k", *m.values, f"CASE WHEN {ok} THEN {mark('b_unhashed')} END", mark("b_stamp")])
        return f"INSERT INTO {self.feed.schema}{quote(table.name)} ({columns}) SELECT {values}"

    def _rows(self, read: str) -> str:
        if self.feed.mapped:
            return f"({read}) AS m"
        return f"(SELECT {', '.join(self.mapping.inner)} FROM ({read}) AS r) AS m"

    def _statement(self, read: str) -> str:
        quote = self.conn.dialect.identifier_preparer.quote
        source = self.mapping.sql.placeholder("b_source")
        joins = " ".join(
            f"LEFT JOIN {self.feed.schema}{quote(SYNCED[ref].name)} AS j{n} ON j{n}.source = {source} AND j{n}.erp_key = {key}"
            for n, (ref, key) in enumerate(self.mapping.joins)
        )
        return f"{self.head} FROM {self._rows(read)} {joins}"

    def insert(
        self,
        where: Sequence[sa.ColumnElement[bool]],
        now: datetime,
        then: Callable[[Connection], None],
        following: Sequence[sa.ColumnElement[bool]] | None = None,
    ) -> int | None:
        """Write the rows matching `where` and run `then` in the same transaction; None (nothing written) when a row needs the row path.

        `following` selects the next batch's rows, which the feed may start fetching meanwhile.
        """
        params: dict[str, Any] = {**self.mapping.params, "b_source": self.source, "b_stamp": self.feed.stamp(now), "b_unhashed": UNHASHED}
        with self.conn.begin() as transaction:
            try:
                read = self.feed.read(self.conn, self.plan, where)
                if following is not None:
                    self.feed.ahead(self.plan, following)
                count: int | None = self.conn.exec_driver_sql(self._statement(read), params).rowcount
                if not self.feed.texts_fit():
                    count = None
            except Exception as exc:
                if not isinstance(exc, (sa.exc.DBAPIError, *self.feed.errors)):
                    raise
                log.debug("%s: a batch goes the row path (%s)", self.plan.entity.name, getattr(exc, "orig", exc))
                count = None
            if count is None:
                transaction.rollback()
                return None
            then(self.conn)
        return count
