"""Random filters run on a small SQLite and PostgreSQL overlay, where the drivers bind them.

The filters are drawn by tests.support.filter_strategies; each must hold its `check`
property (only FilterError, or SQL text without the user's strings) and, when it
compiles, run on both databases. The rest of the fuzzing needs no database and is in
tests/unit/test_filter_fuzz.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given

from erp_crm.model.tables.base import metadata
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.language import Node
from tests.support.databases import POSTGRESQL, ScratchDatabases
from tests.support.filter_strategies import FUZZ, check, filters


def _fill(conn: sa.Connection) -> None:
    """One row in every table a filter reads, so that every expression is evaluated."""
    row = {"source": "erp", "erp_key": "1", "row_hash": "-", "synced_at": datetime(2024, 6, 1), "id": 1}
    custom = {"branch": "x", "employees": 3, "joined": "2021-01-01", "vip": True}
    rows = {
        "partner": {"name": "Teszt Kft.", "city": "Győr", "created_at": datetime(2020, 1, 1)},
        "product": {"name": "Csavar", "category": "Csavarok"},
        "invoice": {"partner_id": 1, "date": date(2024, 6, 1), "status": "sent"},
        "invoice_line": {"invoice_id": 1, "product_id": 1},
        "quote": {"partner_id": 1, "date": date(2024, 6, 1), "status": "sent"},
        "quote_line": {"quote_id": 1, "product_id": 1},
        "ticket": {"partner_id": 1, "category": "complaint", "opened_at": datetime(2024, 6, 2)},
    }
    for entity, values in rows.items():
        conn.execute(SYNCED[entity].insert(), [row | values])
    conn.execute(partner_profile.insert(), [{"partner_id": 1, "custom": custom, "updated_at": datetime(2024, 1, 1)}])


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[sa.Engine]]:
    with ScratchDatabases(POSTGRESQL) as make:
        urls = [f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'overlay.sqlite'}", make()]
        engines = [sa.create_engine(url) for url in urls]
        for engine in engines:
            metadata.create_all(engine)
            with engine.begin() as conn:
                _fill(conn)
        yield engines
        for engine in engines:
            engine.dispose()


@FUZZ
@given(node=filters)
def test_random_filters_give_sql_without_their_strings(engines: list[sa.Engine], node: Node) -> None:
    check(node, engines)
