"""Pareto/NBD: purchases at a Poisson rate until an exponential lifetime ends.

The model of Schmittlein, Morrison & Colombo (1987), in the form of Fader, Hardie & Lee's
"A Note on Deriving the Pareto/NBD Model and Related Expressions" (2005): rates
λ ~ Gamma(r, α) and μ ~ Gamma(s, β). Unlike BG/NBD a customer may drop out at any time,
also before a first repeat purchase, so one-time buyers fade with silence too.

Its likelihood holds A0 = F(t_x) - F(T) with F(t) = 2F1(r+s+x, ·; r+s+x+1; z(t)) /
(max(α, β) + t)^(r+s+x), whose hypergeometric factor overflows for large x and whose two
terms cancel. Euler's transformation rewrites F(t) as 2F1(1, B; r+s+x+1; z) times powers
of (α+t) and (β+t); with B < r+s+x+1 that series has positive terms, lies between 1 and
1/(1-z), and so never overflows; F is then kept in logs and A0 taken as
F(t_x)·(1 - F(T)/F(t_x)) with ``log1p``. The gradient is taken by central differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from erp_crm.metrics.models import PurchaseModel, broadcast_history, numeric_gradient


def _log_f(params: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """ln F(t), Euler-transformed: see the module's docstring."""
    r, alpha, s, beta = params
    c = r + s + x + 1
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        series = hyp2f1(1.0, r + x, c, z)
        return np.log(series) - (r + x) * np.log(alpha + t) - s * np.log(beta + t)
    z = (beta - alpha) / (beta + t)
    series = hyp2f1(1.0, s + 1, c, z)
    return np.log(series) - (r + x - 1) * np.log(alpha + t) - (s + 1) * np.log(beta + t)


def _log_a0(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """ln A0 = ln(F(t_x) - F(T)); -inf where t_x = T (no time in which to have died)."""
    at_last, at_end = _log_f(params, x, t_x), _log_f(params, x, T)
    with np.errstate(divide="ignore"):
        return at_last + np.log1p(-np.minimum(np.exp(at_end - at_last), 1.0))


def _log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each row's log-likelihood (the note's equation 18)."""
    r, alpha, s, beta = params
    alive_to_end = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died_since = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, T)
    return (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        + np.logaddexp(alive_to_end, died_since)
    )  # fmt: skip


_TERMS = numeric_gradient(_log_likelihood)


@dataclass(frozen=True)
class ParetoNBD(PurchaseModel):
    """A fitted Pareto/NBD model: purchase rate ~ Gamma(r, α), drop-out rate ~ Gamma(s, β).

    ``fit``'s ``penalizer_coef`` is added to the mean negative log-likelihood as for the
    other models; lifetimes' Pareto/NBD fitter, unlike its others, adds it to the sum.
    """

    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float = float("nan")  # of the data it was fitted on, without penalty

    TIME_SCALED: ClassVar[tuple[int, ...]] = (1, 3)

    @classmethod
    def _terms(
        cls, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's log-likelihood and its numeric gradient (4 × rows)."""
        return _TERMS(params, x, t_x, T)

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """ln of (P(dropped out) / P(alive)) given the history."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        return (
            np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
            + _log_a0(np.array([r, alpha, s, beta]), x, t_x, T)
        )  # fmt: skip

    def probability_alive(
        self, x: np.ndarray | float, t_x: np.ndarray | float, T: np.ndarray | float
    ) -> np.ndarray:
        """P(the customer's lifetime has not ended by T | x repeat purchases, the last at t_x)."""
        x, t_x, T = broadcast_history(x, t_x, T)
        return expit(-self._log_odds_dead(x, t_x, T))

    def conditional_expected_purchases(
        self,
        t: np.ndarray | float,
        x: np.ndarray | float,
        t_x: np.ndarray | float,
        T: np.ndarray | float,
    ) -> np.ndarray:
        """Expected repeat purchases in (T, T + t] for a customer with history (x, t_x, T).

        (r+x)(β+T) / (α+T) · (1 - ((β+T)/(β+T+t))^(s-1)) / (s-1) · P(alive), with the
        bracket written as -expm1 so that s near 1 (where it tends to a logarithm) is exact.
        """
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        t = np.asarray(t, dtype=np.float64)
        x, t_x, T = broadcast_history(x, t_x, T)
        alive = self.probability_alive(x, t_x, T)
        growth = np.log1p(t / (beta + T))
        lifetime = growth if s == 1 else -np.expm1(-(s - 1) * growth) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * lifetime * alive
