"""`bought(product: …)` and its kin on PostgreSQL: the same answers as the rows say, and one join, never a scan per partner.

SQLite gets these predicates as `partner.id IN (…)` (tests/unit/test_bought_predicate.py);
PostgreSQL keeps the correlated EXISTS, which it plans as a semi- or anti-join, because
`NOT (… IN …)` over more buyers than its work memory holds becomes a scan of the buyers
for every partner (6.5 s for 5,000 partners at a work memory of 64 kB).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from erp_crm.settings.metrics import PurchasesFrom
from tests.support.bought_overlay import HOSTILE, History, expected, filled_overlay, select

PARTNERS = 200


@pytest.fixture
def overlay(pg_url: str) -> Iterator[tuple[sa.Engine, History]]:
    database, history = filled_overlay(pg_url, PARTNERS, seed=5)
    yield database.engine, history
    database.close()


def test_bought_selects_what_the_rows_say_for_any_value(overlay: tuple[sa.Engine, History]) -> None:
    engine, history = overlay
    everyone = set(range(1, PARTNERS + 1))
    entities: dict[PurchasesFrom, str] = {"invoices": "invoice", "orders": "order"}
    with engine.connect() as conn:
        for purchases_from, entity in entities.items():
            for value in ["CS-100", "facsavar 4X40", *HOSTILE]:
                for since in (None, date(2024, 1, 1)):
                    arguments = {"product": value} if since is None else {"product": value, "within": since}
                    want = expected(history, entity, ("draft", "cancelled"), product=value, since=since)
                    assert set(conn.execute(select({"bought": arguments}, purchases_from)).scalars()) == want
                    assert set(conn.execute(select({"not": {"bought": arguments}}, purchases_from)).scalars()) == everyone - want


@pytest.mark.parametrize("text", ['not bought(category: "Csavarok")', 'bought(product: "CS-100") and not quoted(product: "SZ-200")'])
def test_postgresql_plans_one_join_even_when_the_buyers_outgrow_work_memory(overlay: tuple[sa.Engine, History], text: str) -> None:
    engine, _ = overlay
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL work_mem = '64kB'")
        sql = str(select(text).compile(conn, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "SubPlan" not in plan, plan
