"""The history model's features worked out by hand, its fit finding the feature that decides, and its record read back."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from erp_crm.metrics.evaluate import auc
from erp_crm.metrics.lapse_fit import earlier_period, with_threshold
from erp_crm.metrics.lapse_model import FEATURES, LapseFit, LapseModel, figure_features, history_figures, too_few
from erp_crm.settings.metrics import LapseSection


def test_features_by_hand() -> None:
    # customer 1: 10 on day 0, 20 + 5 on day 10 (one purchase day of 25); customer 2: 7 on day 29; a purchase after the cut is not seen
    ids, days, values = np.array([1, 1, 1, 2, 2]), np.array([0, 10, 10, 29, 40]), np.array([10.0, 20.0, 5.0, 7.0, 99.0])
    history = history_figures(ids, days, values, cut=30)
    assert history.loc[1].to_dict() == {"first": 0, "last": 10, "purchase_days": 2, "spend_mean": 17.5, "longest_gap": 10}
    f = figure_features(history, 30)
    assert list(f.columns) == list(FEATURES) and list(f.index) == [1, 2]
    one = f.loc[1]
    assert one["silence"] == pytest.approx(math.log(21)) and one["silence_per_purchase"] == pytest.approx(math.log(21 / 2))
    assert one["purchases"] == pytest.approx(math.log(2)) and one["age"] == pytest.approx(math.log(31))
    assert one["spend_mean"] == pytest.approx(math.log(1 + 17.5))
    assert one["silence_over_longest_gap"] == pytest.approx(math.log(21 / 11)) and one["active_span"] == pytest.approx(math.log(11))
    two = f.loc[2]
    assert two["silence"] == pytest.approx(math.log(2)) and two["active_span"] == 0
    assert two["silence_over_longest_gap"] == pytest.approx(math.log(2)), "one purchase day: the longest gap is 0"


def test_the_fit_finds_the_feature_that_decides() -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    features = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=list(FEATURES))
    features["spend_mean"] = 3.0  # the same for everyone: carries no weight, and breaks nothing
    lapsed = rng.random(n) < 1 / (1 + np.exp(-2.0 * features["silence"].to_numpy()))
    model = LapseModel.fit(features, lapsed)
    weights = dict(zip(FEATURES, model.weights, strict=True))
    assert weights["silence"] > 1.5 and max(abs(w) for k, w in weights.items() if k != "silence") < 0.2
    assert weights["spend_mean"] == 0
    assert auc(model.probability(features), lapsed) > 0.8
    # the contributions add up to the log-odds, and the one that decides is the largest for the most silent
    assert np.allclose(model.contributions(features).sum(axis=1) + model.intercept, np.log(model.probability(features) / (1 - model.probability(features))))
    most_silent = int(np.argmax(features["silence"].to_numpy()))
    assert FEATURES[int(np.argmax(model.contributions(features)[most_silent]))] == "silence"


def test_a_kept_fit_scores_exactly_as_the_fitted_one() -> None:
    rng = np.random.default_rng(3)
    features = pd.DataFrame(rng.normal(size=(500, len(FEATURES))), columns=list(FEATURES))
    model = LapseModel.fit(features, rng.random(500) < 0.4)
    fit = LapseFit(model, 90, 0.5, "history to 2024-01-01, outcome to 2024-03-31 (90 days)", 500, 0.4)
    again = LapseFit.from_record(fit.record)
    assert again is not None and (again.days, again.threshold, again.fitted_on) == (90, 0.5, fit.fitted_on)
    assert np.array_equal(again.model.probability(features), model.probability(features)), "every number kept at full precision"
    assert LapseFit.from_record({"fitted": False, "reason": "too few"}) is None
    older = {**fit.record, "features": {k: v for k, v in fit.record["features"].items() if k != "age"}}
    assert LapseFit.from_record(older) is None, "a fit of other features is fitted again, not misread"


def test_the_earlier_period_and_the_top_share() -> None:
    assert earlier_period(0, 1000, 180) == (180, "history to 1972-03-31, outcome to 1972-09-27 (180 days)")
    assert earlier_period(700, 1000, 180)[0] == 100, "300 days of history: a third of it"
    assert earlier_period(998, 1000, 180) == "the history is shorter than three days"
    model = LapseModel(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0)
    fit = LapseFit(model, 90, 0.5, "", 10, 0.5)
    scores = np.linspace(0.01, 1.0, 100)
    assert with_threshold(fit, scores, LapseSection()).threshold == 0.5, "no share set: the probability"
    top = with_threshold(fit, scores, LapseSection(score_top_share=0.2)).threshold
    assert int((scores >= top).sum()) == 20


def test_too_few_to_fit_says_what_is_short() -> None:
    assert too_few(np.ones(50, bool), "May", "the model") == "too few customers to fit the model on (50 in May; at least 100 are needed)"
    assert "who returned" in (too_few(np.arange(300) < 295, "May", "the model") or "")
    assert "who lapsed" in (too_few(np.arange(300) < 5, "May", "the model") or "")
    assert too_few(np.arange(300) < 150, "May", "the model") is None
