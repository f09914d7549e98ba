"""What the customer-base models share: input checks, row compression and the fitting loop.

The models (``bgnbd``, ``gamma_gamma``, ``pareto_nbd``) are fitted by maximum likelihood
over the logarithms of their parameters, so that the optimiser can roam freely while the
parameters stay positive. Each model supplies its per-row log-likelihood and gradient
(analytic where the formula allows, so that BFGS needs only a few dozen evaluations);
this module merges identical rows, adds lifetimes' ``penalizer_coef`` (an L2 term on the
parameters, added to the mean negative log-likelihood) and runs ``scipy.optimize.minimize``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, Self

import numpy as np
from scipy.optimize import minimize

# Summed log-likelihood over the data and its gradient with respect to the parameters.
LogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]
# Per-row log-likelihood of (x, t_x, T) and its gradient (parameters × rows).
Terms = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class FitError(RuntimeError):
    """The optimiser stopped without converging; a penalizer often helps."""


class TransactionModel(Protocol):
    """A model that predicts a customer's repeat purchases in the next ``t`` time units."""

    def conditional_expected_purchases(
        self, t: np.ndarray | float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray: ...


class PurchaseModel:
    """A four-parameter model of (x, t_x, T) histories: BG/NBD, MBG/NBD, Pareto/NBD.

    Subclasses are frozen dataclasses whose fields are the parameters followed by
    ``log_likelihood``; they supply ``_terms`` (per-row log-likelihood and gradient), name
    the parameters measured in time units (scales, divided by max T while fitting) and
    forecast a known customer; the fitting and the new-customer forecast are shared.
    """

    TIME_SCALED: ClassVar[tuple[int, ...]] = (1,)  # indexes of α (and β) among the parameters

    if TYPE_CHECKING:
        # What each subclass's dataclass __init__ takes: the parameters, then log_likelihood.
        def __init__(self, *params: float) -> None: ...

    @classmethod
    def _terms(
        cls, params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

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
        """Maximum-likelihood parameters for customers' (x, t_x, T), in T's time unit.

        ``weights`` counts customers per row; ``penalizer_coef`` is lifetimes' L2 penalty.
        """
        data = FitData.of(frequency, recency, T, weights)
        start = np.array([1.0, 1.0 / data.repeat_rate(), 1.0, 1.0])
        params = data.fit(cls._terms, start, penalizer_coef)
        params[list(cls.TIME_SCALED)] /= data.scale
        return cls(*map(float, params), data.log_likelihood(cls._terms, params))

    def conditional_expected_purchases(
        self, t: np.ndarray | float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        raise NotImplementedError

    def probability_alive(self, x: np.ndarray | float, t_x: np.ndarray | float, T: np.ndarray | float) -> np.ndarray:
        raise NotImplementedError

    def expected_purchases(self, t: np.ndarray | float) -> np.ndarray:
        """Expected repeat purchases in (0, t] of a customer who has just made a first purchase.

        Such a customer has x = t_x = T = 0, so this is the conditional forecast there.
        """
        zero = np.zeros(1)
        horizon = np.asarray(t, dtype=np.float64)[..., None]
        return self.conditional_expected_purchases(horizon, zero, zero, zero)[..., 0]


def broadcast_history(
    x: np.ndarray | float, t_x: np.ndarray | float, T: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A history to predict from, as finite float arrays of one shape."""
    x, t_x, T = np.broadcast_arrays(as_1d("x", x), as_1d("t_x", t_x), as_1d("T", T))
    return x, t_x, T


def as_1d(name: str, values: np.ndarray | float, size: int | None = None) -> np.ndarray:
    """``values`` as a finite float array, checked for shape; ValueError names the input."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        array = np.atleast_1d(array)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if size is not None and array.size != size:
        raise ValueError(f"{name} has {array.size} entries where {size} were expected")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def check_history(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (x, t_x, T) arrays as floats, refused if they cannot come from a purchase history.

    Refused: empty input, negative or fractional frequencies, negative recency, recency
    beyond T, and a recency other than 0 for a customer without repeat purchases.
    """
    x = as_1d("frequency", frequency)
    t_x = as_1d("recency", recency, x.size)
    age = as_1d("T", T, x.size)
    if x.size == 0:
        raise ValueError("no customers: frequency, recency and T are empty")
    if (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("frequency must hold non-negative whole numbers")
    if (t_x < 0).any():
        raise ValueError("recency must not be negative")
    if (t_x > age).any():
        raise ValueError("recency must not exceed T")
    if (t_x[x == 0] != 0).any():
        raise ValueError("recency must be 0 where frequency is 0")
    return x, t_x, age


def check_weights(weights: np.ndarray | None, size: int) -> np.ndarray:
    """Positive customer counts per row (ones when not given)."""
    if weights is None:
        return np.ones(size)
    w = as_1d("weights", weights, size)
    if (w <= 0).any():
        raise ValueError("weights must be positive")
    return w


@dataclass(frozen=True)
class FitData:
    """Distinct (x, t_x, T) rows with their customer counts, ready for a likelihood.

    While fitting, time is divided by the largest T (as lifetimes does): the optimiser then
    starts near the answer whatever the time unit, and ``penalizer_coef`` acts on the
    same numbers as lifetimes' does.
    """

    weight: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    scale: float  # 1 / max(T)

    @classmethod
    def of(
        cls, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray | None
    ) -> FitData:
        """The checked, compressed history (ValueError on impossible input)."""
        x, t_x, age = check_history(frequency, recency, T)
        weight, (x, t_x, age) = compress(check_weights(weights, x.size), x, t_x, age)
        longest = float(age.max())
        return cls(weight, x, t_x, age, 1.0 / longest if longest > 0 else 1.0)

    def repeat_rate(self) -> float:
        """Repeat purchases per scaled time unit over all customers: a start for r / α."""
        exposure = max(float(self.weight @ self.T) * self.scale, 1e-12)
        return max(float(self.weight @ self.x) / exposure, 1e-3)

    def fit(self, terms: Terms, start: np.ndarray, penalizer_coef: float) -> np.ndarray:
        """``fit_log_params`` of ``terms`` over the scaled history."""
        x, t_x, age = self.x, self.t_x * self.scale, self.T * self.scale

        def log_likelihood(params: np.ndarray) -> tuple[float, np.ndarray]:
            rows, gradient = terms(params, x, t_x, age)
            return float(self.weight @ rows), gradient @ self.weight

        return fit_log_params(log_likelihood, start, float(self.weight.sum()), penalizer_coef)

    def log_likelihood(self, terms: Terms, params: np.ndarray) -> float:
        """The summed log-likelihood in the original time unit, without penalty."""
        rows, _ = terms(params, self.x, self.t_x, self.T)
        return float(self.weight @ rows)


def numeric_gradient(
    log_likelihood: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> Terms:
    """``Terms`` for a per-row log-likelihood whose gradient has no handy closed form.

    Central differences with a relative step of 1e-6 (about the cube root of the machine
    epsilon) are accurate to some 1e-10, plenty for BFGS.
    """

    def terms(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = log_likelihood(params, x, t_x, T)
        gradient = np.empty((params.size, rows.size))
        for i, step in enumerate(params * 1e-6):
            shift = np.zeros_like(params)
            shift[i] = step
            up, down = log_likelihood(params + shift, x, t_x, T), log_likelihood(params - shift, x, t_x, T)
            gradient[i] = (up - down) / (2 * step)
        return rows, gradient

    return terms


def compress(weights: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Identical rows merged, their weights summed: the likelihood is evaluated once per pattern.

    Customers who bought once on the same day share (0, 0, T), so a history of a million
    customers usually has far fewer distinct rows than customers.
    """
    rows, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=weights, minlength=rows.shape[0])
    return summed, [rows[:, i].copy() for i in range(rows.shape[1])]


def fit_log_params(
    log_likelihood: LogLikelihood,
    start: np.ndarray,
    total_weight: float,
    penalizer_coef: float,
) -> np.ndarray:
    """The parameters that minimise mean negative log-likelihood plus the L2 penalty.

    Minimises ``-LL / total_weight + penalizer_coef * sum(params**2)`` over
    ``log(params)``, as lifetimes does, so that the same penalizer gives the same fit.
    """
    if penalizer_coef < 0:
        raise ValueError(f"penalizer_coef must not be negative, not {penalizer_coef}")

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        value, gradient = log_likelihood(params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(params)
        penalty = penalizer_coef * float(params @ params)
        chain = (-gradient / total_weight + 2.0 * penalizer_coef * params) * params
        return -value / total_weight + penalty, chain

    result = minimize(objective, np.log(start), jac=True, method="BFGS", options={"gtol": 1e-8})
    if not result.success and not _converged_anyway(result):
        raise FitError(f"the model did not converge: {result.message}")
    return np.exp(result.x)


def _converged_anyway(result: object) -> bool:
    """BFGS reports a precision loss when it sits at the optimum already; accept that."""
    gradient = getattr(result, "jac", None)
    return gradient is not None and bool(np.all(np.abs(gradient) < 1e-5))
