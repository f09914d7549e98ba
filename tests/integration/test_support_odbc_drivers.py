"""The ODBC helpers with the real drivers: connection strings that really connect through pyodbc."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.odbc import MARIADB_DRIVER, POSTGRESQL_DRIVER, SQLITE_DRIVER, odbc_connection_string, require_odbc_driver

HUNGARIAN = "Árvíztűrő tükörfúrógép Kft."


def test_odbc_driver_fixture_returns_the_name(odbc_driver: Callable[[str], str]) -> None:
    assert odbc_driver("SQLite3") == "SQLite3"


def test_an_unregistered_driver_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not registered"):
        require_odbc_driver("No Such Driver 9")


def _read_through_odbc(connection_string: str, query: str) -> list[tuple[object, ...]]:
    import pyodbc

    conn = pyodbc.connect(connection_string, autocommit=True)
    try:
        cursor = conn.cursor()
        try:
            return [tuple(row) for row in cursor.execute(query).fetchall()]
        finally:
            cursor.close()  # before the connection: the SQLite driver frees its result only then
    finally:
        conn.close()


def _seed(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE partner (id INTEGER PRIMARY KEY, name VARCHAR(80))"))
        conn.execute(text("INSERT INTO partner VALUES (1, :name)"), {"name": HUNGARIAN})
    engine.dispose()


@pytest.mark.parametrize("driver, url_fixture", [(POSTGRESQL_DRIVER, "pg_url"), (MARIADB_DRIVER, "mariadb_url")])
def test_server_rows_read_back_through_pyodbc(
    driver: str, url_fixture: str, odbc_driver: Callable[[str], str], request: pytest.FixtureRequest
) -> None:
    odbc_driver(driver)
    url: str = request.getfixturevalue(url_fixture)
    _seed(url)
    assert _read_through_odbc(odbc_connection_string(url), "SELECT id, name FROM partner") == [(1, HUNGARIAN)]


def test_sqlite_file_reads_back_through_pyodbc(odbc_driver: Callable[[str], str], tmp_path: Path) -> None:
    odbc_driver(SQLITE_DRIVER)
    path = tmp_path / "erp.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE partner (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO partner VALUES (1, ?)", (HUNGARIAN,))
    db.close()
    assert _read_through_odbc(odbc_connection_string(f"sqlite:///{path}"), "SELECT id, name FROM partner") == [
        (1, HUNGARIAN)
    ]
