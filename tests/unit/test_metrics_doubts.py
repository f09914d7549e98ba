"""Fits that converge but cannot be trusted are told apart from good ones, and a good one is scored with as fitted."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from erp_crm.metrics import doubts
from erp_crm.metrics.bgnbd import MBGNBD
from erp_crm.metrics.fits import CHECKS, Fits, ModelInputs, kept_fits, new_fits, score
from erp_crm.metrics.gamma_gamma import GammaGamma
from erp_crm.metrics.rfm import QuintileCuts
from erp_crm.metrics.summary import rfm_summary
from erp_crm.settings.metrics import MetricsSection
from tests.data.cdnow import load_sample

# Fader, Hardie & Lee's CDNOW sample, 39-week calibration: the models fit it well
CDNOW = MBGNBD(r=0.2426, alpha=4.414, a=0.7929, b=2.426)


def _cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's 39-week calibration: purchases to 1997-09-30, time in weeks."""
    data = load_sample()
    summary = rfm_summary(data.customer_id, data.day, data.dollars, "1997-09-30", unit_days=7)
    return summary["frequency"].to_numpy(dtype=float), summary["recency"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)


def test_a_good_fit_raises_no_doubt_and_is_scored_with_as_fitted() -> None:
    x, t_x, T = _cdnow()
    model = MBGNBD.fit(x, t_x, T)
    assert doubts.purchase_model(model, x, t_x, T) is None
    inputs = ModelInputs(x, t_x, T, np.where(x > 0, 30.0, 0.0))
    figures = score(Fits(QuintileCuts(None, None, None), mbgnbd=model), inputs, MetricsSection())
    assert figures["p_alive"] == pytest.approx(model.probability_alive(x, t_x, T), rel=1e-12)


def test_parameters_at_the_edge_are_named() -> None:
    history = (np.array([1.0, 0.0, 2.0]), np.array([60, 0, 120]) / 7, np.array([172, 29, 181]) / 7)
    with np.errstate(all="ignore"):
        model = MBGNBD.fit(*history)
    doubt = doubts.purchase_model(model, *history)
    assert doubt is not None and doubt.startswith("its parameters ran to the edge of their range (") and "a = " in doubt


def test_a_model_that_calls_long_silent_customers_alive_is_doubted() -> None:
    """Almost no dropout (a tiny, b large, both in range): two years of silence still reads as 'active'."""
    never_leaves = MBGNBD(r=1.0, alpha=10.0, a=0.01, b=5000.0)
    x = np.full(20, 4.0)
    t_x, T = np.full(20, 20.0), np.full(20, 120.0)  # four repeat buys in 20 weeks, then 100 weeks of silence
    doubt = doubts.purchase_model(never_leaves, x, t_x, T)
    assert doubt is not None and "it calls customers alive who have been silent for over half a year" in doubt and "over 20 of them" in doubt
    assert doubts.purchase_model(CDNOW, x, t_x, T) is None


@pytest.mark.parametrize(
    "model, means, said",
    [
        (GammaGamma(p=6.25, q=0.9, v=15.4), np.array([10.0, 20.0]), "no finite mean (q = 0.9"),
        (GammaGamma(p=6.25, q=1.0001, v=15.4), np.array([10.0, 20.0]), "over 10 times the largest customer's mean"),
        (GammaGamma(p=6.25, q=3.74, v=15.44), np.array([10.0, 20.0, 80.0]), None),  # CDNOW's published fit
        (GammaGamma(p=2e5, q=3.74, v=0.001), np.array([10.0, 20.0, 80.0]), "edge of their range (p = 2e+05)"),
        (GammaGamma(p=6.25, q=3.74, v=2e6), np.array([3e5, 6e5, 9e5]), None),  # forints: a scale in the millions is no edge
    ],
)
def test_spend_models_without_a_usable_mean_are_doubted(model: GammaGamma, means: np.ndarray, said: str | None) -> None:
    doubt = doubts.spend_model(model, means)
    assert doubt is None if said is None else (doubt is not None and said in doubt), doubt


def test_a_small_base_keeps_no_model_and_says_why_for_both() -> None:
    x, t_x, T = np.array([1.0, 0.0, 2.0]), np.array([60, 0, 120]) / 7, np.array([172, 29, 181]) / 7
    inputs = ModelInputs(x, t_x, T, np.array([100.0, 0.0, 120.0]))
    fits = new_fits(inputs, np.array([112.0, 29.0, 61.0]), x + 1, np.array([100.0, 50.0, 120.0]), dt.date(2024, 6, 30), MetricsSection(min_customers=2))
    assert fits.mbgnbd is None and fits.gamma_gamma is None
    assert fits.record["mbgnbd"]["reason"].startswith("fitted but not used: its parameters ran to the edge")
    assert fits.record["gamma_gamma"]["reason"].startswith("the purchase model (mbgnbd) was not fitted")


def test_a_fit_kept_from_before_these_checks_is_fitted_again() -> None:
    """An overlay may hold a degenerate fit recorded as good: it must not be scored with until the checks have seen it."""
    record = {"rfm": {"recency_days": [1, 2, 3, 4], "frequency": [1, 2, 3, 4], "monetary": [1, 2, 3, 4], "fitted_as_of": "2024-06-30", "customers": 100}}
    day = dt.date(2024, 7, 1)
    assert kept_fits(record, 100, day, MetricsSection()) is None
    record["rfm"]["checks"] = CHECKS
    assert kept_fits(record, 100, day, MetricsSection()) is not None
