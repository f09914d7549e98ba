"""The ODBC helpers: connection strings built from SQLAlchemy URLs (no driver needed)."""

from __future__ import annotations

import pytest

from tests.support.odbc import odbc_connection_string


def test_postgresql_url_becomes_a_driver_string() -> None:
    assert odbc_connection_string("postgresql+psycopg://postgres@127.0.0.1:5432/erpcrm_t_ab") == (
        "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=erpcrm_t_ab;UID=postgres"
    )


def test_mariadb_url_keeps_its_charset_and_braces_odd_passwords() -> None:
    url = "mysql+pymysql://crm:p%3Bw%7Dd@db.local/erp?charset=utf8mb4"
    assert odbc_connection_string(url) == (
        "DRIVER={MariaDB Unicode};SERVER=db.local;PORT=3306;DATABASE=erp;UID=crm;PWD={p;w}}d};CHARSET=utf8mb4"
    )


def test_sqlite_file_and_refusals() -> None:
    assert odbc_connection_string("sqlite:////tmp/erp.sqlite") == "DRIVER={SQLite3};Database=/tmp/erp.sqlite"
    with pytest.raises(ValueError, match="in-memory"):
        odbc_connection_string("sqlite://")
    with pytest.raises(ValueError, match="no ODBC driver"):
        odbc_connection_string("oracle://scott@host/orcl")
