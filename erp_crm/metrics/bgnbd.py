"""BG/NBD and MBG/NBD: how many purchases a customer will make, and whether they still buy.

BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way") lets a customer
drop out only right after a repeat purchase, so a one-time buyer is always rated alive
(P(alive) = 1 for x = 0), which makes its P(alive) a poor ranking of who has lapsed. MBG/NBD
(Batislam, Denizel & Filiztekin 2007; lifetimes' ``ModifiedBetaGeoFitter``) also allows a
drop-out at the first purchase, which fixes that. The two differ only by a shift of one
in the purchase count of the beta part, so one class holds the formulas and the subclass
sets the shift:

- log-likelihood: ``lnΓ(r+x) - lnΓ(r) + r ln α + lnB(a, b+x+k) - lnB(a, b)
  + ln[(α+T)^-(r+x) + δ a/(b+x+k-1) (α+t_x)^-(r+x)]`` with k = 0, δ = [x > 0] for BG/NBD
  and k = 1, δ = 1 for MBG/NBD;
- P(alive) = 1 / (1 + δ a/(b+x+k-1) ((α+T)/(α+t_x))^(r+x)).

Everything is computed in logs (``logaddexp``, ``expit``) so that large x or T neither
overflow nor give NaN. Fitting is ``models.PurchaseModel.fit``: the gradient is analytic,
and time is scaled as lifetimes scales it, so ``penalizer_coef`` means what it means there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from erp_crm.metrics.models import PurchaseModel, broadcast_history


@dataclass(frozen=True)
class BGNBD(PurchaseModel):
    """A fitted BG/NBD model: purchase rate ~ Gamma(r, α), drop-out probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")  # of the data it was fitted on, without penalty

    shift: ClassVar[int] = 0  # k: 1 when a customer may also drop out at the first purchase

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
        x, t_x, T = broadcast_history(x, t_x, T)
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
        r, alpha, b, k = self.r, self.alpha, self.b, self.shift
        # At a = 1 exactly the formula is 0/0; its limit is the value a hair away.
        a = self.a if abs(self.a - 1) > 1e-7 else 1 + 1e-7
        t = np.asarray(t, dtype=np.float64)
        x, t_x, T = broadcast_history(x, t_x, T)
        alive = self.probability_alive(x, t_x, T)
        c = a + b + x + k - 1
        z = t / (alpha + T + t)
        still_buying = 1.0 - (1.0 - z) ** (a - 1) * hyp2f1(c - r - x, a - 1, c, z)
        return c / (a - 1) * still_buying * alive


@dataclass(frozen=True)
class MBGNBD(BGNBD):
    """A fitted MBG/NBD model: like BG/NBD, but a customer may drop out after any purchase."""

    shift: ClassVar[int] = 1

    @staticmethod
    def _may_drop_out(x: np.ndarray) -> np.ndarray:
        """δ: MBG/NBD customers can drop out right after their first purchase too."""
        return np.ones_like(x, dtype=bool)
