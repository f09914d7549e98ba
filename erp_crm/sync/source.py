"""Reading the ERP: read-only connections, SQL in the ERP's dialect, rows in batches.

Rows are read through the raw DB-API driver, not SQLAlchemy's result objects: the
typed result processing costs more than the whole rest of a sync.  SQLAlchemy still
writes the SQL, so quoting, LIMIT/TOP and parameter styles are right for every
database, including ones reached through ODBC.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import itertools
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler

from erp_crm.errors import ConfigError, SourceError, UnresolvableHost
from erp_crm.settings.databases import ErpSettings
from erp_crm.settings.odbc import is_braced, is_password, odbc_attributes
from erp_crm.sync import privileges
from erp_crm.sync.connection import connection_hint, engine_options, missing_driver, open_sqlite
from erp_crm.sync.definition import Definition

_DIALECTS = {
    "postgresql": "sqlalchemy.dialects.postgresql.base:PGDialect",
    "mysql": "sqlalchemy.dialects.mysql.base:MySQLDialect",
    "mssql": "sqlalchemy.dialects.mssql.base:MSDialect",
    "sqlite": "sqlalchemy.dialects.sqlite.base:SQLiteDialect",
}
_READ_ONLY_SESSION = {
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "sqlite": "PRAGMA query_only = 1",
}
_scan_names = itertools.count(1)
log = logging.getLogger(__name__)


def _dialect(name: str, paramstyle: str) -> Dialect:
    module, cls = _DIALECTS[name].split(":")
    return getattr(importlib.import_module(module), cls)(paramstyle=paramstyle)


def import_pyodbc() -> Any:
    """pyodbc, or one line saying which system package is missing."""
    try:
        import pyodbc
    except ImportError as exc:
        raise SourceError(missing_driver(exc)) from None
    return pyodbc


def mask_odbc(text: str) -> str:
    """An ODBC connection string with its password hidden, for messages.

    Nothing after a password is shown. For the driver an unbraced `PWD=a;b` ends at the
    `;`, but whoever wrote it may have meant the password `a;b`; and `PWD={};b` may be a
    braced empty password or an unbraced one that starts with a brace. A brace left open
    in any other value runs to the end, and may hold a password too.
    """
    shown = []
    for name, raw in odbc_attributes(text):
        hidden = is_password(name) or (raw.startswith("{") and not is_braced(raw))
        shown.append(f"{name}=***" if hidden else f"{name}={raw}")
        if hidden:
            break
    return ";".join(shown)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def concat(*parts: Any) -> str:
    """CONCAT for SQLite (built in only since 3.44), as MySQL, PostgreSQL and SQL Server have it: NULL adds nothing."""
    return "".join("" if p is None else str(p) for p in parts)


class UndecodableText(Exception):
    """The driver met a value it cannot hand over (SQLite text that is not UTF-8, a PostgreSQL
    date beyond Python's); read again with `decode_text_leniently`."""


_DRIVERS = ("sqlite3", "psycopg", "pymysql", "pyodbc")


def _from_driver(exc: BaseException) -> bool:
    """An error of the database or its driver (they share no base class), not of this code."""
    return type(exc).__module__.split(".")[0] in _DRIVERS


@functools.cache
def _text_when_unreadable(strict: type) -> type:
    """A psycopg loader that hands over the text of what `strict` cannot load ('infinity', a year BC)."""
    from psycopg import DataError
    from psycopg.adapt import Loader

    class TextWhenUnreadable(Loader):
        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self.strict = strict(oid, context)

        def load(self, data: Any) -> Any:
            try:
                return self.strict.load(data)
            except DataError:
                return bytes(data).decode()

    return TextWhenUnreadable


@dataclass
class Query:
    sql: str
    params: tuple[Any, ...] | Mapping[str, Any]


class ErpSource:
    """One read-only connection to the ERP database."""

    def __init__(self, erp: ErpSettings, definition: Definition) -> None:
        self.url: URL | None = erp.full_url()
        self.odbc: str | None = erp.full_odbc()
        self.origin = "erp.url" if self.url is not None else "erp.odbc"
        if self.url is None and self.odbc is None:
            self.url, self.odbc = _definition_connection(erp, definition)
            self.origin = f"the connection of {definition.path}"
        if self.url is None and self.odbc is None:
            raise ConfigError(f"{erp.origin}: erp.url or erp.odbc is required (the connector {definition.name} gives no connection)")
        if self.url is not None:
            self.dialect_name = self.url.get_backend_name()
            if self.dialect_name not in _DIALECTS:
                raise ConfigError(f"{erp.origin}: erp.url: unsupported database {self.dialect_name!r}; expected one of {', '.join(_DIALECTS)}")
            self.label = self.url.render_as_string(hide_password=True)
        else:
            name = erp.dialect or definition.connection.dialect
            if name is None:
                raise ConfigError(f"{erp.origin}: erp.dialect is required with erp.odbc (postgresql, mysql, mssql or sqlite)")
            self.dialect_name = name
            self.label = mask_odbc(self.odbc or "")
        self.is_odbc = self.url is None
        paramstyle = "qmark" if self.is_odbc or self.dialect_name == "sqlite" else "format"
        if self.dialect_name == "mssql" and not self.is_odbc:
            paramstyle = "qmark"
        self.dialect = _dialect(self.dialect_name, paramstyle)
        self.params = definition.params
        self.erp = erp
        self.definition = definition
        self.conn: Any = None
        self.lenient_text = False
        self._engine: sa.Engine | None = None
        self._pooled: Any = None

    # -- connecting ---------------------------------------------------------------

    def connect(self) -> ErpSource:
        """Open the connection and make its session read-only; a failure is one line saying what to fix."""
        try:
            self.conn = self._open()
            self._read_only_session()
        except BaseException:
            with contextlib.suppress(Exception):  # the failure to report is the first one
                self.close()
            raise
        return self

    def twin(self) -> ErpSource:
        """A second read-only connection to the same ERP, for a thread of its own (a connection serves one at a time)."""
        other = ErpSource(self.erp, self.definition).connect()
        if self.lenient_text:
            other.decode_text_leniently()
        return other

    def _open(self) -> Any:
        try:
            if self.is_odbc:
                return import_pyodbc().connect(self.odbc, autocommit=False)
            assert self.url is not None  # not ODBC, so the connection was given as a URL
            if self.dialect_name == "sqlite":
                return self._sqlite_read_only(self.url)
            self._engine = sa.create_engine(self.url, poolclass=NullPool, **engine_options(self.url))
            self._pooled = self._engine.raw_connection()  # the connection lives as long as this wrapper
            return self._pooled.dbapi_connection
        except ImportError as exc:
            raise self._unreachable(missing_driver(exc)) from None
        except UnicodeError as exc:  # a host in the URL's query, or in a connector's connection, that the settings cannot see
            raise UnresolvableHost(self.origin, exc) from None
        except Exception as exc:  # SQLAlchemy's, the drivers' (they share no base class) and the system's errors
            if not isinstance(exc, SQLAlchemyError | OSError) and not _from_driver(exc):
                raise
            reason = _first_line(exc)
            raise self._unreachable(reason + connection_hint(reason, self.erp)) from None

    def _unreachable(self, reason: str) -> SourceError:
        return SourceError(f"cannot connect to the ERP database {self.label} ({self.origin}): {reason}")

    def _read_only_session(self) -> None:
        """PostgreSQL and MariaDB sessions refuse every write from here on; SQLite's already cannot.

        SQL Server has no read-only session: there, what the role may do is the guard
        (`can_write`), and every read ends in a rollback.
        """
        statement = _READ_ONLY_SESSION.get(self.dialect_name)
        if statement is None:
            return
        cursor = self.conn.cursor()
        try:
            cursor.execute(statement)
        except Exception as exc:
            if not _from_driver(exc):
                raise
            declared = f"; is erp.dialect {self.dialect_name!r} the database's?" if self.is_odbc else ""
            raise SourceError(f"cannot make the session on the ERP database {self.label} read-only ({statement}): {_first_line(exc)}{declared}") from None
        finally:
            cursor.close()
        self.conn.commit()

    def _sqlite_read_only(self, url: URL) -> sqlite3.Connection:
        """The file itself opened read-only: no statement can change it."""
        conn = open_sqlite(url, self.origin, self.label)
        # CONCAT as MySQL, PostgreSQL and SQL Server have it (SQLite gained it only in 3.44),
        # so one definition's expressions run on the demo and on the real server alike.
        conn.create_function("concat", -1, concat, deterministic=True)
        return conn

    def decode_text_leniently(self) -> None:
        """From now on, text with broken bytes (SQLite) and dates Python cannot hold
        (PostgreSQL's 'infinity', years BC) reach the mapper, and quarantine, as text instead
        of aborting the read.  Slower (a Python call per value), so only after the first
        such row; these are the drivers that refuse to hand such values out."""
        if self.is_odbc:
            return
        if self.dialect_name == "sqlite":
            self.conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
            self.lenient_text = True
        elif self.dialect_name == "postgresql":
            from psycopg.pq import Format

            adapters = self.conn.adapters  # cursors made from now on copy them
            for name in ("date", "timestamp", "timestamptz"):
                oid = adapters.types[name].oid
                adapters.register_loader(oid, _text_when_unreadable(adapters.get_loader(oid, Format.TEXT)))
            self.lenient_text = True

    def close(self) -> None:
        try:
            if self.conn is not None:
                self.conn.rollback()
                (self._pooled or self.conn).close()
        finally:
            self.conn = self._pooled = None
            if self._engine is not None:
                self._engine.dispose()

    def __enter__(self) -> ErpSource:
        return self.connect()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- SQL ----------------------------------------------------------------------

    def compile(self, statement: sa.ClauseElement) -> Query:
        compiled = statement.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        assert isinstance(compiled, SQLCompiler)  # a query, not DDL: it has bound parameters
        values = compiled.construct_params()
        if compiled.positiontup is not None:
            return Query(str(compiled), tuple(values[name] for name in compiled.positiontup))
        return Query(str(compiled), values)

    @property
    def binds_arrays(self) -> bool:
        """Whether a list binds as one array parameter (`= ANY(%s)`): psycopg does, ODBC and the other drivers do not."""
        return self.dialect_name == "postgresql" and not self.is_odbc

    @property
    def streams(self) -> bool:
        """Whether one query can be read in batches without the driver loading it whole.

        The SQLite ODBC driver loads a whole result at execute, so ODBC sources are read
        in keyed pages instead; native drivers stream with server-side cursors.
        """
        return not self.is_odbc

    def rows(self, query: Query, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Execute and yield lists of rows; the cursor is always closed.

        The database can fail long after it accepted the query: a definition's filter or
        expression meets the one row it cannot compute (a division by zero, a bad cast).
        That is a `SourceError` with the database's own words, not a crash.
        """
        cursor = self._cursor(batch_size)
        try:
            try:
                cursor.execute(query.sql, query.params)
            except Exception as exc:  # noqa: BLE001 (sqlite3, psycopg, PyMySQL and pyodbc errors share no base class)
                log.debug("refused SQL: %s", query.sql)
                raise SourceError(f"the ERP database refused a query: {_first_line(exc)}") from None
            while True:
                try:
                    rows = cursor.fetchmany(batch_size)
                except Exception as exc:  # a driver's error is turned into one of ours below
                    if not _from_driver(exc):
                        raise
                    raise self._unreadable(exc, query) from None
                if not rows:
                    break
                yield [tuple(r) for r in rows] if self.is_odbc else rows
        finally:
            cursor.close()
            self.conn.rollback()  # end the read transaction (and its snapshot)

    def _unreadable(self, exc: BaseException, query: Query) -> Exception:
        """What a failed fetch raises: `UndecodableText` while reading leniently would help."""
        if not self.lenient_text and not self.is_odbc and _lenient_would_read(exc):
            return UndecodableText(str(exc))
        log.debug("SQL that failed while reading: %s", query.sql)
        return SourceError(f"the ERP database failed while reading rows: {_first_line(exc)}")

    def _cursor(self, batch_size: int) -> Any:
        if self.is_odbc or self.dialect_name in ("sqlite", "mssql"):
            return self.conn.cursor()
        if self.dialect_name == "postgresql":
            cursor = self.conn.cursor(name=f"erp_crm_scan_{next(_scan_names)}")
            cursor.itersize = batch_size
            return cursor
        import pymysql.cursors

        return self.conn.cursor(pymysql.cursors.SSCursor)

    def column_names(self, statement: sa.ClauseElement) -> list[str]:
        """The names of the columns `statement` gives (run so that it returns no row); SourceError if the ERP refuses it."""
        cursor = self.conn.cursor()
        try:
            cursor.execute(self.compile(statement).sql)
            return [d[0] for d in cursor.description]
        except Exception as exc:
            if not _from_driver(exc):
                raise
            raise SourceError(f"the ERP database refused a query: {_first_line(exc)}") from None
        finally:
            cursor.close()
            self.conn.rollback()

    def scalar(self, statement: sa.ClauseElement) -> Any:
        """One value (a count, the highest change value): one the driver cannot read is an error here,
        since no row can go to quarantine in its place."""
        query = self.compile(statement)
        try:
            for rows in self.rows(query, 1):
                return rows[0][0]
        except UndecodableText as exc:
            raise SourceError(f"the ERP database holds a value its driver cannot read: {exc}") from None
        return None

    def can_write(self) -> str | None:
        """Why this connection could change the ERP (its privileges that allow it), or None when it cannot.

        A check the server does not answer raises `SourceError`: the guard must not let
        a sync through because it could not look.
        """
        if self.dialect_name == "sqlite":
            return None  # opened read-only / query_only
        try:
            found = privileges.write_privileges(self.dialect_name, self.conn)
        except Exception as exc:
            if not _from_driver(exc):
                raise
            raise SourceError(
                f"cannot tell whether the ERP connection {self.label} can write: the check failed ({_first_line(exc)}); "
                "use a role whose privileges the check can read (docs/operations.md), or set erp.require_read_only: false"
            ) from None
        finally:
            self.conn.rollback()
        return privileges.summary(found)


def _lenient_would_read(exc: BaseException) -> bool:
    """SQLite's undecodable text, or a value psycopg could not load (its errors from the server carry an SQLSTATE)."""
    if isinstance(exc, sqlite3.OperationalError):
        return "Could not decode" in str(exc)
    from psycopg import DataError

    return isinstance(exc, DataError) and exc.sqlstate is None


def _definition_connection(erp: ErpSettings, definition: Definition) -> tuple[URL | None, str | None]:
    """The connector's own connection, with the password the settings name (it never comes from a YAML file)."""
    given = erp.model_copy(update={"url": definition.connection.url, "odbc": definition.connection.odbc})
    try:
        return given.full_url(), given.full_odbc()
    except sa.exc.ArgumentError:
        raise ConfigError(f"{definition.path}: connection.url is not a database URL") from None
