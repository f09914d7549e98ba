"""`metrics evaluate` tells the truth about itself: data that stop before the outcome window
ends, an outcome that is the same for everyone, a model that cannot be fitted, and JSON
without NaN. SQLite and PostgreSQL overlays.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import sqlalchemy as sa

from erp_crm.metrics.backtest import evaluate_history
from erp_crm.metrics.evaluate import evaluate
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import MetricsSection
from erp_crm.store.overlay import Overlay

STAMP = dt.datetime(2023, 1, 1)


def _overlay_with_purchases(url: str, days: dict[str, list[dt.date]]) -> Overlay:
    overlay = Overlay.open(sa.engine.make_url(url), at_head=False)
    overlay.upgrade()
    partner, invoice = SYNCED["partner"], SYNCED["invoice"]
    with overlay.begin() as conn:
        for n, (key, dates) in enumerate(days.items()):
            pid = conn.execute(
                sa.insert(partner).values(source="erp", erp_key=key, name=key, row_hash="x", synced_at=STAMP).returning(partner.c.id)
            ).scalar_one()
            for i, day in enumerate(dates):
                conn.execute(
                    sa.insert(invoice).values(
                        source="erp",
                        erp_key=f"{n}-{i}",
                        partner_id=pid,
                        date=day,
                        amount_net=100,
                        status="posted",
                        kind="invoice",
                        row_hash="x",
                        synced_at=STAMP,
                    )
                )
    return overlay


def test_data_that_stop_before_the_outcome_window_ends_are_said_first(overlay_url: str) -> None:
    months = [dt.date(2023, m, 5) for m in range(1, 7)]
    overlay = _overlay_with_purchases(overlay_url, {"a": months, "b": months[:2], "c": months[::2], "d": [dt.date(2023, 6, 28)]})
    with overlay:
        report = evaluate_history(overlay, MetricsSection(), dt.date(2023, 3, 31), 365)
        assert report.notes and report.notes[0].startswith("the outcome window ends 2024-03-30, but the last purchase in the overlay is of 2023-06-28")
        notes = evaluate_history(overlay, MetricsSection(), dt.date(2023, 3, 31), 89).notes
        assert not [n for n in notes if n.startswith("the outcome window")], "a window that ends with the data"
        assert notes == [
            "only 3 customers bought before the cutoff: with fewer than 100 every figure below moves by chance more than by merit (the intervals show how much)"
        ]


def test_an_outcome_the_same_for_everyone_is_explained_and_its_json_has_no_nan() -> None:
    ids, days = np.array([1, 1, 2, 3]), np.array([0, 10, 5, 7])  # nobody buys after day 20
    report = evaluate(ids, days, np.ones(4), cutoff=20, horizon_days=30, options=MetricsSection())
    assert report.lapsed_share == 1.0
    assert report.notes[0] == "no customer bought again within 30 days of the cutoff: AUCs need some who did (a longer --horizon, or an earlier --cutoff)"
    assert all(f["precision"] is None and f["lift"] is None for f in report.as_dict()["flags"]), "all lapsed: any flag is right, which says nothing"
    data = json.loads(json.dumps(report.as_dict(), allow_nan=False))  # strict JSON: NaN would raise
    assert all(s["auc"] is None for s in data["scores"])
    assert data["calibration"]["reason"].startswith("too few customers to fit weights on (3 in history to 1970-01-15, outcome to 1970-01-21 (6 days);")
    assert all(s["interval"] == [None, None] for s in data["scores"])
    history = next(s for s in data["scores"] if s["name"].startswith("lapse score"))
    assert history["customers"] == 0 and history["note"].startswith("too few customers to fit the lapse model on (3 in history to")


def test_a_model_that_cannot_be_fitted_says_why_in_its_row() -> None:
    """Three customers, two of them buying twice a day apart: no purchase model converges on that."""
    ids, days = np.array([1, 1, 2, 2, 3]), np.array([0, 1, 0, 1, 2])
    report = evaluate(ids, days, np.ones(5), cutoff=60, horizon_days=30, options=MetricsSection(min_customers=2))
    rows = {s.name: s for s in report.scores}
    for name in ("1 - P(alive) MBG/NBD", "1 - P(alive) Pareto/NBD"):
        assert rows[name].customers == 0
        assert rows[name].note == "not fitted: its fit did not converge (2 of 3 customers bought more than once)", rows[name]
    assert rows["days since last purchase"].note == "" and rows["days since last purchase"].customers == 3
    assert "precision loss" not in json.dumps(report.as_dict())
    # with the run's own minimum (20 customers), the models are not even tried, as in a metrics run
    rows = {s.name: s for s in evaluate(ids, days, np.ones(5), cutoff=60, horizon_days=30, options=MetricsSection()).scores}
    assert rows["1 - P(alive) BG/NBD"].note == "not fitted: 3 customers, fewer than metrics.min_customers (20)"
