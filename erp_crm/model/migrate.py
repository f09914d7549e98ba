"""Schema migrations of the overlay (Alembic), driven from code rather than alembic.ini."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine

from erp_crm.errors import UserError
from erp_crm.model.db import overlay_engine, overlay_errors

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the overlay schema to `revision`; safe to run again."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head() -> str | None:
    """The newest revision; the migration files do not change while a process runs."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def revision(engine: Engine, message: str) -> None:
    """Developers: write a new migration from the difference between tables.py and the database."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)


def engine_at_head(url: URL) -> Engine:
    """An engine for the overlay at `url`, refusing a database whose schema is not the newest."""
    engine = overlay_engine(url)
    if engine.dialect.name not in ("sqlite", "postgresql"):
        engine.dispose()
        raise UserError(f"overlay.url: the overlay must be SQLite or PostgreSQL, not {engine.dialect.name}")
    with overlay_errors(engine.url):
        now = current(engine)
    if now != head():
        engine.dispose()
        raise UserError(f"the overlay schema is at {now or 'nothing'}, the code needs {head()}: run `erp-crm db upgrade`")
    return engine
