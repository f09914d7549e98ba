"""Reading the ERP: read-only connections, SQL in the ERP's dialect, rows in batches.

Rows are read through the raw DB-API driver, not SQLAlchemy's result objects: the
typed result processing costs more than the whole rest of a sync.  SQLAlchemy still
writes the SQL, so quoting, LIMIT/TOP and parameter styles are right for every
database, including ones reached through ODBC.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler

from erp_crm.errors import ConfigError, SourceError
from erp_crm.settings.databases import ErpSettings
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
        if "libodbc" in str(exc):
            raise SourceError("ODBC needs the unixODBC library: install it (Debian/Ubuntu: apt-get install unixodbc)") from None
        raise SourceError(f"ODBC needs the pyodbc package: pip install pyodbc ({exc})") from None
    return pyodbc


def odbc_attributes(text: str) -> list[tuple[str, str]]:
    """Split an ODBC connection string into (name, raw value) pairs.

    Values in braces may contain `;` and `}}` (an escaped brace), so a plain split on `;`
    would cut a password in two and show half of it.
    """
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            if text[i:].strip():
                pairs.append((text[i:].strip(), ""))
            break
        name = text[i:eq].strip()
        j = eq + 1
        if j < len(text) and text[j] == "{":
            k = j + 1
            while k < len(text):
                if text[k] == "}":
                    if text[k + 1 : k + 2] == "}":
                        k += 2
                        continue
                    break
                k += 1
            end = text.find(";", k)
        else:
            end = text.find(";", j)
        end = len(text) if end < 0 else end
        pairs.append((name, text[j:end]))
        i = end + 1
    return pairs


def mask_odbc(text: str) -> str:
    """An ODBC connection string with its password hidden, for messages."""
    return ";".join(
        f"{name}=***" if name.lower() in ("pwd", "password") else f"{name}={value}" for name, value in odbc_attributes(text)
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


class UndecodableText(Exception):
    """SQLite met text that is not UTF-8; read again with `decode_text_leniently`."""


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
            self.url = _definition_url(definition)
            self.odbc = definition.connection.odbc
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
        self.conn: Any = None
        self.lenient_text = False
        self._engine: sa.Engine | None = None
        self._pooled: Any = None

    # -- connecting ---------------------------------------------------------------

    def connect(self) -> ErpSource:
        try:
            if self.is_odbc:
                pyodbc = import_pyodbc()
                self.conn = pyodbc.connect(self.odbc, autocommit=False)
            elif self.dialect_name == "sqlite":
                self.conn = self._sqlite_read_only()
            else:
                assert self.url is not None  # not ODBC, so the connection was given as a URL
                self._engine = sa.create_engine(self.url, poolclass=NullPool)
                self._pooled = self._engine.raw_connection()  # the connection lives as long as this wrapper
                self.conn = self._pooled.dbapi_connection
        except SourceError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise self._unreachable(exc) from None
        except Exception as exc:  # pyodbc.Error and driver errors share no base class
            if type(exc).__module__.split(".")[0] in ("pyodbc", "psycopg", "pymysql"):
                raise self._unreachable(exc) from None
            raise
        statement = _READ_ONLY_SESSION.get(self.dialect_name)
        if statement:
            cursor = self.conn.cursor()
            cursor.execute(statement)
            cursor.close()
            self.conn.commit()
        return self

    def _unreachable(self, exc: BaseException) -> SourceError:
        return SourceError(f"cannot connect to the ERP database {self.label} ({self.origin}): {_first_line(exc)}")

    def _sqlite_read_only(self) -> sqlite3.Connection:
        """Open the file itself read-only: no statement can change it."""
        path = self.url.database if self.url else None
        if not path or path == ":memory:":
            raise ConfigError("erp.url: an SQLite ERP must be a file")
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, check_same_thread=False)
        # CONCAT as MySQL, PostgreSQL and SQL Server have it (SQLite gained it only in 3.44),
        # so one definition's expressions run on the demo and on the real server alike.
        conn.create_function("concat", -1, lambda *parts: "".join("" if p is None else str(p) for p in parts), deterministic=True)
        return conn

    def decode_text_leniently(self) -> None:
        """From now on, text with broken bytes reaches the mapper (and quarantine) instead
        of aborting the read.  Slower (a Python call per value), so only after the first
        such row; SQLite is the one driver that hands out undecodable text."""
        if self.dialect_name == "sqlite" and not self.is_odbc:
            self.conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
            self.lenient_text = True

    def close(self) -> None:
        if self.conn is not None:
            try:
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
    def streams(self) -> bool:
        """Whether one query can be read in batches without the driver loading it whole.

        The SQLite ODBC driver loads a whole result at execute, so ODBC sources are read
        in keyed pages instead; native drivers stream with server-side cursors.
        """
        return not self.is_odbc

    def rows(self, query: Query, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Execute and yield lists of rows; the cursor is always closed."""
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
                except sqlite3.OperationalError as exc:
                    if "Could not decode" in str(exc) and not self.lenient_text:
                        raise UndecodableText(str(exc)) from None
                    raise
                if not rows:
                    break
                yield [tuple(r) for r in rows] if self.is_odbc else rows
        finally:
            cursor.close()
            self.conn.rollback()  # end the read transaction (and its snapshot)

    def _cursor(self, batch_size: int) -> Any:
        if self.is_odbc or self.dialect_name in ("sqlite", "mssql"):
            return self.conn.cursor()
        if self.dialect_name == "postgresql":
            cursor = self.conn.cursor(name=f"erp_crm_scan_{next(_scan_names)}")
            cursor.itersize = batch_size
            return cursor
        import pymysql.cursors

        return self.conn.cursor(pymysql.cursors.SSCursor)

    def scalar(self, statement: sa.ClauseElement) -> Any:
        query = self.compile(statement)
        for rows in self.rows(query, 1):
            return rows[0][0]
        return None

    def can_write(self) -> str | None:
        """Why this connection could change the ERP, or None when it cannot."""
        if self.dialect_name == "sqlite":
            return None  # opened read-only / query_only
        query = _WRITE_CHECKS[self.dialect_name]
        cursor = self.conn.cursor()
        try:
            cursor.execute(query)
            found = [str(row[0]) for row in cursor.fetchall() if row and row[0]]
        finally:
            cursor.close()
            self.conn.rollback()
        return ", ".join(sorted(set(found))[:8]) or None


def _definition_url(definition: Definition) -> URL | None:
    if definition.connection.url is None:
        return None
    try:
        return sa.engine.make_url(definition.connection.url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"{definition.path}: connection.url is not a database URL") from None


_WRITE_CHECKS = {
    "postgresql": """
        SELECT CASE WHEN r.rolsuper THEN 'superuser ' || r.rolname END FROM pg_roles r WHERE r.rolname = current_user
        UNION ALL
        SELECT 'can modify ' || n.nspname || '.' || c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%'
          AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
               OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))
    """,
    "mysql": """
        SELECT CONCAT(privilege_type, ' on *.*') FROM information_schema.user_privileges
        WHERE privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER', 'CREATE')
          AND grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
        UNION ALL
        SELECT CONCAT(privilege_type, ' on ', table_schema, '.*') FROM information_schema.schema_privileges
        WHERE privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER', 'CREATE') AND table_schema = DATABASE()
          AND grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
        UNION ALL
        SELECT CONCAT(privilege_type, ' on ', table_schema, '.', table_name) FROM information_schema.table_privileges
        WHERE privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'DROP', 'ALTER') AND table_schema = DATABASE()
          AND grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
    """,
    "mssql": """
        SELECT permission_name FROM fn_my_permissions(NULL, 'DATABASE')
        WHERE permission_name IN ('INSERT', 'UPDATE', 'DELETE', 'ALTER', 'CONTROL')
    """,
}
