"""Opening the ERP's database, and what to tell the user when it does not open.

Nearly every connection problem is the user's to fix: a package to install, a password,
an ODBC driver's name, a folder's permissions. Each becomes one line saying which, so
nobody reads a traceback to find out that a driver is missing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.engine import URL

from erp_crm.errors import ConfigError, SourceError
from erp_crm.settings.databases import ErpSettings

# The module SQLAlchemy imports for a URL's driver → the package to install for it.
_PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "pg8000": "pg8000",
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql": "mysql-connector-python",
    "mariadb": "mariadb",
    "pymssql": "pymssql",
    "pyodbc": "pyodbc",
}
BUNDLED_DRIVERS = "postgresql+psycopg, mysql+pymysql, mssql+pyodbc or sqlite"
UNIXODBC_MISSING = "ODBC needs the unixODBC library: install it (Debian/Ubuntu: apt-get install unixodbc)"
# The ODBC drivers docs/operations.md shows → their Debian/Ubuntu package (SQL Server's comes from Microsoft's repository).
ODBC_PACKAGES = {
    "ODBC Driver 18 for SQL Server": "msodbcsql18",
    "PostgreSQL Unicode": "odbc-postgresql",
    "MariaDB Unicode": "odbc-mariadb",
    "SQLite3": "libsqliteodbc",
}
MICROSOFT_PACKAGES = frozenset({"msodbcsql18"})


def _package_of(driver: str, package: str) -> str:
    where = ", from Microsoft's repository" if package in MICROSOFT_PACKAGES else ""
    return f"'{driver}' ({package}{where})"


ODBC_DRIVERS = ", ".join(_package_of(driver, package) for driver, package in ODBC_PACKAGES.items())
_LOGIN_FAILED = ("password authentication failed", "no password supplied", "(using password:", "login failed for user")
_NO_ODBC_DRIVER = ("data source name not found", "can't open lib")
SQLITE_OPTIONS = ("immutable",)
log = logging.getLogger(__name__)


def missing_driver(exc: ImportError) -> str:
    """What to install when a database driver does not import."""
    if "libodbc" in str(exc):
        return UNIXODBC_MISSING
    module = (exc.name or "").partition(".")[0]
    package = _PACKAGES.get(module, module or "the driver's package")
    return f"the driver's Python package is not installed: pip install {package}, or use a driver erp-crm brings ({BUNDLED_DRIVERS})"


def engine_options(url: URL) -> dict[str, Any]:
    """Driver arguments a URL needs beyond what SQLAlchemy derives from it.

    PyMySQL sends a text password as Latin-1, while MariaDB and MySQL compare it with the
    bytes it was set from, UTF-8 in any current client: "jelszó" would be refused and
    "tűzfal" would not even encode. Given bytes, PyMySQL sends them as they are, as the
    mysql client and the MariaDB ODBC driver do.
    """
    if url.get_driver_name() == "pymysql" and url.password:
        return {"connect_args": {"password": url.password.encode("utf-8")}}
    return {}


def password_source(erp: ErpSettings) -> str:
    """Where the ERP password is read from, for a message about a refused login."""
    if erp.password_file:
        return f"the password is read from {erp.password_file} (erp.password_file)"
    unset = "" if os.environ.get(erp.password_env) else ", which is not set"
    return f"the password is read from the environment variable {erp.password_env} (erp.password_env{unset}) or a file named by erp.password_file"


def login_refused(message: str) -> bool:
    """Whether a driver's message says the server refused the user or the password (PostgreSQL, MariaDB, SQL Server)."""
    text = message.lower()
    return any(marker in text for marker in _LOGIN_FAILED)


def connection_hint(message: str, erp: ErpSettings) -> str:
    """What to look at after a failed connection, from the driver's message ("" when nothing useful is known)."""
    text = message.lower()
    if login_refused(message):
        return f"; check the user and the password: {password_source(erp)}"
    if any(marker in text for marker in _NO_ODBC_DRIVER):
        return f"; `odbcinst -q -d` lists the installed ODBC drivers ({_installed_odbc_drivers()}); the drivers' Debian/Ubuntu packages: {ODBC_DRIVERS}"
    return ""


def _installed_odbc_drivers() -> str:
    import pyodbc  # only reached after pyodbc reported the error

    return "here: " + (", ".join(pyodbc.drivers()) or "none")


def read_only_uri(url: URL) -> str:
    """The URI that opens an SQLite ERP's file read-only (checked by `open_sqlite`), for `sqlite3.connect` and ATTACH."""
    options = urlencode({"mode": "ro", **{key: url.query[key] for key in SQLITE_OPTIONS if key in url.query}}, doseq=True)
    return f"file:{quote(url.database or '')}?{options}"


def open_sqlite(url: URL, origin: str, label: str) -> sqlite3.Connection:
    """The ERP's SQLite file opened read-only, with nothing created beside it where SQLite can avoid it.

    `mode=ro` never creates the database or a journal. A database in WAL mode is the
    exception: SQLite needs its `-wal` and `-shm` files to read it, and creates them when
    the ERP has not (they exist while the ERP has the database open). The first read
    happens here, so that a file SQLite cannot read is a connection problem with its
    reason, not a refused query later.
    """
    path = url.database
    if not path or path == ":memory:":
        raise ConfigError(f"{origin}: an SQLite ERP must be a file")
    unknown = sorted(set(url.query) - set(SQLITE_OPTIONS))
    if unknown:
        raise ConfigError(f"{origin}: the SQLite option {unknown[0]!r} is not read: the ERP is always opened read-only, and only immutable=1 may be added")
    index = Path(f"{path}-shm")
    had_index = index.exists()
    conn = None
    try:
        conn = sqlite3.connect(read_only_uri(url), uri=True, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise SourceError(_unreadable_sqlite(Path(path), origin, label, exc)) from None
    if not had_index and index.exists():
        log.info("the ERP database %s is in WAL mode and was not open: SQLite created %s-wal and %s-shm beside it to read it", path, path, path)
    return conn


def _unreadable_sqlite(path: Path, origin: str, label: str, exc: sqlite3.Error) -> str:
    if not path.is_file():
        return f"cannot connect to the ERP database {label} ({origin}): there is no file {path}"
    if getattr(exc, "sqlite_errorname", "") == "SQLITE_CANTOPEN" and _in_wal_mode(path) and not Path(f"{path}-shm").exists():
        return (
            f"cannot read the ERP database {path} ({origin}): it is in WAL mode, and SQLite needs {path.name}-wal and "
            f"{path.name}-shm beside it to read it, which it cannot create in {path.parent}; make that folder writable "
            "for this user, or add ?immutable=1 to the URL, but only while the ERP is not running (an immutable read "
            "of a database that changes can return wrong rows)"
        )
    return f"cannot connect to the ERP database {label} ({origin}): {exc}"


def _in_wal_mode(path: Path) -> bool:
    """Whether the file's header says WAL (format versions 2 at offsets 18 and 19), read without SQLite."""
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:
        return False
    return header[:16] == b"SQLite format 3\x00" and header[18:20] == b"\x02\x02"
