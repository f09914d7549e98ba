"""What the ERP's catalog says of a key (`erp_crm.sync.erp_keys`), and the overlay's unique key a first load drops on its word.

Only a unique index on the key column alone, without a condition or an expression,
proves a key unique; anything short of it is "not known". The overlay's unique key,
built again after a load that read a moved row twice, keeps the later read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.overlay import Overlay
from erp_crm.sync import deferred_indexes
from erp_crm.sync.definition import EntitySpec, load_connector
from erp_crm.sync.erp_keys import key_is_unique
from erp_crm.sync.source import ErpSource
from tests.integration.test_sync_bulk import erp_with_more, home

ERP_TABLES = """
CREATE TABLE plain (id integer, other integer);
CREATE TABLE keyed (id integer PRIMARY KEY);
CREATE TABLE "Mixed Case" ("Key" text UNIQUE);
CREATE TABLE partial (id integer);
CREATE UNIQUE INDEX partial_id ON partial (id) WHERE id > 0;
CREATE TABLE expression (code text);
CREATE UNIQUE INDEX expression_code ON expression (lower(code));
CREATE TABLE pair (a integer, b integer, UNIQUE (a, b));
CREATE TABLE covering (id integer);
CREATE UNIQUE INDEX covering_id ON covering (id) INCLUDE (id);
CREATE SCHEMA other;
CREATE TABLE other.keyed (code text PRIMARY KEY);
CREATE VIEW keyed_view AS SELECT id FROM keyed;
"""


@pytest.fixture
def erp(pg_url_factory: Callable[[], str], tmp_path: Path) -> Iterator[ErpSource]:
    url = erp_with_more(tmp_path, pg_url_factory())
    db = sa.create_engine(url, poolclass=NullPool)
    with db.begin() as conn:
        conn.exec_driver_sql(ERP_TABLES)
    db.dispose()
    settings = home(tmp_path, url, "home")
    source = ErpSource(settings.erp, load_connector(settings.erp)).connect()
    yield source
    source.close()


def spec(table: str | None, *key: str, query: str | None = None) -> EntitySpec:
    return EntitySpec(table=table, query=query, key=list(key), fields={"name": key[0]})


@pytest.mark.parametrize(
    ("table", "key", "unique"),
    [
        ("keyed", "id", True),  # a primary key
        ("other.keyed", "code", True),  # in another schema
        ("Mixed Case", "Key", True),  # a unique constraint, on names that need quoting
        ("plain", "id", False),  # no index at all
        ("partial", "id", False),  # a partial index leaves rows out
        ("expression", "code", False),  # unique in lower case only
        ("pair", "a", False),  # unique only together with another column
        ("covering", "id", False),  # not judged: an index with included columns
        ("keyed_view", "id", False),  # a view has no index
        ("no_such_table", "id", False),
        ("keyed", "no_such_column", False),
    ],
)
def test_only_a_unique_index_on_the_key_alone_proves_it_unique(erp: ErpSource, table: str, key: str, unique: bool) -> None:
    assert key_is_unique(erp, spec(table, key)) is unique


def test_a_query_or_a_key_of_two_columns_is_not_judged(erp: ErpSource) -> None:
    assert key_is_unique(erp, spec(None, "id", query="SELECT id FROM keyed")) is False
    assert key_is_unique(erp, spec("pair", "a", "b")) is False


def test_a_hostile_name_is_a_name_not_sql(erp: ErpSource) -> None:
    """A definition refuses such names; were one to come through, it is bound, never pasted."""
    hostile = "keyed'); DROP TABLE keyed; --"
    assert key_is_unique(erp, EntitySpec.model_construct(table="keyed", query=None, key=[hostile], fields={})) is False
    assert key_is_unique(erp, EntitySpec.model_construct(table=hostile, query=None, key=["id"], fields={})) is False
    assert key_is_unique(erp, spec("keyed", "id")) is True, "the table is still there"


def test_the_hostile_erps_keys(erp: ErpSource) -> None:
    """Its partner, invoice and line tables have primary keys; its products share a key, and have none."""
    definition = load_connector(erp.erp)
    found = {name: key_is_unique(erp, entity) for name, entity in definition.entities.items()}
    assert found == {"partner": True, "product": False, "invoice": True, "invoice_line": True}


def test_an_unknown_database_is_never_judged(tmp_path: Path) -> None:
    url = erp_with_more(tmp_path)
    settings = home(tmp_path, url, "home")
    with ErpSource(settings.erp, load_connector(settings.erp)).connect() as source:
        assert key_is_unique(source, spec("soc", "rowid")) is False


def test_building_the_unique_key_again_keeps_the_later_of_a_key_read_twice(pg_url_factory: Callable[[], str]) -> None:
    """A line read again in a later batch because it moved while the load ran: the later read is the ERP as it is."""
    t = SYNCED["invoice_line"]
    with Overlay.open(sa.make_url(pg_url_factory()), at_head=False) as overlay:
        overlay.upgrade()
        with overlay.begin() as conn:
            assert deferred_indexes.defer(conn, t, unique_key=True)
            rows = [("L1", "D1", "first read"), ("L2", "D1", "only read"), ("L1", "D2", "read again")]
            for key, document, text in rows:
                conn.execute(sa.insert(t).values(source="erp", erp_key=key, invoice_key=document, description=text, row_hash="", synced_at=sa.func.now()))
            conn.execute(sa.insert(t).values(source="other", erp_key="L1", description="another source", row_hash="", synced_at=sa.func.now()))
        with overlay.begin() as conn:
            deferred_indexes.restore(conn, t)
        with overlay.begin() as conn:
            kept = conn.execute(sa.select(t.c.source, t.c.erp_key, t.c.invoice_key, t.c.description).order_by(t.c.source, t.c.erp_key)).all()
            assert kept == [("erp", "L1", "D2", "read again"), ("erp", "L2", "D1", "only read"), ("other", "L1", None, "another source")]
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.insert(t).values(source="erp", erp_key="L2", row_hash="", synced_at=sa.func.now()))
