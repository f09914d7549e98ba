"""Segment filters evaluated on the handmade overlay: exact partner sets, on SQLite and on PostgreSQL.

The overlay's rows, the filters and the partners each one selects are in
tests.support.filter_overlay; the registry with its stand-in tables in
tests.support.filter_registry. Parsing, refusals and the SQL text are checked without a
database in tests/unit/test_filter_language.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from erp_crm.model.tables.base import metadata
from erp_crm.segments.compiler import select_partners
from tests.support.databases import POSTGRESQL, ScratchDatabases
from tests.support.filter_overlay import CASES, INJECTIONS, YAML_FORMS, fill
from tests.support.filter_registry import REGISTRY, TODAY, stand_ins


@pytest.fixture(scope="module", params=["sqlite", "postgresql"], ids=["sqlite", "pg"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """The handmade overlay, once per database kind for the whole module."""
    with ScratchDatabases(POSTGRESQL) as make:
        sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('filters') / 'overlay.sqlite'}"
        url = sqlite_url if request.param == "sqlite" else make()
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        stand_ins.create_all(engine)
        with engine.begin() as conn:
            fill(conn)
        yield engine
        engine.dispose()


def ids(engine: sa.Engine, source: Any) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(select_partners(source, REGISTRY, TODAY)).scalars())


@pytest.mark.parametrize("text, expected", CASES, ids=[f"f{i}" for i in range(len(CASES))])
def test_filters_select_exactly_the_expected_partners(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert ids(engine, text) == expected


@pytest.mark.parametrize("text, document", YAML_FORMS, ids=[f"y{i}" for i in range(len(YAML_FORMS))])
def test_the_yaml_form_selects_the_same_partners(engine: sa.Engine, text: str, document: str) -> None:
    assert ids(engine, yaml.safe_load(document)) == ids(engine, text)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_attempts_in_values_select_nobody(engine: sa.Engine, payload: str) -> None:
    data = {"any": [{"field": "name", "=": payload}, {"field": "city", "contains": payload}, {"tag": payload}]}
    assert ids(engine, data) == set()
    assert ids(engine, "kind = 'company' or kind = 'person'") == {1, 2, 3, 4, 5, 6, 7}  # the table is still there
