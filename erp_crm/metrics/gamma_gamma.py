"""Gamma-Gamma: what a customer's average purchase is really worth, and lifetime value.

A customer's observed mean order value is noisy when it rests on two orders. The
Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis") treats each customer's transactions as Gamma(p, ν) with
ν ~ Gamma(q, γ) across customers (``v`` here, as in lifetimes), and shrinks the observed
mean towards the population mean by how many transactions support it. It assumes order
value is independent of purchase frequency, so it is fitted on repeat buyers only with the
mean of their repeat purchases (``rfm_summary``'s ``monetary_value``).

Monetary values are divided by their mean while fitting, so that HUF and USD start the
optimiser equally close; ``penalizer_coef`` therefore acts on ``v`` in units of that mean,
not of currency (lifetimes' penalty on a currency-sized ``v`` would swamp the fit). With no
penalty the parameters are lifetimes'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
from scipy.special import digamma, gammaln

from erp_crm.metrics.models import TransactionModel, as_1d, check_weights, compress, fit_log_params


@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model with shape ``p``, and ``q``, ``v`` for its scale."""

    p: float
    q: float
    v: float
    log_likelihood: float = float("nan")  # of the data it was fitted on, without penalty

    @classmethod
    def fit(
        cls,
        frequency: np.ndarray,
        monetary_value: np.ndarray,
        *,
        weights: np.ndarray | None = None,
        penalizer_coef: float = 0.0,
    ) -> Self:
        """Maximum-likelihood p, q, v from repeat buyers' frequency and mean repeat value."""
        x, m = _check_spend(frequency, monetary_value)
        w, (x, m) = compress(check_weights(weights, x.size), x, m)
        scale = float(w @ m) / float(w.sum())

        def log_likelihood(params: np.ndarray) -> tuple[float, np.ndarray]:
            terms, gradient = _terms(params, x, m / scale)
            return float(w @ terms), gradient @ w

        p, q, v = fit_log_params(log_likelihood, np.array([1.0, 2.0, 1.0]), float(w.sum()), penalizer_coef)
        v *= scale
        terms, _ = _terms(np.array([p, q, v]), x, m)
        return cls(float(p), float(q), float(v), float(w @ terms))

    def conditional_expected_average_profit(
        self, frequency: np.ndarray | float, monetary_value: np.ndarray | float
    ) -> np.ndarray:
        """E[mean order value | x repeat purchases averaging m]: m shrunk to the population mean.

        Customers without repeat purchases (x = 0) get the population mean v·p/(q-1),
        which exists only for q > 1.
        """
        if self.q <= 1:
            raise ValueError(f"q = {self.q:.4g} ≤ 1: the population mean order value is infinite")
        x = as_1d("frequency", frequency)
        m = as_1d("monetary_value", monetary_value, x.size)
        weight = self.p * x / (self.p * x + self.q - 1)
        population_mean = self.v * self.p / (self.q - 1)
        return (1 - weight) * population_mean + weight * m

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,
        monetary_value: np.ndarray,
        *,
        time_months: int = 12,
        discount_rate_monthly: float = 0.01,
        periods_per_month: float = 30.0,
    ) -> np.ndarray:
        """Discounted value of each customer's purchases over the next ``time_months`` months.

        As lifetimes' ``customer_lifetime_value``: month i contributes the expected
        purchases in that month times the expected average profit, divided by
        (1 + rate)^i. ``periods_per_month`` converts months to the model's time unit
        (30 for days; lifetimes uses 4.345 for weeks).
        """
        profit = self.conditional_expected_average_profit(frequency, monetary_value)
        months = np.arange(time_months + 1, dtype=np.float64)
        cumulative = transaction_model.conditional_expected_purchases(
            months[:, None] * periods_per_month, frequency, recency, T
        )
        per_month = np.diff(cumulative, axis=0)
        discount = (1.0 + discount_rate_monthly) ** -months[1:]
        return profit * (discount @ per_month)


def _check_spend(frequency: np.ndarray, monetary_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repeat buyers' (x, m) as floats; the model needs x ≥ 1 and a positive mean value."""
    x = as_1d("frequency", frequency)
    m = as_1d("monetary_value", monetary_value, x.size)
    if x.size == 0:
        raise ValueError("no customers: frequency and monetary_value are empty")
    if (x < 1).any() or (x != np.round(x)).any():
        raise ValueError("Gamma-Gamma is fitted on repeat buyers only: frequency must be whole and ≥ 1")
    if (m <= 0).any():
        raise ValueError("monetary_value must be positive for every repeat buyer")
    return x, m


def _terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's log-likelihood and its gradient (3 × rows) in p, q, v."""
    p, q, v = params
    px = p * x
    log_xm_v = np.log(x * m + v)
    ll = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_xm_v
    )  # fmt: skip
    psi = digamma(px + q)
    gradient = np.stack([
        x * (psi - digamma(px) + np.log(m) + np.log(x) - log_xm_v),
        psi - digamma(q) + np.log(v) - log_xm_v,
        q / v - (px + q) / (x * m + v),
    ])  # fmt: skip
    return ll, gradient
