"""`Overlay`: the overlay database of one process, opened once by the entry point.

An entry point (the CLI today, a web app or a scheduler tomorrow) opens the overlay
once, checks that its schema is the one the code needs, and hands the object to every
service it calls; services never build engines of their own. Work happens in units:
`begin()` is one transaction (committed when the block ends, rolled back when it
raises), `connect()` a connection for reading. One engine per process keeps one pool,
so a long-lived process does not open a connection per call.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from erp_crm.errors import UnresolvableHost, UserError
from erp_crm.model import migrate
from erp_crm.store.locking import is_held, overlay_lock, overlay_lock_if_free, whole_overlay_lock

DIALECTS = ("sqlite", "postgresql")

# Explicit adapters: the sqlite3 defaults are deprecated, and Decimal has none.  The
# text forms are the ones SQLAlchemy's SQLite Date/DateTime types read back.
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(datetime, lambda value: value.isoformat(" "))
sqlite3.register_adapter(Decimal, float)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # panels read while a sync writes
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of a million-row load stay in memory
    cursor.execute("PRAGMA temp_store=MEMORY")  # the id sets of incremental runs (store.idset) never touch the disk
    cursor.close()


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class Overlay:
    """The overlay's engine, its schema checked, and the units of work on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.label = engine.url.render_as_string(hide_password=True)

    @classmethod
    def open(cls, url: URL, *, at_head: bool = True) -> Overlay:
        """The overlay at `url`; with `at_head`, refusing a schema older or newer than the code's."""
        overlay = cls(_engine(url))
        try:
            if overlay.dialect not in DIALECTS:
                raise UserError(f"overlay.url: the overlay must be SQLite or PostgreSQL, not {overlay.dialect}")
            if at_head:
                now, head = overlay.schema_version(), migrate.head()
                if now != head:
                    found = f"is at version {now}" if now else "has no erp-crm tables yet"
                    raise UserError(f"the overlay {found} and this erp-crm needs version {head}: run `erp-crm db upgrade`")
        except BaseException:
            overlay.close()
            raise
        return overlay

    def schema_version(self) -> str | None:
        with self.connect() as conn:
            return migrate.current(conn)

    def upgrade(self) -> str | None:
        """Create or migrate the schema to the newest version; returns that version.

        Holds the whole overlay: a run that checked the schema when it started must not
        see it change under it, and two upgrades must not both create the tables.
        """
        with self.lock_whole("the overlay is in use (a sync, metrics run, segment refresh, upgrade or demo)"), self.begin() as conn:
            migrate.upgrade(conn)
        return self.schema_version()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A unit of work: one transaction, committed at the end of the block, rolled back if it raises."""
        with self._connection() as conn, conn.begin():
            yield conn

    @contextmanager
    def begin_writing(self) -> Iterator[Connection]:
        """A unit of work that will write, with savepoints (`conn.begin_nested()`) that stay inside it.

        SQLite's Python driver opens a transaction only at the first write, so a savepoint
        taken before one would be the outermost transaction, and releasing it would commit
        on its own; here SQLite starts with `BEGIN IMMEDIATE`, which also takes the write
        lock at once instead of failing on it half-way.
        """
        with self.begin() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def connect(self) -> Connection:
        """A connection for reading (`with overlay.connect() as conn:`); what it writes is not committed."""
        return self._connection()

    def lock(self, name: str, busy: str) -> AbstractContextManager[None]:
        """Hold the lock `name` for the block, across processes (and machines, on PostgreSQL); else UserError(`busy`).

        It also holds the whole overlay shared: refused while `lock_whole` is held, and keeps it out meanwhile.
        """
        return overlay_lock(self.engine, name, busy, self._connection)

    def lock_if_free(self, name: str) -> AbstractContextManager[bool]:
        """Hold the lock `name` for the block if no other process does: True; False when one does (nothing waits, nothing is raised)."""
        return overlay_lock_if_free(self.engine, name, self._connection)

    def lock_whole(self, busy: str) -> AbstractContextManager[None]:
        """Hold the whole overlay for the block, while no `lock(...)` holder works on it; else UserError(`busy`)."""
        return whole_overlay_lock(self.engine, busy, self._connection)

    def is_locked(self, name: str) -> bool:
        """Whether some process holds the lock `name` now (asked without taking it)."""
        return is_held(self.engine, name, self._connection)

    def _connection(self) -> Connection:
        """A new connection; an overlay that cannot be reached is the user's to fix: one line naming overlay.url."""
        try:
            return self.engine.connect()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            raise UserError(f"cannot open the overlay database {self.label} (overlay.url): {reason}") from None
        except UnicodeError as exc:  # a host in the URL's query (?host=): the settings check only the URL's own
            raise UnresolvableHost("overlay.url", exc) from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Overlay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
