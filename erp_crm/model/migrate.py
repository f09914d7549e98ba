"""Schema migrations of the overlay (Alembic), driven from code rather than alembic.ini."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the overlay schema to `revision` inside the caller's transaction; safe to run again."""
    command.upgrade(_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Take the overlay schema back to `revision` (developers and migration tests)."""
    command.downgrade(_config(connection), revision)


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head() -> str | None:
    """The newest revision; the migration files do not change while a process runs."""
    return ScriptDirectory.from_config(_config()).get_current_head()


@functools.cache
def known() -> frozenset[str]:
    """Every revision of this code; an overlay at another one was migrated by a newer erp-crm."""
    return frozenset(script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions())


def revision(connection: Connection, message: str) -> None:
    """Developers: write a new migration from the difference between the tables and the database."""
    command.revision(_config(connection), message=message, autogenerate=True)
