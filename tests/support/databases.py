"""Scratch databases on the local PostgreSQL and MariaDB servers.

Every test that needs a server gets its own fresh database, named `erpcrm_t_<hex>`, so
tests never see each other's rows and can run in any order; the database is dropped
when the test ends, even if the test left connections open.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from functools import cache
from types import TracebackType

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from tests.support.require import unavailable

NAME_PREFIX = "erpcrm_t_"


@dataclass(frozen=True)
class Server:
    """A database server the tests make scratch databases on."""

    label: str
    admin_url: str  # where CREATE/DROP DATABASE run
    url_template: str  # the URL handed to tests, with `{db}` for the database name
    create_sql: str
    connect_args: tuple[tuple[str, int], ...] = ()

    def url(self, database: str) -> str:
        return self.url_template.format(db=database)


POSTGRESQL = Server(
    label="PostgreSQL at 127.0.0.1:5432 (user postgres)",
    admin_url="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    url_template="postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
    create_sql='CREATE DATABASE "{db}" ENCODING \'UTF8\' TEMPLATE template0',
    connect_args=(("connect_timeout", 5),),
)

MARIADB = Server(
    label="MariaDB at 127.0.0.1:3306 (user root)",
    admin_url="mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4",
    url_template="mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4",
    create_sql="CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    connect_args=(("connect_timeout", 5),),
)

# A server that did not answer once is not asked again in this run: one timeout, not one per test.
_unreachable: dict[str, str] = {}


@cache
def _admin_engine(server: Server) -> Engine:
    return create_engine(
        server.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args=dict(server.connect_args)
    )


def new_database_name() -> str:
    """A name no other test (or parallel run) will pick."""
    return NAME_PREFIX + secrets.token_hex(6)


def create_database(server: Server) -> str:
    """Create a fresh database and return its name; skip (fail under CI) if the server is down."""
    if server.label in _unreachable:
        unavailable(_unreachable[server.label])
    name = new_database_name()
    try:
        with _admin_engine(server).connect() as conn:
            conn.execute(text(server.create_sql.format(db=name)))
    except OperationalError as exc:
        _unreachable[server.label] = f"{server.label} is not reachable: {exc.orig}"
        unavailable(_unreachable[server.label])
    return name


def drop_database(server: Server, name: str) -> None:
    """Drop `name`, first ending any session still using it (a leaked engine must not hang the run)."""
    if not name.startswith(NAME_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    with _admin_engine(server).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        sessions = conn.execute(
            text("SELECT id FROM information_schema.processlist WHERE db = :db AND id <> CONNECTION_ID()"),
            {"db": name},
        ).scalars()
        for session in list(sessions):
            with contextlib.suppress(DBAPIError):  # it ended by itself meanwhile
                conn.execute(text(f"KILL {int(session)}"))
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


class ScratchDatabases:
    """Makes databases on one server on request and drops all of them on exit.

    Used as the `pg_url_factory` / `mariadb_url_factory` fixtures: call it for a URL.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.names: list[str] = []

    def __call__(self) -> str:
        name = create_database(self.server)
        self.names.append(name)
        return self.server.url(name)

    def __enter__(self) -> ScratchDatabases:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        while self.names:
            drop_database(self.server, self.names.pop())
