"""ODBC connection strings for Debian's drivers, and a check that a driver is usable.

The engine reads SQL Server ERPs through pyodbc; here the same code path is proven
against the servers we do have. The driver names are the ones the Debian packages
register in /etc/odbcinst.ini.

The SQLite ODBC driver loads a whole result into memory at execute and frees it only
when the cursor is closed before its connection: close cursors first in tests too.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from tests.support.require import unavailable

POSTGRESQL_DRIVER = "PostgreSQL Unicode"  # odbc-postgresql
MARIADB_DRIVER = "MariaDB Unicode"  # odbc-mariadb
SQLITE_DRIVER = "SQLite3"  # libsqliteodbc

DEBIAN_PACKAGES = {
    POSTGRESQL_DRIVER: "odbc-postgresql",
    MARIADB_DRIVER: "odbc-mariadb",
    SQLITE_DRIVER: "libsqliteodbc",
}


def _value(value: str, braced: bool = False) -> str:
    """Brace a value that would otherwise end the attribute (ODBC's only quoting rule)."""
    if braced or any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def _join(attributes: dict[str, str | int | None]) -> str:
    return ";".join(
        f"{key}={_value(str(value), braced=key == 'DRIVER')}" for key, value in attributes.items() if value is not None
    )


def odbc_connection_string(url: str) -> str:
    """The pyodbc connection string reaching the same database as a SQLAlchemy `url`.

    Accepts the URLs the `pg_url`/`mariadb_url` fixtures hand out and `sqlite:///path`, so
    one test database can be read both ways.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError(f"{url}: an ODBC connection needs a SQLite file, not an in-memory database")
        return _join({"DRIVER": SQLITE_DRIVER, "Database": parsed.database})
    if backend == "postgresql":
        driver, port, extra = POSTGRESQL_DRIVER, 5432, {}
    elif backend in {"mysql", "mariadb"}:
        driver, port, extra = MARIADB_DRIVER, 3306, {"CHARSET": parsed.query.get("charset", "utf8mb4")}
    else:
        raise ValueError(f"{url}: no ODBC driver for {backend!r} here (expected postgresql, mysql/mariadb or sqlite)")
    return _join(
        {
            "DRIVER": driver,
            "SERVER": parsed.host or "127.0.0.1",
            "PORT": parsed.port or port,
            "DATABASE": parsed.database,
            "UID": parsed.username,
            "PWD": parsed.password,
            **extra,
        }
    )


def require_odbc_driver(name: str) -> str:
    """Return `name` if pyodbc imports and the driver is registered; else skip (fail under CI)."""
    package = DEBIAN_PACKAGES.get(name, "its ODBC driver package")
    try:
        import pyodbc
    except ImportError as exc:
        unavailable(f"pyodbc cannot be imported ({exc}): install unixODBC (apt-get install unixodbc {package})")
    if name not in pyodbc.drivers():
        unavailable(
            f"ODBC driver {name!r} is not registered (have: {', '.join(pyodbc.drivers()) or 'none'}):"
            f" apt-get install {package}"
        )
    return name
