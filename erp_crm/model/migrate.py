"""Schema migrations of the overlay (Alembic), driven from code rather than alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

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


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def revision(engine: Engine, message: str) -> None:
    """Developers: write a new migration from the difference between tables.py and the database."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
