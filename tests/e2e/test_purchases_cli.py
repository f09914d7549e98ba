"""`erp-crm check` and `metrics compute` on an ERP that keeps its sales as orders, run as a sysadmin runs them.

With the default `metrics.purchases_from: invoices`, both say in one line that the
connector maps no invoices and how to count the orders instead; with `purchases_from:
orders` neither says it, and the run finds the customers.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_commands import erp_crm
from tests.support.orders_erp import OrdersErp, orders_settings

ADVICE = "there are 9 orders: to count them as purchases, set metrics.purchases_from: orders (docs/metrics.md)"


def test_check_and_metrics_say_that_the_connector_maps_no_invoices(tmp_path: Path) -> None:
    erp = OrdersErp(tmp_path / "orders_erp.sqlite")
    home = str(orders_settings(tmp_path, erp).home)

    check = erp_crm("--home", home, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    warnings = [line for line in check.stdout.splitlines() if "no purchases" in line]
    assert warnings == [f"WARN no purchases (metrics.purchases_from: invoices): the connector maps no invoices; {ADVICE}"]

    assert erp_crm("--home", home, "sync").returncode == 0
    text = erp_crm("--home", home, "metrics", "compute", "--as-of", "2024-06-30")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "0 customers" in lines[0]
    assert lines[1].strip() == (
        "no purchases (metrics.purchases_from: invoices): the connector maps no invoices (erp-crm sync never read any);"
        " there are 5 orders: to count them as purchases, set metrics.purchases_from: orders (docs/metrics.md)"
    )
    report = json.loads(erp_crm("--home", home, "metrics", "compute", "--as-of", "2024-06-30", "--json").stdout)
    assert report["customers"] == 0 and report["no_purchases"]["message"] == lines[1].strip()
    assert report["no_purchases"]["purchases_from"] == "invoices" and report["no_purchases"]["others"] == 5


def test_with_purchases_from_orders_nothing_is_missing(tmp_path: Path) -> None:
    erp = OrdersErp(tmp_path / "orders_erp.sqlite")
    home = str(orders_settings(tmp_path, erp, purchases_from="orders").home)
    check = erp_crm("--home", home, "check")
    assert check.returncode == 0 and "no purchases" not in check.stdout, check.stdout
    assert erp_crm("--home", home, "sync").returncode == 0
    report = json.loads(erp_crm("--home", home, "metrics", "compute", "--as-of", "2024-06-30", "--json").stdout)
    assert report["customers"] == 2 and report["no_purchases"] is None
