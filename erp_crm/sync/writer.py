"""Writing mapped rows into the overlay: resolve references, skip unchanged rows, upsert.

Per batch this costs a few set-based statements, never one per row: the stored hashes
of the batch's keys in one query, the ids of the referenced rows in one query per
reference (with a bounded cache, since most batches point at the same partners and
products), then one executemany upsert of only the new and changed rows, and one
statement telling the partner change feed (`erp_crm.store.change_feed`) whose data changed.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine.default import DefaultDialect

from erp_crm.model.canonical import BY_NAME, Entity
from erp_crm.model.tables.sync import quarantine
from erp_crm.model.tables.synced import SYNCED, ref_id_column, ref_key_column
from erp_crm.store import change_feed
from erp_crm.store.driver import dialect_insert
from erp_crm.sync.unhashed import UNHASHED, same_as_stored, stored_values

IN_CHUNK = 900  # below every database's bound-parameter limit, with room to spare
REF_CACHE_LIMIT = 200_000


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def json_safe(value: Any) -> Any:
    """Raw ERP values as JSON: dates as ISO text, numbers exact, broken text visible."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return str(value)


@dataclass
class BatchResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)  # (mapped row, reason)
    written_keys: list[str] = field(default_factory=list)


class EntityWriter:
    """Upserts one entity's mapped rows (from `RowMapper.map_row`)."""

    def __init__(self, conn: Connection, entity: Entity, source: str) -> None:
        self.entity = entity
        self.source = source
        self.table = SYNCED[entity.name]
        self.refs = [(i, f) for i, f in enumerate(entity.fields) if f.ref]
        owner = change_feed.owner_field(entity)
        # where the row's owner (its partner, or a line's document) sits among the resolved reference ids
        self.owner_at = next((n for n, (_, f) in enumerate(self.refs) if f is owner), None)
        self.lines = owner is not None and owner.ref != "partner"  # owned by a document, not a partner
        # where a dated document's date sits in a mapped row (after the key)
        self.date_at = next((i + 1 for i, f in enumerate(entity.fields) if f.name == "date"), None)
        self.also = change_feed.also_paths(entity.name)  # other partners a changed row changes (an order's quote's)
        self._cache: dict[str, dict[str, int]] = {f.ref: {} for _, f in self.refs if f.ref}
        value_columns = [ref_key_column(f.name) if f.ref else f.name for f in entity.fields]
        id_columns = [ref_id_column(f.name) for _, f in self.refs]
        self.columns = ["source", "erp_key", *value_columns, *id_columns, "row_hash", "synced_at", "erp_deleted_at"]
        self.sql = self._upsert_sql(conn)
        self.copy = self._copy_statements(conn)
        self.text_stamps = conn.dialect.name == "sqlite"  # format the timestamp once, not per row
        self.empty = False  # set when the table held nothing of this source: no stored rows to compare, no changes to log

    def _upsert_sql(self, conn: Connection) -> str:
        statement = dialect_insert(conn, self.table).values({c: sa.bindparam(c) for c in self.columns})
        updates = {c: statement.excluded[c] for c in self.columns if c not in ("source", "erp_key")}
        statement = statement.on_conflict_do_update(index_elements=["source", "erp_key"], set_=updates)
        style: Literal["qmark", "format"] = "qmark" if conn.dialect.name == "sqlite" else "format"
        assert isinstance(conn.dialect, DefaultDialect)  # every SQLAlchemy dialect is one; the Dialect interface takes no paramstyle
        dialect = type(conn.dialect)(paramstyle=style)
        compiled = statement.compile(dialect=dialect)
        positions = {name: i for i, name in enumerate(self.columns)}
        # The SQL takes its parameters in the table's column order; rows are built in ours.
        self.param_columns = list(compiled.positiontup or ())
        self.reorder = operator.itemgetter(*(positions[name] for name in self.param_columns))
        return str(compiled)

    def _copy_statements(self, conn: Connection) -> tuple[str, str, str, str, str] | None:
        """PostgreSQL: COPY into a temporary stage, then one INSERT … SELECT … ON CONFLICT; on a first load, COPY into the table.

        psycopg's executemany sends one statement per row (about 40k rows/s here); COPY and
        a set-based merge write about 100k rows/s, COPY straight into the table about 140k.
        Names come from our own table definition.
        """
        if conn.dialect.name != "postgresql":
            return None
        quote = conn.dialect.identifier_preparer.quote
        table, stage = quote(self.table.name), quote(f"erp_crm_stage_{self.table.name}")
        columns = ", ".join(quote(c) for c in self.param_columns)
        updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in self.param_columns if c not in ("source", "erp_key"))
        return (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {columns} FROM {table} WITH NO DATA",
            f"TRUNCATE {stage}",
            f"COPY {stage} ({columns}) FROM STDIN",
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} ON CONFLICT (source, erp_key) DO UPDATE SET {updates}",
            f"COPY {table} ({columns}) FROM STDIN",
        )

    def _upsert(self, conn: Connection, params: list[tuple[Any, ...]]) -> None:
        if self.copy is None:
            conn.exec_driver_sql(self.sql, params)
            return
        create, truncate, copy, merge, direct = self.copy
        raw = conn.connection.driver_connection
        assert raw is not None  # a live connection inside the caller's transaction
        with raw.cursor() as cursor:
            if self.empty and self._copied(cursor, direct, params):
                return
            cursor.execute(create)
            cursor.execute(truncate)
            _copy_rows(cursor, copy, params)
            cursor.execute(merge)

    @staticmethod
    def _copied(cursor: Any, copy: str, params: list[tuple[Any, ...]]) -> bool:
        """A first load's batch copied straight into the table; False (nothing written) when one of its keys is there already.

        Such a key was written by an earlier batch of the same load (lines keyed alike in
        two documents, found and quarantined later by the shared-key probe): the merge
        updates it, as it would on any other pass.
        """
        from psycopg.errors import UniqueViolation

        cursor.execute("SAVEPOINT erp_crm_copy")
        try:
            _copy_rows(cursor, copy, params)
        except UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT erp_crm_copy")
            return False
        cursor.execute("RELEASE SAVEPOINT erp_crm_copy")
        return True

    def stored(self, conn: Connection, keys: Sequence[str]) -> dict[str, tuple[str, bool, tuple[int | None, date | None]]]:
        """Hash, deleted flag and owner (partner or document id, and a dated document's date) of the overlay rows with these keys."""
        found: dict[str, tuple[str, bool, tuple[int | None, date | None]]] = {}
        if self.empty:
            return found
        for part in chunks(keys):
            rows = conn.execute(_stored_by_key(self.entity.name), {"source": self.source, "keys": list(part)})
            found.update((k, (h, bool(d), (owner, day))) for k, h, d, owner, day in rows)
        return found

    def unhashed(self, conn: Connection, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """The stored values of rows a bulk load wrote without a hash (`sync.unhashed`), to compare instead."""
        found: dict[str, tuple[Any, ...]] = {}
        for part in chunks(keys):
            found.update(stored_values(conn, self.entity, self.source, part))
        return found

    def resolve(self, conn: Connection, ref: str, keys: set[str]) -> dict[str, int]:
        """Overlay ids of the `ref` rows with these ERP keys (a cache that may hold more)."""
        cache = self._cache[ref]
        missing = [k for k in keys if k not in cache]
        if missing:
            if len(cache) > REF_CACHE_LIMIT:
                cache.clear()
            for part in chunks(missing):
                rows = conn.execute(_ids_by_key(ref), {"source": self.source, "keys": list(part)})
                cache.update((key, ident) for key, ident in rows)
        return cache

    def write(self, conn: Connection, mapped: list[tuple[Any, ...]], now: datetime) -> BatchResult:
        result = BatchResult()
        latest = {row[0]: row for row in mapped}  # a key twice in one batch: the last one wins
        stored = self.stored(conn, list(latest))
        unhashed = self.unhashed(conn, [k for k, s in stored.items() if s[0] == UNHASHED])
        resolved = {
            i: self.resolve(conn, f.ref or "", {row[i + 1] for row in latest.values() if row[i + 1] is not None})
            for i, f in self.refs
        }
        params = []
        # (partner or document id, document date) whose data this batch changes, moved-from ones included
        owners: set[tuple[int | None, date | None]] = set()
        changed: list[str] = []  # keys of changed rows without an owner (partners themselves, products, users)
        source, reorder, owner_at, date_at, dialect = self.source, self.reorder, self.owner_at, self.date_at, conn.dialect.name
        stamp: Any = now.isoformat(" ") if self.text_stamps else now
        for key, row in latest.items():
            before = stored.get(key)
            ids = []
            reason = None
            for i, f in self.refs:
                ref_key = row[i + 1]
                ref_id = resolved[i].get(ref_key) if ref_key is not None else None
                if ref_id is None and f.required:
                    reason = f"{f.name}: unknown {f.ref} {ref_key!r} (not in the overlay: filtered out, quarantined or not synced yet)"
                    break
                ids.append(ref_id)
            if reason is not None:
                result.rejected.append((row, reason))
                continue
            result.written_keys.append(key)
            row_hash = row[-1]
            if before is not None and not before[1] and (before[0] == row_hash or (key in unhashed and same_as_stored(unhashed[key], row, dialect))):
                result.unchanged += 1
                continue
            if before is None:
                result.inserted += 1
            else:
                result.updated += 1
                owners.add(before[2])
            if owner_at is None or self.also:
                changed.append(key)
            if owner_at is not None:
                owners.add((ids[owner_at], row[date_at] if date_at is not None else None))
            params.append(reorder((source, *row[:-1], *ids, row_hash, stamp, None)))
        if params:
            log = not self.empty  # a first load tells the change feed once, in the engine
            if log and self.also:  # the partners the rows' old references point at
                self._log_keys(conn, changed, now, self.also)
            self._upsert(conn, params)
            if log:
                self._log_changes(conn, owners, changed, now)
        return result

    def _log_changes(self, conn: Connection, owners: set[tuple[int | None, date | None]], keys: list[str], now: datetime) -> None:
        """Tell the change feed whose data the batch changed."""
        name = self.entity.name
        if self.owner_at is not None:
            if self.lines:  # the documents' partners and dates, found through the documents
                change_feed.record_documents(conn, name, {owner for owner, _ in owners if owner is not None}, now)
            else:
                change_feed.record_partners(conn, name, owners, now)
            if self.also:
                self._log_keys(conn, keys, now, self.also)
        elif change_feed.own_path(name) is None:
            change_feed.record_everyone(conn, name, now)  # a product or user: any partner's figures may move
        else:
            self._log_keys(conn, keys, now, None)  # partners themselves: inserted ones get their ids only now

    def _log_keys(self, conn: Connection, keys: list[str], now: datetime, paths: list[change_feed.Path] | None) -> None:
        t = self.table
        for part in chunks(keys):
            change_feed.record_rows(conn, self.entity.name, sa.and_(t.c.source == self.source, t.c.erp_key.in_(part)), now, paths=paths)

    def resolve_late_references(self, conn: Connection, arrived: set[str] | None, now: datetime) -> None:
        """Optional references whose row arrived after the referring one.

        Each pass scans the table for unresolved references, so it runs only for entities
        that gained rows (`arrived`; None: all of them, as whole passes do).
        """
        t = self.table
        for n, (_, f) in enumerate(self.refs):
            if f.required or (arrived is not None and f.ref not in arrived):
                continue
            target = SYNCED[f.ref or ""]
            key_col, id_col = t.c[ref_key_column(f.name)], t.c[ref_id_column(f.name)]
            found = sa.select(target.c.id).where(target.c.source == t.c.source, target.c.erp_key == key_col).scalar_subquery()
            unresolved = sa.and_(t.c.source == self.source, id_col.is_(None), key_col.is_not(None))
            if n == self.owner_at and f.ref == "partner":  # a ticket or contact that finds its partner changes that partner
                change_feed.record_partners(conn, self.entity.name, conn.execute(sa.select(found).where(unresolved)).scalars(), now)
            conn.execute(sa.update(t).where(unresolved).values({id_col: found}))


def _copy_rows(cursor: Any, copy: str, rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(copy) as stream:
        for row in rows:
            stream.write_row(row)


@functools.cache
def _ids_by_key(entity: str) -> sa.Select[Any]:
    """Overlay ids by ERP key; one statement per entity, so it is compiled once."""
    t = SYNCED[entity]
    return sa.select(t.c.erp_key, t.c.id).where(t.c.source == sa.bindparam("source"), t.c.erp_key.in_(sa.bindparam("keys", expanding=True)))


@functools.cache
def _stored_by_key(entity: str) -> sa.Select[Any]:
    """Hash, deleted flag, owner id and date by ERP key, compiled once per entity."""
    t, e = SYNCED[entity], BY_NAME[entity]
    owner = change_feed.owner_field(e)
    owner_id = t.c[ref_id_column(owner.name)] if owner is not None else sa.null()
    day = t.c.date if change_feed.dated(e) else sa.null()
    return sa.select(t.c.erp_key, t.c.row_hash, t.c.erp_deleted_at.is_not(None), owner_id, day).where(
        t.c.source == sa.bindparam("source"), t.c.erp_key.in_(sa.bindparam("keys", expanding=True))
    )


def quarantine_rows(conn: Connection, source: str, entity: str, rows: list[dict[str, Any]], now: datetime, run_id: int) -> None:
    """Store or refresh bad rows; a key already in quarantine keeps its first_seen_at."""
    if not rows:
        return
    statement = dialect_insert(conn, quarantine)
    statement = statement.on_conflict_do_update(
        index_elements=["source", "entity", "erp_key"],
        set_={c: statement.excluded[c] for c in ("key_values", "reason", "raw", "last_seen_at", "last_run_id")},
    )
    conn.execute(
        statement,
        [
            {
                "source": source,
                "entity": entity,
                "erp_key": r["erp_key"],
                "key_values": json.loads(json.dumps([json_safe(v) for v in r["key_values"]])) if r["key_values"] else None,
                "reason": r["reason"],
                "raw": {k: json_safe(v) for k, v in r["raw"].items()},
                "first_seen_at": now,
                "last_seen_at": now,
                "last_run_id": run_id,
            }
            for r in rows
        ],
    )


def release_from_quarantine(conn: Connection, source: str, entity: str, keys: Sequence[str]) -> None:
    for part in chunks(keys):
        conn.execute(sa.delete(quarantine).where(quarantine.c.source == source, quarantine.c.entity == entity, quarantine.c.erp_key.in_(part)))
