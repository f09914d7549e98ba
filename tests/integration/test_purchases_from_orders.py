"""An ERP whose sales live in orders: purchases from orders, and a plain word when no purchase is mapped.

tests/support/orders_erp.py is an ERP that confirms, delivers and closes orders and
invoices nowhere. With the default `metrics.purchases_from: invoices` a metrics run
finds no customer and says why in one line (the connector maps no invoices, or the
overlay holds none, and there are orders); with `purchases_from: orders` every purchase
figure comes from the orders, worked out by hand below, and incremental runs after a
real sync of order changes leave the tables a full run leaves. SQLite and PostgreSQL
overlays.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.errors import UserError
from erp_crm.metrics import compute
from erp_crm.metrics.backtest import evaluate_history
from erp_crm.model.tables.feed import partner_change
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.compiler import select_partners
from erp_crm.segments.metrics_fields import segment_registry
from erp_crm.settings.root import Settings
from tests.integration.test_metrics_sync import tables
from tests.support.mini_erp import quarantined
from tests.support.orders_erp import WITH_INVOICES, OrdersErp, orders_settings
from tests.support.services import open_overlay, overlay_engine, run_metrics, run_sync

AS_OF = dt.date(2024, 6, 30)
NOW = "2024-07-01 09:00:00"  # ERP stamps of the changes, after the first sync's cursor


@pytest.fixture
def erp(tmp_path: Path) -> OrdersErp:
    return OrdersErp(tmp_path / "orders_erp.sqlite")


def synced(tmp_path: Path, erp: OrdersErp, overlay_url: str, connector: str | None = None, **metrics: object) -> Settings:
    """A home on `erp`, fully synced, the change feed of that first load dated a day back."""
    settings = orders_settings(tmp_path, erp, overlay_url, **({"connector": connector} if connector else {}), **metrics)  # type: ignore[arg-type]
    run_sync(settings, mode="full")
    engine = overlay_engine(settings.overlay.full_url())
    with engine.begin() as conn:
        conn.execute(sa.update(partner_change).values(changed_at=partner_change.c.changed_at - dt.timedelta(days=1)))
    engine.dispose()
    return settings


def same_as_full(settings: Settings, as_of: dt.date) -> dict[str, dict[str, Any]]:
    """The figures the last (incremental) run left, by partner key, after checking that a full run leaves the same tables."""
    incremental = tables(settings, as_of)
    run_metrics(settings, as_of=as_of, full=True)
    assert tables(settings, as_of) == incremental
    return incremental[0]


def test_without_invoices_a_run_says_in_one_line_that_purchases_come_from_orders(tmp_path: Path, erp: OrdersErp, overlay_url: str) -> None:
    settings = synced(tmp_path, erp, overlay_url)
    report = run_metrics(settings, as_of=AS_OF)
    assert report.customers == 0
    assert report.no_purchases is not None
    line = report.no_purchases.line()
    assert "\n" not in line
    assert "the connector maps no invoices" in line and "there are 5 orders" in line and "metrics.purchases_from: orders" in line
    assert report.as_dict()["no_purchases"]["message"] == line


def test_an_empty_invoice_table_beside_orders_says_so_too(tmp_path: Path, erp: OrdersErp, overlay_url: str) -> None:
    settings = synced(tmp_path, erp, overlay_url, connector=WITH_INVOICES)
    missing = run_metrics(settings, as_of=AS_OF).no_purchases
    assert missing is not None
    assert "the overlay holds no posted or paid invoices dated on or before 2024-06-30" in missing.line()
    assert "there are 5 orders: to count them as purchases, set metrics.purchases_from: orders" in missing.line()
    with open_overlay(settings) as overlay, pytest.raises(UserError, match="no purchases .*purchases_from: orders"):
        evaluate_history(overlay, settings.metrics, dt.date(2024, 3, 1), 60)


def test_purchases_from_orders_give_every_purchase_figure(tmp_path: Path, erp: OrdersErp, overlay_url: str) -> None:
    settings = synced(tmp_path, erp, overlay_url, purchases_from="orders", min_customers=2)
    report = run_metrics(settings, as_of=AS_OF)
    assert report.customers == 2 and report.no_purchases is None
    got = tables(settings, AS_OF)[0]
    alfa, beta = got["1"], got["2"]
    # Alfa: 10 Jan (1000 + 500), 10 Mar (2000, of which 800 services), 10 May (700); the
    # cancelled and the draft order do not count
    assert (alfa["orders"], alfa["order_value"], alfa["invoices"], alfa["credit_notes"]) == (4, 4200.0, 0, 0)
    assert (alfa["revenue_net"], alfa["services_value"], alfa["purchase_days"], alfa["purchase_value"]) == (4200.0, 800.0, 3, 4200.0)
    assert (alfa["first_purchase"], alfa["last_purchase"], alfa["recency_days"], alfa["tenure_days"]) == (dt.date(2024, 1, 10), dt.date(2024, 5, 10), 51, 172)
    assert (alfa["repeat_value"], alfa["avg_order_value"], alfa["typical_gap_days"], alfa["monetary"]) == (1350.0, 1400.0, 60.5, 4200.0)
    assert alfa["rfm_group"] not in (None, "no_purchase") and alfa["lapsed_rule"] is False
    assert (beta["purchase_days"], beta["revenue_net"], beta["first_purchase"], beta["repeat_value"]) == (1, 400.0, dt.date(2024, 6, 1), None)
    for nobody in ("3", "4", "5"):  # a cancelled order, an order after the date, nothing
        assert (got[nobody]["purchase_days"], got[nobody]["revenue_net"], got[nobody]["rfm_group"]) == (0, 0.0, "no_purchase")
    evaluation = evaluate_history_for(settings, dt.date(2024, 3, 1), 60)
    assert evaluation.customers == 1  # Alfa had bought by 1 March


def evaluate_history_for(settings: Settings, cutoff: dt.date, horizon: int) -> object:
    with open_overlay(settings) as overlay:
        return evaluate_history(overlay, settings.metrics, cutoff, horizon)


def test_segments_read_orders_too(tmp_path: Path, erp: OrdersErp, overlay_url: str) -> None:
    settings = synced(tmp_path, erp, overlay_url, purchases_from="orders")
    run_metrics(settings, as_of=AS_OF)
    registry = segment_registry(settings.profile, settings.metrics.rfm, settings.metrics.purchases_from)
    partner = SYNCED["partner"]
    with open_overlay(settings) as overlay, overlay.connect() as conn:

        def keys(text: str) -> set[str]:
            ids = select_partners(text, registry, AS_OF).subquery()
            return set(conn.execute(sa.select(partner.c.erp_key).where(partner.c.id.in_(sa.select(ids.c.id)))).scalars())

        assert keys('bought(product: "szerviz")') == {"1"}  # Gamma's service order was cancelled
        assert keys("bought(within: 30 days)") == {"2"}
        assert keys("revenue_12m >= 4000") == {"1"}
        assert keys("revenue_12m > 0 and not bought(within: 45 days)") == {"1"}


def change_the_erp(erp: OrdersErp) -> None:
    """Order changes of every kind, each stamping the order as the ERP does."""
    erp.run(
        # Béta orders again today, with a service line
        f"insert into cmd values (10, 2, '2024-06-30', 'C10', 1, 900, '{NOW}')",
        "insert into cmddet values (10, 10, 'P1', 600), (11, 10, 'S1', 300)",
        # Alfa's order of 10 May moves to Epszilon
        f"update cmd set fk_soc = 5, tms = '{NOW}' where rowid = 4",
        # the service line of Alfa's order of 10 March is deleted
        "delete from cmddet where rowid = 4",
        f"update cmd set total_ht = 1200, tms = '{NOW}' where rowid = 3",
        # Gamma's cancelled order is confirmed after all
        f"update cmd set statut = 1, tms = '{NOW}' where rowid = 8",
        # a new customer with a closed order
        f"insert into soc values (6, 'Éta Kft.', '{NOW}')",
        f"insert into cmd values (11, 6, '2024-06-15', 'C11', 3, 250, '{NOW}')",
        "insert into cmddet values (12, 11, 'P1', 250)",
    )


def test_incremental_runs_after_order_changes_equal_full_runs(tmp_path: Path, erp: OrdersErp, overlay_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "WHOLE_SHARE", 1.0)  # aggregate only the changed partners, however many
    settings = synced(tmp_path, erp, overlay_url, purchases_from="orders", min_customers=2)
    run_metrics(settings, as_of=AS_OF, full=True)
    before = tables(settings, AS_OF)[0]
    change_the_erp(erp)
    run_sync(settings)

    report = run_metrics(settings, as_of=AS_OF)
    assert report.mode == "incremental" and report.recomputed == 5  # Alfa, Béta, Gamma, Epszilon, Éta
    after = same_as_full(settings, AS_OF)
    assert (after["1"]["purchase_days"], after["1"]["revenue_net"], after["1"]["services_value"]) == (2, 2700.0, 0.0)
    assert (after["2"]["purchase_days"], after["2"]["services_value"], after["2"]["last_purchase"]) == (2, 300.0, AS_OF)
    assert (after["3"]["purchase_days"], after["5"]["purchase_days"], after["6"]["purchase_days"]) == (1, 1, 1)
    assert after["4"] == before["4"], "nobody else's figures moved"

    later = dt.date(2024, 7, 31)  # Delta's order of 15 July starts to count
    report = run_metrics(settings, as_of=later)
    assert report.mode == "incremental"
    assert same_as_full(settings, later)["4"]["purchase_days"] == 1


def test_switching_to_orders_rewrites_the_day_table(tmp_path: Path, erp: OrdersErp, overlay_url: str) -> None:
    """The day table holds one kind of document: a run under the other setting starts over from that kind."""
    settings = synced(tmp_path, erp, overlay_url, connector=WITH_INVOICES)
    assert run_metrics(settings, as_of=AS_OF).customers == 0
    erp.run(f"insert into fac values (1, 3, '2024-02-20', 'F1', 0, 600, 1, '{NOW}')")  # Gamma is invoiced once
    run_sync(settings)
    assert run_metrics(settings, as_of=AS_OF).customers == 1
    orders = orders_settings(tmp_path, erp, settings.overlay.url, connector=WITH_INVOICES, purchases_from="orders")
    report = run_metrics(orders, as_of=AS_OF)
    assert report.mode == "incremental" and report.written == report.partners and report.customers == 2
    gamma = same_as_full(orders, AS_OF)["3"]
    assert (gamma["invoices"], gamma["purchase_days"], gamma["revenue_net"]) == (1, 0, 0.0), "invoices still counted, purchases from orders"


HOSTILE_ORDERS = [
    # (row, what must happen)
    (f"insert into cmd values (20, 2, '2024-06-10', 'H-null', 1, NULL, '{NOW}')", "counts, amount 0"),
    (f"insert into cmd values (21, 2, '2024-06-11', 'H-neg', 1, -500, '{NOW}')", "counts, a day of negative net is no purchase"),
    (f"insert into cmd values (22, 2, '2024-06-12', 'H-big', 2, 999999999999.99, '{NOW}')", "counts"),
    (f"insert into cmd values (23, 2, '9999-12-31', 'H-far', 1, 10, '{NOW}')", "quarantine: a placeholder, no day a record can have"),
    (f"insert into cmd values (24, 2, '1900-01-01', 'H-old', 1, 10, '{NOW}')", "counts, very old"),
    (f"insert into cmd values (25, 2, NULL, 'H-nodate', 1, 10, '{NOW}')", "quarantine: no date"),
    (f"insert into cmd values (26, 99, '2024-06-13', 'H-nobody', 1, 10, '{NOW}')", "quarantine: unknown partner"),
    (f"insert into cmd values (27, 2, '2024-06-14', 'H-status', 9, 10, '{NOW}')", "quarantine: a status the map does not know"),
    (f"insert into cmd values (28, 2, '2024-06-14', 'H-sql', 1, 10, '{NOW}')", "counts"),
    ("insert into cmddet values (30, 28, 'NOPE''; DROP TABLE crm_order; --', 10)", "a line of an unknown product: no service"),
    ("insert into cmddet values (31, 999, 'P1', 10)", "never read: lines are read through their order"),
]


def test_hostile_orders_are_counted_or_quarantined_and_never_stop_a_run(tmp_path: Path, erp: OrdersErp, overlay_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "WHOLE_SHARE", 1.0)
    settings = synced(tmp_path, erp, overlay_url, purchases_from="orders", min_customers=2)
    run_metrics(settings, as_of=AS_OF, full=True)
    erp.run(*(row for row, _ in HOSTILE_ORDERS))
    run_sync(settings)
    held = quarantined(settings)
    assert {key for (entity, key) in held if entity == "order"} == {"23", "25", "26", "27"} and all(held.values())

    report = run_metrics(settings, as_of=AS_OF)
    beta = same_as_full(settings, AS_OF)["2"]
    # 1 June 400, 10 June 0, 11 June -500, 12 June 999999999999.99, 1 January 1900 10, 14 June 10
    assert beta["first_purchase"] == dt.date(1900, 1, 1) and beta["last_purchase"] == dt.date(2024, 6, 14)
    assert beta["purchase_days"] == 4 and beta["services_value"] == 0.0
    assert beta["revenue_net"] == 999999999919.99
    assert report.customers == 2
