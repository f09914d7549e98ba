"""BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma: published CDNOW parameters, lifetimes' figures, sanity.

The lifetimes literals were produced once with lifetimes 0.11.3 (``BetaGeoFitter``,
``ModifiedBetaGeoFitter``, ``ParetoNBDFitter``, ``GammaGammaFitter``) on lifetimes' own
summary of the same data, which equals ours; lifetimes is not needed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from erp_crm.metrics.bgnbd import BGNBD, MBGNBD
from erp_crm.metrics.gamma_gamma import GammaGamma
from erp_crm.metrics.pareto_nbd import ParetoNBD
from erp_crm.metrics.summary import rfm_summary
from tests.data.cdnow import load_sample

PICKED = [4, 18, 21, 50, 60, 11270, 1760]  # sample customers: x = 2, 0, 1, 0, 0, 0, 29

# lifetimes on the 39-week calibration: params, P(alive) and E[purchases in the next 39
# weeks] of the PICKED customers, E[purchases of a new customer in 1, 39, 78 weeks].
LIFETIMES = {
    BGNBD: (
        [0.24259454342106748, 4.413602716077377, 0.7929218333478221, 2.4259057287215464],
        [0.726620297788, 1.0, 0.212391024349, 1.0, 1.0, 1.0, 0.969221274605],
        [1.225994429672, 0.19654878485, 0.203418827605, 0.194793642213, 0.214615880535,
         0.221159390653, 20.055250150779],
        [0.053184287693, 1.195009974479, 1.857958317009],
    ),
    MBGNBD: (
        [0.5248429031496007, 6.183081764399293, 0.8913595172711934, 1.6140029311982416],
        [0.706138490795, 0.39091722718, 0.170951080331, 0.389723104309, 0.402717576394,
         0.40678551245, 0.965938078061],
        [1.262758840171, 0.155743606539, 0.188944887747, 0.153966009864, 0.174208571815,
         0.180965629816, 18.95187239951],
        [0.053060332653, 1.182279847084, 1.803630518033],
    ),
    ParetoNBD: (
        [0.5532713863693925, 10.577477113270172, 0.606212869392958, 11.66805533057577],
        [0.869137800554, 0.297651963018, 0.167997987974, 0.295116798542, 0.323389637149,
         0.332547706252, 0.996187060482],
        [1.455219255611, 0.108796956775, 0.171117425738, 0.10707176384, 0.127066900287,
         0.133900533023, 19.596050323205],
        [0.05100683365, 1.213419849189, 1.909901427081],
    ),
}  # fmt: skip
# lifetimes stops Pareto/NBD's Nelder-Mead search at tol=1e-4: a looser match there.
TOLERANCE = {BGNBD: 1e-5, MBGNBD: 1e-5, ParetoNBD: 2e-4}


@pytest.fixture(scope="module")
def calibration() -> pd.DataFrame:
    """The paper's 39-week calibration: purchases to 1997-09-30, time in days / 7."""
    data = load_sample()
    return rfm_summary(data.customer_id, data.day, data.dollars, "1997-09-30", unit_days=7)


@pytest.fixture(scope="module")
def bgnbd(calibration: pd.DataFrame) -> BGNBD:
    return BGNBD.fit(calibration.frequency, calibration.recency, calibration["T"])


def _picked(calibration: pd.DataFrame) -> tuple[np.ndarray, ...]:
    rows = calibration.loc[PICKED]
    return tuple(rows[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))


def _params(model: BGNBD | ParetoNBD) -> list[float]:
    return [getattr(model, name) for name in ("r", "alpha", "a", "b", "s", "beta") if hasattr(model, name)]


def test_reproduces_fader_hardie_lee_2005(bgnbd: BGNBD) -> None:
    """Table 1 of "Counting Your Customers the Easy Way", to three significant digits."""
    fitted = [*_params(bgnbd), bgnbd.log_likelihood]
    published = [0.243, 4.414, 0.793, 2.426, -9582.4]
    assert [float(f"{v:.3g}") for v in fitted] == [float(f"{v:.3g}") for v in published]
    np.testing.assert_allclose(fitted, published, rtol=2e-3)


def test_pareto_nbd_log_likelihood_as_published(calibration: pd.DataFrame) -> None:
    """The same paper puts Pareto/NBD's log-likelihood on these data at -9595.0."""
    fitted = ParetoNBD.fit(calibration.frequency, calibration.recency, calibration["T"])
    assert fitted.log_likelihood == pytest.approx(-9595.0, abs=0.05)


@pytest.mark.parametrize("model", list(LIFETIMES), ids=lambda m: m.__name__)
def test_as_lifetimes(model: type[BGNBD | ParetoNBD], calibration: pd.DataFrame) -> None:
    params, alive, expected, new_customer = LIFETIMES[model]
    rtol = TOLERANCE[model]
    fitted = model.fit(calibration.frequency, calibration.recency, calibration["T"])
    x, t_x, T, _ = _picked(calibration)
    np.testing.assert_allclose(_params(fitted), params, rtol=rtol)
    np.testing.assert_allclose(fitted.probability_alive(x, t_x, T), alive, rtol=rtol)
    np.testing.assert_allclose(fitted.conditional_expected_purchases(39, x, t_x, T), expected, rtol=rtol)
    np.testing.assert_allclose(fitted.expected_purchases([1.0, 39.0, 78.0]), new_customer, rtol=rtol)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (BGNBD, [0.24294200272158784, 4.432506424474998, 0.2856428013155495, 0.6584593861010992]),
        (MBGNBD, [0.6152506218706675, 6.738559369770051, 0.49908000850809, 0.6722752154474537]),
    ],
)
def test_penalizer_as_lifetimes(model: type[BGNBD], expected: list[float], calibration: pd.DataFrame) -> None:
    fitted = model.fit(calibration.frequency, calibration.recency, calibration["T"], penalizer_coef=0.01)
    np.testing.assert_allclose(_params(fitted), expected, rtol=1e-4)


def test_gamma_gamma_as_lifetimes_and_paper(calibration: pd.DataFrame, bgnbd: BGNBD) -> None:
    """"RFM and CLV" reports p = 6.25, q = 3.74, γ = 15.44 for these 946 repeat buyers."""
    repeat = calibration[calibration.frequency > 0]
    assert len(repeat) == 946
    spend = GammaGamma.fit(repeat.frequency, repeat.monetary_value)
    expected = [6.249572277630461, 3.744224674759183, 15.443521018380618]
    np.testing.assert_allclose([spend.p, spend.q, spend.v], expected, rtol=1e-5)
    x, t_x, T, m = _picked(calibration)
    np.testing.assert_allclose(
        spend.conditional_expected_average_profit(x, m),
        [24.653918713237, 35.170371330454, 18.910018475345, 35.170371330454, 35.170371330454,
         35.170371330454, 26.3942635031],
        rtol=1e-5,
    )  # fmt: skip
    # lifetimes: customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01, freq="W")
    clv = spend.customer_lifetime_value(
        bgnbd, x, t_x, T, m, time_months=12, discount_rate_monthly=0.01, periods_per_month=4.345
    )
    np.testing.assert_allclose(
        clv,
        [36.273977451164, 8.417957595002, 4.640936126485, 8.344480971584, 9.172956337012,
         9.445807458843, 625.429262421823],
        rtol=1e-5,
    )  # fmt: skip


def test_gamma_gamma_does_not_care_about_the_currency(calibration: pd.DataFrame) -> None:
    repeat = calibration[calibration.frequency > 0]
    dollars = GammaGamma.fit(repeat.frequency, repeat.monetary_value)
    forints = GammaGamma.fit(repeat.frequency, repeat.monetary_value * 350)
    np.testing.assert_allclose(
        [forints.p, forints.q, forints.v / 350], [dollars.p, dollars.q, dollars.v], rtol=1e-5
    )


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_probabilities_and_expectations_behave(model: type[BGNBD], calibration: pd.DataFrame) -> None:
    fitted = model.fit(calibration.frequency, calibration.recency, calibration["T"])
    alive = fitted.probability_alive(calibration.frequency, calibration.recency, calibration["T"])
    assert ((alive >= 0) & (alive <= 1)).all()
    # The longer a customer has been silent, the less likely they are still buying.
    silence = np.linspace(0, 38, 20)
    fading = fitted.probability_alive(np.full(20, 3.0), 39.0 - silence, np.full(20, 39.0))
    assert (np.diff(fading) < 0).all()
    # More time, more purchases.
    horizon = np.linspace(0, 200, 30)[:, None]
    grows = fitted.conditional_expected_purchases(horizon, 2.0, 20.0, 39.0)[:, 0]
    assert grows[0] == 0 and (np.diff(grows) > 0).all()


def test_one_time_buyers() -> None:
    """BG/NBD's known flaw: a one-time buyer is surely alive; MBG/NBD does not say so."""
    params = dict(r=0.5, alpha=5.0, a=0.9, b=1.6)
    assert BGNBD(**params).probability_alive(0, 0, 500)[0] == 1.0
    assert MBGNBD(**params).probability_alive(0, 0, 500)[0] < 0.5


@pytest.mark.parametrize(
    "fitted",
    [
        BGNBD(r=0.24, alpha=4.4, a=0.79, b=2.4),
        BGNBD(r=0.24, alpha=4.4, a=1.0, b=2.4),  # a = 1: the forecast's 0/0
        MBGNBD(r=0.52, alpha=6.2, a=0.89, b=1.6),
        ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7),
        ParetoNBD(r=0.55, alpha=1.6, s=1.0, beta=11.7),  # α < β, and s = 1 exactly
    ],
)
def test_extreme_histories_stay_finite(fitted: BGNBD | ParetoNBD) -> None:
    x = np.array([0, 1, 500, 5000, 50000.0])
    T = np.array([1e-3, 1e4, 1e5, 1e5, 1e6])
    for t_x in (np.zeros(5), T * (x > 0) * 0.5, T * (x > 0)):
        alive = fitted.probability_alive(x, t_x, T)
        expected = fitted.conditional_expected_purchases(52.0, x, t_x, T)
        assert np.isfinite(alive).all() and np.isfinite(expected).all()
        assert ((alive >= 0) & (alive <= 1)).all() and (expected >= 0).all()


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([], [], [], "empty"),
        ([-1], [0], [5], "frequency"),
        ([1.5], [1], [5], "frequency"),
        ([1], [-1], [5], "recency"),
        ([1], [6], [5], "exceed"),
        ([0], [2], [5], "frequency is 0"),
        ([1], [np.nan], [5], "NaN"),
        ([1, 2], [1], [5, 5], "entries"),
    ],
)
def test_refused_histories(frequency: list, recency: list, T: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BGNBD.fit(frequency, recency, T)


def test_refused_penalizer_and_weights() -> None:
    with pytest.raises(ValueError, match="penalizer"):
        BGNBD.fit([1, 0], [1, 0], [5, 5], penalizer_coef=-1)
    with pytest.raises(ValueError, match="weights"):
        BGNBD.fit([1, 0], [1, 0], [5, 5], weights=[1, 0])


@pytest.mark.parametrize(
    ("frequency", "monetary_value", "message"),
    [([], [], "empty"), ([0], [5.0], "repeat buyers"), ([2], [-5.0], "positive"), ([2], [0.0], "positive")],
)
def test_refused_spend(frequency: list, monetary_value: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GammaGamma.fit(frequency, monetary_value)


def test_weights_and_duplicate_rows_give_the_same_fit(calibration: pd.DataFrame, bgnbd: BGNBD) -> None:
    twice = pd.concat([calibration, calibration])
    doubled = np.full(len(calibration), 2)
    for fitted in (
        BGNBD.fit(twice.frequency, twice.recency, twice["T"]),
        BGNBD.fit(calibration.frequency, calibration.recency, calibration["T"], weights=doubled),
    ):
        np.testing.assert_allclose(_params(fitted), _params(bgnbd), rtol=1e-5)
        assert fitted.log_likelihood == pytest.approx(2 * bgnbd.log_likelihood)
