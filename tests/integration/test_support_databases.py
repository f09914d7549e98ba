"""The scratch-database fixtures on the real servers, and what happens when a server is missing."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.support.databases import MARIADB, POSTGRESQL, ScratchDatabases, Server, create_database


def _database_exists(server: Server, name: str) -> bool:
    engine = create_engine(server.admin_url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                query = "SELECT count(*) FROM pg_database WHERE datname = :name"
            else:
                query = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :name"
            return bool(conn.execute(text(query), {"name": name}).scalar())
    finally:
        engine.dispose()


@pytest.mark.parametrize("server", [POSTGRESQL, MARIADB], ids=["pg", "mariadb"])
def test_databases_are_fresh_and_dropped_even_with_a_session_open(server: Server) -> None:
    with ScratchDatabases(server) as make:
        first, second = make(), make()
        assert first != second
        engine = create_engine(first)
        leaked = engine.connect()  # a test that forgets to close must not hang the drop
        assert inspect(leaked).get_table_names() == []
        leaked.execute(text("CREATE TABLE t (id INTEGER)"))
        names = list(make.names)
    leaked.invalidate()  # its server session is gone; close the socket without a rollback
    leaked.close()
    engine.dispose()
    assert not any(_database_exists(server, name) for name in names)


def test_mariadb_database_is_utf8mb4(mariadb_url: str) -> None:
    engine = create_engine(mariadb_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT @@character_set_database")).scalar() == "utf8mb4"
        assert conn.execute(text("SELECT 'ő ű 🙂'")).scalar() == "ő ű 🙂"
    engine.dispose()


def test_urls_have_the_documented_shape(pg_url: str, mariadb_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://postgres@127.0.0.1:5432/erpcrm_t_")
    assert mariadb_url.startswith("mysql+pymysql://root@127.0.0.1:3306/erpcrm_t_")
    assert mariadb_url.endswith("?charset=utf8mb4")


def test_overlay_url_is_usable(overlay_url: str) -> None:
    engine = create_engine(overlay_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_an_unreachable_server_is_asked_once_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    nobody = Server("PostgreSQL at 127.0.0.1:1", "postgresql+psycopg://postgres@127.0.0.1:1/postgres", "", "")
    for _ in range(2):
        with pytest.raises(pytest.skip.Exception, match="PostgreSQL at 127.0.0.1:1 is not reachable"):
            create_database(nobody)
