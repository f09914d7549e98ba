"""The history model's features worked out by hand, and its fit finding the feature that decides."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from erp_crm.metrics.evaluate import auc
from erp_crm.metrics.lapse_model import FEATURES, LapseModel, history_features


def test_features_by_hand() -> None:
    # customer 1: 10 on day 0, 20 + 5 on day 10 (one purchase day of 25); customer 2: 7 on day 29; a purchase after the cut is not seen
    ids, days, values = np.array([1, 1, 1, 2, 2]), np.array([0, 10, 10, 29, 40]), np.array([10.0, 20.0, 5.0, 7.0, 99.0])
    f = history_features(ids, days, values, cut=30, expected=pd.Series({1: 0.5}))
    assert list(f.columns) == list(FEATURES) and list(f.index) == [1, 2]
    one = f.loc[1]
    assert one["silence"] == pytest.approx(math.log(21)) and one["silence_per_purchase"] == pytest.approx(math.log(21 / 2))
    assert one["purchases"] == pytest.approx(math.log(2)) and one["age"] == pytest.approx(math.log(31))
    assert one["spend_mean"] == pytest.approx(math.log(1 + 17.5)) and one["spend_spread"] == pytest.approx(math.log(1 + 7.5))
    assert one["silence_over_longest_gap"] == pytest.approx(math.log(21 / 11)) and one["active_span"] == pytest.approx(math.log(11))
    assert one["last_quarter"] == pytest.approx(math.log(3)) and one["expected_purchases"] == pytest.approx(math.log(0.501))
    two = f.loc[2]
    assert two["silence"] == pytest.approx(math.log(2)) and two["spend_spread"] == 0 and two["expected_purchases"] == 0, "no model figure: 0"


def test_the_fit_finds_the_feature_that_decides() -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    features = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=list(FEATURES))
    features["last_quarter"] = 3.0  # the same for everyone: carries no weight, and breaks nothing
    lapsed = rng.random(n) < 1 / (1 + np.exp(-2.0 * features["silence"].to_numpy()))
    model = LapseModel.fit(features, lapsed)
    weights = dict(zip(FEATURES, model.weights, strict=True))
    assert weights["silence"] > 1.5 and max(abs(w) for k, w in weights.items() if k != "silence") < 0.2
    assert weights["last_quarter"] == 0
    assert auc(model.probability(features), lapsed) > 0.8
