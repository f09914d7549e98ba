"""BG/NBD and MBG/NBD: how many purchases a customer will make, and whether they still buy.

BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way") lets a customer
drop out only right after a repeat purchase, so a one-time buyer is always rated alive
(P(alive) = 1 for x = 0): on CDNOW that ranks lapsed customers worse than chance. MBG/NBD
(Batislam, Denizel & Filiztekin 2007; lifetimes' ``ModifiedBetaGeoFitter``) also allows a
drop-out at the first purchase, which fixes that. The two differ only by a shift of one
in the purchase count of the beta part, so one class holds the formulas and the subclass
sets the shift:

- log-likelihood: ``lnΓ(r+x) - lnΓ(r) + r ln α + lnB(a, b+x+k) - lnB(a, b)
  + ln[(α+T)^-(r+x) + δ a/(b+x+k-1) (α+t_x)^-(r+x)]`` with k = 0, δ = [x > 0] for BG/NBD
  and k = 1, δ = 1 for MBG/NBD;
- P(alive) = 1 / (1 + δ a/(b+x+k-1) ((α+T)/(α+t_x))^(r+x)).

Everything is computed in logs (``logaddexp``, ``expit``) so that large x or T neither
overflow nor give NaN. Time is scaled so that the largest T is 1 while fitting, as
lifetimes does: the optimiser then starts near the answer whatever the time unit, and
``penalizer_coef`` means what it means in lifetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from erp_crm.metrics.models import as_1d, check_history, check_weights, compress, fit_log_params


@dataclass(frozen=True)
class BGNBD:
    """A fitted BG/NBD model: purchase rate ~ Gamma(r, α), drop-out probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")  # of the data it was fitted on, without penalty

    shift: ClassVar[int] = 0  # k: 1 when a customer may also drop out at the first purchase

    @classmethod
    def fit(
        cls,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,
        *,
        weights: np.ndarray | None = None,
        penalizer_coef: float = 0.0,
    ) -> Self:
        """Maximum-likelihood parameters for customers' (x, t_x, T), in T's time unit."""
        x, t_x, age = check_history(frequency, recency, T)
        w, (x, t_x, age) = compress(check_weights(weights, x.size), x, t_x, age)
        scale = 1.0 / float(age.max()) if age.max() > 0 else 1.0
        t_x_s, age_s = t_x * scale, age * scale

        def log_likelihood(params: np.ndarray) -> tuple[float, np.ndarray]:
            terms, gradient = cls._terms(params, x, t_x_s, age_s)
            return float(w @ terms), gradient @ w

        rate = max(float(w @ x) / float(w @ age_s), 1e-3)  # repeat purchases per time unit
        start = np.array([1.0, 1.0 / rate, 1.0, 1.0])
        r, alpha, a, b = fit_log_params(log_likelihood, start, float(w.sum()), penalizer_coef)
        alpha /= scale
        terms, _ = cls._terms(np.array([r, alpha, a, b]), x, t_x, age)
        return cls(float(r), float(alpha), float(a), float(b), float(w @ terms))

    @classmethod
    def _terms(
        cls, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's log-likelihood, and its gradient (4 × rows) with respect to params."""
        r, alpha, a, b = params
        k = cls.shift
        dropped = cls._may_drop_out(x)
        bk = b + np.maximum(x + k - 1, 0)  # b+x+k-1 where it matters, b where δ = 0
        log_aT, log_at = np.log(alpha + T), np.log(alpha + t_x)
        # log of the second term over the first: drop-out after the last purchase vs alive
        log_ratio = np.log(a) - np.log(bk) + (r + x) * (log_aT - log_at)
        ll = (
            gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            + gammaln(a + b) + gammaln(b + x + k) - gammaln(b) - gammaln(a + b + x + k)
            - (r + x) * log_aT
            + np.where(dropped, np.logaddexp(0.0, log_ratio), 0.0)
        )  # fmt: skip
        w4 = np.where(dropped, expit(log_ratio), 0.0)  # share of the drop-out term
        w3 = 1.0 - w4
        psi_ab, psi_abxk = digamma(a + b), digamma(a + b + x + k)
        gradient = np.stack([
            digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_aT - w4 * log_at,
            r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x)),
            psi_ab - psi_abxk + w4 / a,
            psi_ab + digamma(b + x + k) - digamma(b) - psi_abxk - w4 / bk,
        ])  # fmt: skip
        return ll, gradient

    @staticmethod
    def _may_drop_out(x: np.ndarray) -> np.ndarray:
        """δ: BG/NBD customers can drop out only after a repeat purchase."""
        return x > 0

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """ln of (P(dropped out) / P(alive)) given the history, where drop-out is possible."""
        bk = self.b + np.maximum(x + self.shift - 1, 0)
        return (
            np.log(self.a) - np.log(bk)
            + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        )  # fmt: skip

    def probability_alive(
        self, x: np.ndarray | float, t_x: np.ndarray | float, T: np.ndarray | float
    ) -> np.ndarray:
        """P(the customer has not dropped out by T | x repeat purchases, the last at t_x)."""
        x, t_x, T = np.broadcast_arrays(*(as_1d(n, v) for n, v in (("x", x), ("t_x", t_x), ("T", T))))
        return np.where(self._may_drop_out(x), expit(-self._log_odds_dead(x, t_x, T)), 1.0)

    def conditional_expected_purchases(
        self,
        t: np.ndarray | float,
        x: np.ndarray | float,
        t_x: np.ndarray | float,
        T: np.ndarray | float,
    ) -> np.ndarray:
        """Expected repeat purchases in (T, T + t] for a customer with history (x, t_x, T).

        The paper's formula holds 2F1(r+x, b+x+k; c; z) · (1-z)^(r+x), which overflows for
        large x; Euler's transformation turns it into (1-z)^(a-1) · 2F1(c-r-x, a-1; c; z),
        which stays near 1. Broadcasts ``t`` against the customers.
        """
        r, alpha, a, b, k = self.r, self.alpha, self.a, self.b, self.shift
        t = np.asarray(t, dtype=np.float64)
        alive = self.probability_alive(x, t_x, T)
        x, T = np.broadcast_arrays(as_1d("x", x), as_1d("T", T))
        c = a + b + x + k - 1
        z = t / (alpha + T + t)
        still_buying = 1.0 - (1.0 - z) ** (a - 1) * hyp2f1(c - r - x, a - 1, c, z)
        return c / (a - 1) * still_buying * alive

    def expected_purchases(self, t: np.ndarray | float) -> np.ndarray:
        """Expected repeat purchases in (0, t] of a new customer (unconditional, eq. 9)."""
        zero = np.zeros(1)
        return self.conditional_expected_purchases(np.asarray(t, dtype=np.float64)[..., None], zero, zero, zero)[..., 0]


@dataclass(frozen=True)
class MBGNBD(BGNBD):
    """A fitted MBG/NBD model: like BG/NBD, but a customer may drop out after any purchase."""

    shift: ClassVar[int] = 1

    @staticmethod
    def _may_drop_out(x: np.ndarray) -> np.ndarray:
        """δ: MBG/NBD customers can drop out right after their first purchase too."""
        return np.ones_like(x, dtype=bool)
