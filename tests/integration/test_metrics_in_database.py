"""Stage 1 computed by PostgreSQL equals stage 1 computed in Python, to the last bit.

A full run on a PostgreSQL overlay can write the day table by INSERT … SELECT and sum
it per partner in SQL (`metrics.aggregate_in: database`) instead of reading every
purchase day into numpy (`python`). The two must give the same day table, the same
stage-1 frame and the same stored rows: on the overlay of the figures worked out by
hand, on the demo ERP synced, and on hostile rows (credit notes of either sign, zero,
negative, NULL and huge amounts, documents on one day, deleted documents and lines,
documents without a date or a partner, sums that doubles add up differently in another
order, a repeat value halfway between two ten-thousandths, SQL in kinds, statuses and
product kinds), with purchases from invoices and from orders.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from erp_crm.demo import build_demo_erp
from erp_crm.metrics import aggregates
from erp_crm.metrics.compute import compute_metrics
from erp_crm.metrics.purchases import PURCHASES
from erp_crm.model.tables.metrics import partner_day, partner_metrics_history
from erp_crm.settings.metrics import MetricsSection, PurchasesFrom
from erp_crm.settings.root import load_settings
from tests.integration.test_dolibarr_mariadb import DEFINITION
from tests.integration.test_metrics_compute import AS_OF, OLD, Overlay, handmade
from tests.support.homes import make_home
from tests.support.services import run_sync

D = dt.date
DEMO_TODAY = dt.date(2025, 3, 10)
Amount = float | Decimal | None


def stage_one(o: Overlay, purchases_from: PurchasesFrom, as_of: dt.date, in_database: bool) -> tuple[pd.DataFrame, list[tuple[Any, ...]]]:
    """A full run's stage-1 frame (completed, as stage 2 takes it) and the day table it left."""
    with o.engine.begin() as conn:
        frame, _ = aggregates.everyone(conn, PURCHASES[purchases_from], as_of, in_database=in_database)
        days = [tuple(r) for r in conn.execute(sa.select(partner_day).order_by(partner_day.c.partner_id, partner_day.c.day))]
    return aggregates.complete(frame.reindex(columns=list(aggregates.AGGREGATES))).sort_index(), days


def stored(o: Overlay, options: MetricsSection, as_of: dt.date, aggregate_in: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The rows a full run with a fit of its own leaves, and the run's fit."""
    report = compute_metrics(o.database, options.model_copy(update={"aggregate_in": aggregate_in}), source="t", as_of=as_of, full=True, refit=True)
    return o.metrics(), o.metrics(partner_metrics_history, as_of), report.models


def assert_same_both_ways(o: Overlay, options: MetricsSection, as_of: dt.date, beyond_cents: str | None = None) -> pd.DataFrame:
    """Both ways give the same day table, stage-1 frame and stored rows, bit for bit.

    `beyond_cents`: a partner whose sums reach 10¹³, where a double's step exceeds a cent
    and the two ways, adding the same doubles in another order, may differ by a step.
    """
    python, python_days = stage_one(o, options.purchases_from, as_of, in_database=False)
    database, database_days = stage_one(o, options.purchases_from, as_of, in_database=True)
    assert database_days == python_days
    by_python = stored(o, options, as_of, "python")
    by_database = stored(o, options, as_of, "database")
    if beyond_cents is not None:
        huge = o.ids[("partner", beyond_cents)]
        pd.testing.assert_series_equal(database.loc[huge], python.loc[huge], rtol=1e-15, check_exact=False)
        python, database = python.drop(index=huge), database.drop(index=huge)
        for rows in (*by_python[:2], *by_database[:2]):
            rows.pop(beyond_cents)
    pd.testing.assert_frame_equal(database, python, check_exact=True, check_index_type=False)
    assert by_database == by_python
    return python


def test_the_handmade_overlay_gives_the_same_both_ways(pg_url: str) -> None:
    o = handmade(pg_url)
    frame = assert_same_both_ways(o, MetricsSection(min_customers=2), AS_OF)
    assert frame["purchase_days"].sum() == 7 and o.metrics()["alfa"]["services_value"] == 500.0


def hostile(url: str) -> Overlay:
    """Rows a well-behaved ERP does not hold, as invoices and as orders (with their lines)."""
    o = Overlay(url)
    for key in ("credit", "zero", "same", "one", "gone", "huge", "large", "nulls", "many", "half", "attack", "prospect"):
        o.add("partner", key, name=key)
    o.add("partner", "deleted", name="deleted", erp_deleted_at=OLD)
    o.add("product", "G", name="goods", kind="goods")
    o.add("product", "S", name="service", kind="service")
    order_number = iter(range(1, 1000))

    def document(partner: str | None, day: D | None, amount: Amount, kind: str | None = "invoice", status: str = "posted",
                 lines: tuple[tuple[str | None, Amount], ...] = (), **extra: Any) -> int:  # fmt: skip
        """An invoice, and an order of the same partner, day and amount, each with `lines` (product, amount)."""
        n = next(order_number)
        owner = {"partner_id": o.ids[("partner", partner)]} if partner else {}
        o.add("invoice", f"I{n}", date=day, amount_net=amount, status=status, kind=kind, **owner, **extra)
        order_status = {"posted": "confirmed", "paid": "delivered"}.get(status, status)
        sign = -1 if kind == "credit_note" and amount is not None else 1
        o.add("order", f"O{n}", date=day, amount_net=None if amount is None else sign * abs(amount), status=order_status, **owner, **extra)
        for i, (product, value) in enumerate(lines):
            chosen = {"product_id": o.ids[("product", product)]} if product else {}
            o.add("invoice_line", f"I{n}-{i}", invoice_id=o.ids[("invoice", f"I{n}")], amount_net=value, **chosen)
            o.add("order_line", f"O{n}-{i}", order_id=o.ids[("order", f"O{n}")], amount_net=value, **chosen)
        return n

    # credit notes stored negative and positive, one credited back on its own day, a day of credit notes alone
    document("credit", D(2024, 1, 5), 100, lines=(("G", 60), ("S", 40)))
    document("credit", D(2024, 2, 5), -30, kind="credit_note", lines=(("S", -30),))
    document("credit", D(2024, 3, 5), 20, kind="credit_note", lines=(("S", 20),))
    document("credit", D(2024, 4, 5), 50, lines=(("S", 50),))
    document("credit", D(2024, 4, 5), -50, kind="credit_note")
    document("credit", D(2024, 5, 5), 75.5)
    # zero, negative and NULL amounts; no kind (an invoice), a kind that is no sale
    document("zero", D(2024, 1, 1), 0)
    document("zero", D(2024, 1, 2), -10)
    document("zero", D(2024, 1, 3), None, lines=(("S", None), ("S", 5)))
    document("zero", D(2024, 1, 4), 12.3456, kind=None)
    document("zero", D(2024, 1, 5), 999, kind="deposit")
    # several documents on one day, service lines spread over them
    for amount in (10.1, 20.2, 30.3):
        document("same", D(2024, 3, 1), amount, lines=(("S", amount / 2), ("G", amount / 2)))
    document("same", D(2024, 3, 9), 1, lines=(("S", 1),))
    document("same", D(2024, 3, 9), 2, status="paid")
    document("one", D(2024, 6, 1), 400)
    # deleted documents and lines, drafts, cancelled ones, one after as_of
    kept = document("gone", D(2024, 2, 1), 70, lines=(("S", 70),))
    document("gone", D(2024, 2, 2), 80, erp_deleted_at=OLD)
    document("gone", D(2024, 2, 3), 90, status="draft")
    document("gone", D(2024, 2, 4), 95, status="cancelled")
    document("gone", D(2024, 7, 15), 110)
    o.add("invoice_line", "gone-deleted", invoice_id=o.ids[("invoice", f"I{kept}")], product="S", amount_net=500, erp_deleted_at=OLD)
    o.add("order_line", "gone-deleted", order_id=o.ids[("order", f"O{kept}")], product="S", amount_net=500, erp_deleted_at=OLD)
    # the largest amounts NUMERIC(18, 4) holds
    document("huge", D(2023, 1, 1), Decimal("99999999999999.9999"), lines=(("S", Decimal("12345678901234.5678")),))
    document("huge", D(2023, 6, 1), Decimal("12345678901234.5678"))
    document("huge", D(2023, 6, 1), Decimal("0.0001"))
    document("huge", D(2024, 1, 1), Decimal("99999999999999.9999"), kind="credit_note")
    document("huge", D(2024, 2, 1), Decimal("55555555555555.5555"))
    # sums up to 10¹¹, where every way of adding the doubles still rounds to the same ten-thousandth
    for i in range(30):
        document("large", D(2023, 1, 1) + dt.timedelta(days=7 * i), Decimal("3456789012.3456") + (Decimal("0.0001") if i == 29 else 0))
    # no date, no partner, lines without a product
    document("nulls", None, 500)
    document(None, D(2024, 1, 1), 600, lines=(("S", 600),))
    document("nulls", D(2024, 1, 1), 40, lines=((None, 40),))
    document("nulls", D(2024, 1, 20), 41)
    # 21 purchase days whose doubles sum differently in another order, gaps of an even count
    for i in range(21):
        document("many", D(2023, 1, 1) + dt.timedelta(days=i * 10 + i % 4), (0.1, 0.2, 0.3, 0.7, 1234.5678)[i % 5])
    # a repeat value exactly halfway between two ten-thousandths: (10 + 10.0001) / 2
    document("half", D(2024, 1, 1), 7)
    document("half", D(2024, 2, 1), 10)
    document("half", D(2024, 3, 1), 10.0001)
    document("deleted", D(2024, 3, 1), 33)
    # SQL in the values: compared as values, so none of these counts, and nothing runs
    o.add("product", "X", name="x'); DROP TABLE crm_partner_day; --", kind="service' OR '1'='1")
    document("attack", D(2024, 5, 1), 5, kind="credit_note'); DROP TABLE crm_partner_day; --")
    document("attack", D(2024, 5, 2), 6, status="posted' OR '1'='1", lines=(("X", 6),))
    document("attack", D(2024, 5, 3), 7, lines=(("X", 7),))
    o.add("quote", "Q1", partner="credit", date=D(2024, 1, 1), status="sent")
    o.add("quote", "Q2", partner="prospect", date=None, status="sent")
    o.add("ticket", "T1", partner="zero", category="complaint", opened_at=dt.datetime(2024, 2, 1, 9))
    return o


@pytest.mark.parametrize("purchases_from", ["invoices", "orders"])
def test_hostile_rows_give_the_same_both_ways(pg_url: str, purchases_from: PurchasesFrom) -> None:
    o = hostile(pg_url)
    frame = assert_same_both_ways(o, MetricsSection(min_customers=2, purchases_from=purchases_from), AS_OF, beyond_cents="huge")
    ids = {key: o.ids[("partner", key)] for key in ("credit", "half", "many", "nulls", "one", "large", "attack")}
    assert frame.loc[ids["half"], "repeat_value"] == round(10.00005, 4)
    assert frame.loc[ids["many"], "purchase_days"] == 21 and frame.loc[ids["one"], "longest_gap_days"] == 0
    assert frame.loc[ids["nulls"], "purchase_days"] == 2, "the document without a date belongs to no day"
    assert frame.loc[ids["large"], "revenue_net"] == 103_703_670_370.3681, "the exact sum, which numpy reaches too"
    assert frame.loc[ids["credit"], "purchase_days"] == 2
    counted = 1 if purchases_from == "invoices" else 2  # orders carry no kind
    assert frame.loc[ids["attack"], "purchase_days"] == counted and frame.loc[ids["attack"], "services_value"] == 0, "the hostile kinds and statuses are values that do not count"


def test_the_demo_erp_gives_the_same_both_ways(tmp_path: Path, pg_url: str) -> None:
    erp = tmp_path / "demo_erp.sqlite"
    build_demo_erp(erp, customers=150, years=2, seed=5, today=DEMO_TODAY)
    settings = load_settings(make_home(tmp_path, erp_url=f"sqlite:///{erp}", connector=str(DEFINITION), overlay_url=pg_url), environ={})
    o = Overlay(pg_url)
    run_sync(settings, mode="full")
    frame = assert_same_both_ways(o, settings.metrics, DEMO_TODAY)
    assert (frame["purchase_days"] > 1).sum() > 50 and frame["services_value"].abs().sum() > 0
