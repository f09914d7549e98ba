"""The lapse score judged on two real transaction logs besides CDNOW: it must rank no worse than recency or the hand-weighted score there.

Online Retail is a year of a gift-ware retailer's invoices, many of its customers
wholesalers who bought before the log starts; the grocery log is a cohort of regular
buyers over two years. Each is evaluated as `metrics evaluate` would on the company's
own overlay: the score fitted on the period before the cutoff, judged on the one after.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from erp_crm.entrypoints.cli.metrics import format_evaluation
from erp_crm.metrics.evaluate import HAND_WEIGHTED, LAPSE_SCORE, evaluate
from erp_crm.settings.metrics import MetricsSection
from tests.data.transaction_logs import load_grocery, load_online_retail

LOGS = {
    # half a year of history, half a year of outcome (to the end of the log)
    "online retail": (load_online_retail, dt.date(2011, 6, 9), 183, 2_800),
    # the cohort's first year, and its second as the outcome
    "grocery": (load_grocery, dt.date(2006, 12, 31), 364, 1_525),
}


@pytest.mark.parametrize("name", list(LOGS))
def test_the_lapse_score_ranks_above_recency_and_the_hand_weighted_score(name: str) -> None:
    load, cutoff, horizon, customers = LOGS[name]
    report = evaluate(*load(), cutoff, horizon, MetricsSection())
    print(format_evaluation(report))
    assert report.customers == customers and not report.notes
    score = report.score(LAPSE_SCORE)
    assert score > max(report.score("days since last purchase"), report.score(HAND_WEIGHTED)), score
    over_recency = next(g for g in report.gains if g.over == "days since last purchase")
    assert over_recency.interval[0] > 0, "above recency beyond chance (paired bootstrap)"
    flag = next(f for f in report.flags if f.name == "any")
    assert flag.threshold == "score" and flag.lift > 1
    assert flag.precision > flag.day_rule_precision and flag.recall > flag.day_rule_recall, flag


def test_the_logs_are_the_documented_ones() -> None:
    ids, days, amounts = load_online_retail()
    assert (len(ids), len(np.unique(ids)), round(float(amounts.sum()), 2)) == (18_532, 4_338, 8_911_407.90)
    assert (str(days.min()), str(days.max())) == ("2010-12-01", "2011-12-09")
    ids, days, _ = load_grocery()
    assert (len(ids), len(np.unique(ids)), str(days.min()), str(days.max())) == (10_483, 1_525, "2006-01-01", "2007-12-30")
