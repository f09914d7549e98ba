"""The lines of a batch of documents asked with one array parameter where the ERP's driver binds arrays.

Five thousand parameters cost PostgreSQL's parser and psycopg more than the reading
they select; `= ANY(array)` asks the same. Only whole-number keys go as an array (text
would compare as `text`, and `char(n)` would lose its padding); other drivers and other
keys keep `IN (…)`. The sync's results are the hostile ERP's tests' (`test_sync_bulk`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from erp_crm.sync.definition import load_connector
from erp_crm.sync.plan import LinePlan, build_plans
from erp_crm.sync.source import ErpSource
from tests.integration.test_sync_bulk import erp_with_more, home


def lines_plan(source: ErpSource) -> LinePlan:
    plan = build_plans(source.definition)["invoice_line"]
    assert isinstance(plan, LinePlan)
    return plan


def test_whole_number_keys_go_as_one_array_on_postgresql(pg_url_factory: Callable[[], str], tmp_path: Path) -> None:
    settings = home(tmp_path, erp_with_more(tmp_path, pg_url_factory()), "home")
    with ErpSource(settings.erp, load_connector(settings.erp)).connect() as source:
        assert source.binds_arrays
        plan = lines_plan(source)
        documents = list(range(1, 1000))
        asked = source.compile(plan.select(plan.of_parents(documents, source.binds_arrays)))
        assert "= any(%s)" in asked.sql.lower() and list(asked.params) == [documents]
        found = [tuple(map(repr, row)) for rows in source.rows(asked, 100) for row in rows]
        listed = [tuple(map(repr, row)) for rows in source.rows(source.compile(plan.select(plan.of_parents(documents))), 100) for row in rows]
        assert found == listed and len(found) >= 5, "the same lines either way"


@pytest.mark.parametrize("keys", [["1", "2"], [1, "2"], [1.0, 2], [True, 2], []], ids=["text", "mixed", "float", "bool", "none"])
def test_other_keys_keep_their_parameters(pg_url_factory: Callable[[], str], tmp_path: Path, keys: list[object]) -> None:
    settings = home(tmp_path, erp_with_more(tmp_path, pg_url_factory()), "home")
    with ErpSource(settings.erp, load_connector(settings.erp)).connect() as source:
        asked = source.compile(lines_plan(source).select(lines_plan(source).of_parents(keys, True)))
        assert "any(" not in asked.sql.lower()


def test_sqlite_binds_no_arrays(tmp_path: Path) -> None:
    settings = home(tmp_path, erp_with_more(tmp_path), "home")
    with ErpSource(settings.erp, load_connector(settings.erp)).connect() as source:
        assert not source.binds_arrays
