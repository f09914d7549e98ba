"""The rank AUC by hand, and the evaluation on CDNOW's full 39/39-week split."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from erp_crm.entrypoints.cli.metrics import format_evaluation
from erp_crm.metrics.evaluate import HAND_WEIGHTED, LAPSE_SCORE, EvaluationReport, auc, evaluate
from erp_crm.settings.metrics import LapseSection, MetricsSection
from tests.data.cdnow import load_master


def test_auc_with_ties_by_hand() -> None:
    # Positives 3, 2, 2; negatives 2, 1. Pairs (pos, neg): 3>2, 3>1, 2=2 (½), 2>1, 2=2 (½), 2>1
    # -> 5 of 6 pairs = 5/6.
    scores = np.array([3, 2, 2, 2, 1], dtype=float)
    positives = np.array([True, True, True, False, False])
    assert auc(scores, positives) == pytest.approx(5 / 6)
    assert auc(-scores, positives) == pytest.approx(1 / 6)
    assert auc(np.ones(4), np.array([True, False, True, False])) == 0.5
    assert np.isnan(auc(scores, np.ones(5, dtype=bool)))
    # NaN scores are left out.
    assert auc(np.array([np.nan, 1, 0]), np.array([False, True, False])) == 1.0


def test_small_history_excludes_new_customers_and_counts_outcomes() -> None:
    ids = np.array([1, 1, 2, 3, 3, 4])
    days = np.array([0, 50, 10, 20, 120, 150])  # 4 first buys after the cutoff
    report = evaluate(ids, days, np.ones(6), cutoff=100, horizon_days=30, options=MetricsSection(lapse=LapseSection(no_purchase_days=60)))
    assert report.customers == 3 and report.lapsed_share == pytest.approx(2 / 3)
    assert report.cutoff == dt.date(1970, 4, 11)
    rule = next(f for f in report.flags if f.name == "rule")
    # Recency at day 100: 1 -> 50, 2 -> 90, 3 -> 80; > 60 flags 2 and 3; lapsed are 1 and 2.
    assert (rule.precision, rule.recall, rule.share_flagged) == (0.5, 0.5, pytest.approx(2 / 3))
    # lift: precision over the share who lapsed; the plain day rule flagging as many takes the 2 most silent (90, 80)
    assert rule.lift == pytest.approx(0.5 / (2 / 3))
    assert (rule.day_rule_days, rule.day_rule_precision, rule.day_rule_recall) == (80, 0.5, 0.5)
    model = next(f for f in report.flags if f.name == "model")
    assert model.share_flagged == 0 and np.isnan(model.lift) and np.isnan(model.day_rule_days), "nothing flagged: nothing to compare"


@pytest.fixture(scope="module")
def cdnow() -> EvaluationReport:
    data = load_master()
    return evaluate(data.customer_id, data.day, data.dollars, dt.date(1997, 9, 30), 273, MetricsSection())


def test_cdnow_lapse_score_beats_every_anchor(cdnow: EvaluationReport) -> None:
    report = cdnow
    print(format_evaluation(report))
    assert report.customers == 23_570
    assert report.score("days since last purchase") == pytest.approx(0.76, abs=0.01)
    assert report.score(HAND_WEIGHTED) > report.score("days since last purchase") + 0.003
    # Fitted on the period before the cutoff (as a metrics run on that day would), the lapse score ranks above every anchor.
    score = report.score(LAPSE_SCORE)
    assert score >= 0.770, score
    assert score > max(report.score(HAND_WEIGHTED), report.score("1 - P(alive) Pareto/NBD"), report.score("days since last purchase"))
    # ...and not by chance: the paired interval of each gain lies above 0
    gains = {g.over: g for g in report.gains}
    assert set(gains) == {"days since last purchase", HAND_WEIGHTED, "1 - P(alive) Pareto/NBD"}, "the best purchase model"
    assert all(g.interval[0] > 0 for g in gains.values()), gains
    assert gains["days since last purchase"].gain == pytest.approx(score - report.score("days since last purchase"))
    # The known trap: plain BG/NBD ranks worse than chance, MBG/NBD does not.
    assert report.score("1 - P(alive) BG/NBD") < 0.5 < report.score("1 - P(alive) MBG/NBD")
    json.dumps(report.as_dict())


def test_cdnow_default_flag_beats_the_day_rule_flagging_as_many(cdnow: EvaluationReport) -> None:
    flags = {f.name: f for f in cdnow.flags}
    default = flags["any"]
    assert default.threshold == "score" and default == dataclasses.replace(flags["score"], name="any", threshold="score")
    assert default.precision > default.day_rule_precision and default.recall > default.day_rule_recall, default
    assert default.lift > 1
    # The 365-day rule is scaled to the 272 days of history: half of it.
    assert flags["rule"].threshold.startswith("> 136 days") and flags["rule"].recall > 0.8


@pytest.mark.parametrize("share", [0.1, 0.3, 0.5])
def test_cdnow_the_top_share_beats_the_day_rule_too(share: float) -> None:
    data = load_master()
    report = evaluate(data.customer_id, data.day, data.dollars, dt.date(1997, 9, 30), 273, MetricsSection(lapse=LapseSection(score_top_share=share)))
    flag = next(f for f in report.flags if f.name == "score")
    assert flag.share_flagged == pytest.approx(share, abs=0.001)
    assert flag.precision > flag.day_rule_precision and flag.recall > flag.day_rule_recall, flag


def test_cdnow_weights_fitted_on_the_period_before_do_no_worse_on_the_evaluated_one(cdnow: EvaluationReport) -> None:
    """As production would: fitted on what was known at the cutoff, judged on the 273 days after it."""
    report = cdnow
    c = report.calibration
    assert not isinstance(c, str), c
    assert c.customers == 23_570
    assert c.fitted_on == "history to 1997-07-02, outcome to 1997-09-30 (90 days)"  # a third of the cohort's 272 days
    assert c.auc_fitted >= c.auc_current - 0.002, c
    assert c.auc_current_interval[0] < c.auc_current < c.auc_current_interval[1]
    combined = next(s for s in report.scores if s.name == HAND_WEIGHTED)
    assert (combined.auc, combined.interval) == (c.auc_current, c.auc_current_interval), "one score, one interval"
    assert c.auc_fitted_interval[1] - c.auc_fitted_interval[0] < 0.02, "23,570 customers pin the AUC to about ±0.006"
    assert all(v >= 0 for v in c.weights.values())
    text = format_evaluation(report)
    assert "metrics: {lapse: {score_model_weight: " in text and "fitted on the period before (history to 1997-07-02" in text


def test_calibration_recovers_the_weights_that_made_the_outcome() -> None:
    from erp_crm.metrics.evaluate import calibrate
    from erp_crm.metrics.lapse import ScoreTerms

    rng = np.random.default_rng(4)
    n = 40_000
    terms = ScoreTerms(*(pd.Series(v) for v in (rng.normal(0, 1, n), rng.normal(2, 1.5, n), np.abs(rng.normal(0, 1, n)))))
    truth = LapseSection(score_model_weight=0.5, score_silence_weight=1.5, score_rhythm_weight=0.8, score_reference_days=12)
    lapsed = rng.random(n) < terms.score(truth).to_numpy()
    half = n // 2
    first, second = (
        ScoreTerms(*(t.iloc[part].reset_index(drop=True) for t in (terms.model, terms.silence, terms.rhythm))) for part in (slice(0, half), slice(half, n))
    )
    c = calibrate((first, lapsed[:half]), (second, lapsed[half:]), LapseSection())
    assert not isinstance(c, str)
    fitted = c.weights
    assert fitted["score_model_weight"] == pytest.approx(0.5, abs=0.05)
    assert fitted["score_silence_weight"] == pytest.approx(1.5, abs=0.05)
    assert fitted["score_rhythm_weight"] == pytest.approx(0.8, abs=0.05)
    assert fitted["score_reference_days"] == pytest.approx(12, rel=0.1)
    assert c.auc_fitted > c.auc_current


def test_too_few_customers_to_calibrate_says_why() -> None:
    from erp_crm.metrics.evaluate import calibrate
    from erp_crm.metrics.lapse import ScoreTerms

    terms = ScoreTerms(*(pd.Series(np.zeros(30)) for _ in range(3)))
    labelled = (terms, np.arange(30) % 2 == 0)
    reason = calibrate(labelled, labelled, LapseSection(), fitted_on="the period before")
    assert reason == "too few customers to fit weights on (30 in the period before; at least 100 are needed)"
    many = (ScoreTerms(*(pd.Series(np.zeros(300)) for _ in range(3))), np.arange(300) < 295)
    reason = calibrate(many, many, LapseSection(), fitted_on="the period before")
    assert reason == "too few customers who returned in the period before to fit weights on: 295 of 300 lapsed, and at least 10 of each are needed"


def test_the_day_rule_flagging_as_many_draws_among_equally_silent_customers_at_random() -> None:
    from erp_crm.metrics.evaluate import _flag_result

    # four customers silent for 10 days, two of them lapsed, then one silent for 5 who returned; the flag takes 3
    recency = np.array([10.0, 10.0, 10.0, 10.0, 5.0])
    flagged = np.array([True, True, True, False, False])
    results = []
    for order in (np.arange(5), np.array([1, 3, 0, 2, 4]), np.array([3, 2, 1, 0, 4])):
        lapsed = np.array([True, False, True, False, False])[order]
        results.append(_flag_result("x", "", flagged, lapsed, recency[order]))
    # expected hits among 3 of the 4 tied: 3 × 2/4 = 1.5, whatever the row order
    assert {(r.day_rule_days, r.day_rule_precision, r.day_rule_recall) for r in results} == {(10.0, 0.5, 0.75)}


def test_one_outcome_for_everyone_gives_no_precision_and_no_lift() -> None:
    from erp_crm.metrics.evaluate import _flag_result

    result = _flag_result("x", "", np.array([True, False]), np.array([True, True]), np.array([3.0, 1.0]))
    assert np.isnan(result.precision) and np.isnan(result.recall) and np.isnan(result.lift) and result.share_flagged == 0.5


def test_the_gain_of_one_score_over_another_is_paired() -> None:
    from erp_crm.metrics.evaluate import gain_interval

    rng = np.random.default_rng(5)
    lapsed = rng.random(2_000) < 0.5
    good = lapsed + rng.normal(0, 1, 2_000)
    assert gain_interval(good, good, lapsed) == (0.0, (0.0, 0.0)), "a score against itself: no gain, in every draw"
    worse = good + rng.normal(0, 1, 2_000)
    gain, (low, high) = gain_interval(good, worse, lapsed)
    assert gain == pytest.approx(auc(good, lapsed) - auc(worse, lapsed)) and 0 < low < gain < high
    half = worse.copy()
    half[::2] = np.nan  # compared on the customers both score
    assert gain_interval(good, half, lapsed)[0] == pytest.approx(auc(good[1::2], lapsed[1::2]) - auc(worse[1::2], lapsed[1::2]))
