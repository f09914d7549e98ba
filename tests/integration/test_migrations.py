"""The migrations build exactly the schema that erp_crm/model/tables/ describes.

A table, column or index added to the tables without a migration would exist in tests
that create tables from the metadata and be missing in every real overlay; this compares
a migrated database with the metadata, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from erp_crm.model import migrate
from erp_crm.model.tables import metadata
from tests.support.services import overlay_engine, upgrade


def test_a_migrated_overlay_has_the_tables_the_code_describes(overlay_url: str) -> None:
    engine = overlay_engine(sa.engine.make_url(overlay_url))
    upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def test_every_migration_downgrades_and_upgrades_again(overlay_url: str) -> None:
    engine = overlay_engine(sa.engine.make_url(overlay_url))
    upgrade(engine)
    with engine.begin() as connection:
        migrate.downgrade(connection, "base")
    upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current(connection) == migrate.head()
    engine.dispose()
