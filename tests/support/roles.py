"""Login roles for tests of the read-only guard: made with the GRANTs a test names, dropped after it.

PostgreSQL roles and MariaDB users belong to the server, not to a test's scratch database,
so they are dropped when the block ends, whatever happened inside it. Names are random,
so tests running at the same time never meet each other's roles.

The statements run as the administrator, with these placeholders filled in:

- PostgreSQL: `{role}` the login role, `{other}` a role without login it may be granted,
  `{database}` the scratch database;
- MariaDB: `{user}` the login user ('name'@'%'), `{role}` and `{role2}` two roles it may be
  granted, `{database}` the scratch database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def _run(engine: sa.Engine, statements: Sequence[str], **names: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement.format(**names)))


def _quietly(engine: sa.Engine, statements: Sequence[str]) -> None:
    """Cleanup that runs each statement on its own, so one that fails does not keep the others from running."""
    for statement in statements:
        with suppress(sa.exc.DBAPIError):
            _run(engine, [statement])


@contextmanager
def pg_role(admin_url: str, statements: Sequence[str] = ()) -> Iterator[str]:
    """A PostgreSQL login role made by `statements`; yields its URL to the same database."""
    url = make_url(admin_url)
    role = f"erpcrm_role_{secrets.token_hex(4)}"
    names = {"role": role, "other": f"{role}_w", "database": str(url.database)}
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        _run(engine, ["CREATE ROLE {role} LOGIN", "CREATE ROLE {other} NOLOGIN", *statements], **names)
        yield url.set(username=role).render_as_string(hide_password=False)
    finally:
        _quietly(engine, [f"DROP OWNED BY {role}, {role}_w", f"DROP ROLE IF EXISTS {role}", f"DROP ROLE IF EXISTS {role}_w"])
        engine.dispose()


@contextmanager
def mariadb_user(admin_url: str, statements: Sequence[str] = (), password: str = "") -> Iterator[str]:
    """A MariaDB login user made by `statements`, with `password`; yields its URL to the same database, without the password."""
    url = make_url(admin_url)
    name = f"erpcrm_user_{secrets.token_hex(4)}"
    names = {"user": f"'{name}'@'%'", "role": f"`{name}_r`", "role2": f"`{name}_r2`", "database": str(url.database)}
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE USER '{name}'@'%' IDENTIFIED BY :password"), {"password": password})
        _run(engine, ["CREATE ROLE {role}", "CREATE ROLE {role2}", *statements], **names)
        yield url.set(username=name).render_as_string(hide_password=False)
    finally:
        _quietly(engine, [f"DROP USER IF EXISTS '{name}'@'%'", f"DROP ROLE IF EXISTS `{name}_r`", f"DROP ROLE IF EXISTS `{name}_r2`"])
        engine.dispose()
