"""What the customer-base models share: input checks, row compression and the fitting loop.

The models (``bgnbd``, ``gamma_gamma``, ``pareto_nbd``) are fitted by maximum likelihood
over the logarithms of their parameters, so that the optimiser can roam freely while the
parameters stay positive. Each model supplies its summed log-likelihood and its gradient;
this module adds lifetimes' ``penalizer_coef`` (an L2 term on the parameters, added to the
mean negative log-likelihood) and runs ``scipy.optimize.minimize``. With the analytic
gradient, BFGS needs a few dozen evaluations where finite differences would need hundreds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from scipy.optimize import minimize

# Summed log-likelihood over the data and its gradient with respect to the parameters.
LogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]


class FitError(RuntimeError):
    """The optimiser stopped without converging; a penalizer often helps."""


class TransactionModel(Protocol):
    """A model that predicts a customer's repeat purchases in the next ``t`` time units."""

    def conditional_expected_purchases(
        self, t: np.ndarray | float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray: ...


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
