"""`metrics.purchases_from`: the setting's mistakes, the one-line reasons for no purchases, and reading purchases of live partners.

The figures themselves are checked against an orders-only ERP on both overlays in
tests/integration/test_purchases_from_orders.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.errors import ConfigError
from erp_crm.metrics.backtest import evaluate_history
from erp_crm.metrics.purchases import PURCHASES, in_connector
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import MetricsSection, PurchasesFrom
from erp_crm.settings.root import load_settings
from erp_crm.store.overlay import Overlay
from tests.unit.test_settings import write


@pytest.mark.parametrize("value", ["order", "Orders", "ORDERS", "invoice", "''", "null", "[orders]", "{orders: 1}", "1", "yes", "'orders; DROP TABLE crm_order'", "'orders\\u0000'"])
def test_a_wrong_purchases_from_is_one_line_with_file_line_and_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"erp_crm.yaml:3: metrics.purchases_from: .*'invoices'.*'orders'") as caught:
        load_settings(write(tmp_path, f"metrics:\n  min_customers: 5\n  purchases_from: {value}\n"), environ={})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ["order", "", "invoices orders"])
def test_a_wrong_purchases_from_from_the_environment_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="ERP_CRM__METRICS__PURCHASES_FROM") as caught:
        load_settings(write(tmp_path, "{}\n"), environ={"ERP_CRM__METRICS__PURCHASES_FROM": value})
    assert "\n" not in str(caught.value)


def test_purchases_from_orders_from_the_file_or_the_environment(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "metrics: {purchases_from: orders}\n"), environ={}).metrics.purchases_from == "orders"
    assert load_settings(write(tmp_path, "{}\n"), environ={"ERP_CRM__METRICS__PURCHASES_FROM": "orders"}).metrics.purchases_from == "orders"
    assert load_settings(write(tmp_path, "{}\n"), environ={}).metrics.purchases_from == "invoices"
    assert MetricsSection(purchases_from="orders").digest() != MetricsSection().digest(), "a changed choice rewrites every row"


@pytest.mark.parametrize(
    "rows, kind, expected",
    [
        ({"partner": 5, "order": 7}, "invoices", "the connector maps no invoices; there are 7 orders: to count them as purchases, set metrics.purchases_from: orders"),
        ({"partner": 5, "invoice": 0, "order": 7}, "invoices", "no ERP row passes the connector's invoice entity; there are 7 orders"),
        ({"partner": 5}, "invoices", "the connector maps no invoices; if the ERP keeps its sales as orders, map them in the connector and set metrics.purchases_from: orders"),
        ({"partner": 5, "invoice": 3}, "orders", "the connector maps no orders; there are 3 invoices: to count them as purchases, set metrics.purchases_from: invoices"),
    ],
)
def test_the_connector_s_missing_purchases_are_one_line(rows: dict[str, int | None], kind: PurchasesFrom, expected: str) -> None:
    missing = in_connector(rows, kind)
    assert missing is not None
    assert expected in missing.line() and "\n" not in missing.line()
    assert missing.line().startswith(f"no purchases (metrics.purchases_from: {kind}): ")


@pytest.mark.parametrize("rows", [{"invoice": 1}, {"invoice": None, "order": 5}, {"invoice": 2, "order": 0}])
def test_nothing_is_said_when_purchases_are_there_or_their_check_failed(rows: dict[str, int | None]) -> None:
    assert in_connector(rows, "invoices") is None


def _row(id_: int, **values: Any) -> dict[str, Any]:
    return {"id": id_, "source": "t", "erp_key": str(id_), "row_hash": "-", "synced_at": dt.datetime(2024, 1, 1), "erp_deleted_at": None, **values}


@pytest.mark.parametrize("kind", ["invoices", "orders"])
def test_evaluate_skips_a_partner_deleted_in_the_erp_whatever_its_service_lines(tmp_path: Path, kind: PurchasesFrom) -> None:
    """The deleted partner with the highest id bought services: its service days must not land on a live partner's day."""
    documents = PURCHASES[kind]
    entity = documents.entity
    status = documents.statuses[0]
    overlay = Overlay.open(sa.engine.make_url(f"sqlite:///{tmp_path / 'overlay.sqlite'}"), at_head=False)
    overlay.upgrade()
    with overlay.begin() as conn:
        conn.execute(SYNCED["partner"].insert(), [_row(p, name=f"P{p}", erp_deleted_at=dt.datetime(2024, 6, 1) if p == 3 else None) for p in (1, 2, 3)])
        conn.execute(SYNCED["product"].insert(), [_row(1, name="Szerviz", kind="service")])
        days = [(1, dt.date(2024, 1, 5)), (1, dt.date(2024, 5, 5)), (2, dt.date(2024, 2, 1)), (3, dt.date(2024, 3, 1)), (3, dt.date(2024, 4, 1))]
        conn.execute(SYNCED[entity].insert(), [_row(i, partner_id=p, date=d, status=status, amount_net=100) for i, (p, d) in enumerate(days, 1)])
        conn.execute(SYNCED[f"{entity}_line"].insert(), [_row(i, **{f"{entity}_id": i}, product_id=1, amount_net=100) for i in range(1, len(days) + 1)])
    report = evaluate_history(overlay, MetricsSection(purchases_from=kind), dt.date(2024, 3, 1), 90)
    overlay.close()
    assert report.customers == 2
