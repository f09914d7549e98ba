"""A logistic model of "bought nothing in the horizon" on log features of each customer's history.

The hand-weighted combined score weighs three terms. This model weighs seven features
known at a cutoff (how long silent, how often and how much bought, how long a customer,
how long the longest pause so far) and learns the weights from the company's own
history, on a period that ended before the one it is scored on, as production must
(`lapse_fit`). Pure numpy, pandas and scipy: a thousand customers fit in milliseconds.

Every feature is a logarithm (or a log ratio), so that a customer silent for 400 days
does not weigh a hundred times one silent for four, and standardised on the customers it
is fitted on; a small L2 penalty keeps the weights finite when a feature separates the
outcome perfectly on a small base.

Every feature comes from figures a metrics run keeps per partner (`features_of`), so a
row can be scored alone, as an incremental run needs. Two features that were tried were
left out because they added nothing on CDNOW (AUC without each: 0.7713 and 0.7714
against 0.7713 with both): the spread of spend per purchase day, and purchase days in
the last quarter, which would also change with the date alone and so need every row
rewritten every day. A third, the purchases the MBG/NBD model expects over the horizon,
was dropped because it made the model worse on a second data set: fitted on the earlier
period of a cohort, when every customer was new, the purchase model's view differs from
the one at the cutoff, and the history model learnt the wrong weight for it (online
grocery 0.879 with it, 0.892 without; CDNOW 0.7722 with, 0.7707 without). The model
then also needs no purchase model, and does not change when that one cannot be fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit

PENALTY = 1.0  # L2 on the standardised weights: the pull of one imaginary customer per weight
MIN_CUSTOMERS = 100  # customers in the period fitted on, and a tenth of that of each outcome: fewer gives noise

FEATURES = (
    "silence_per_purchase",  # ln((1 + days silent) / purchase days)
    "silence",  # ln(1 + days silent)
    "purchases",  # ln(purchase days)
    "age",  # ln(1 + days since the first purchase)
    "spend_mean",  # ln(1 + mean spend per purchase day)
    "silence_over_longest_gap",  # ln((1 + days silent) / (1 + longest gap between purchase days))
    "active_span",  # ln(1 + days from the first purchase to the last)
)


def features_of(silence: np.ndarray, purchases: np.ndarray, age: np.ndarray, spend_mean: np.ndarray, longest_gap: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """`FEATURES` from each customer's figures in days (one value per customer, in the order of `index`)."""
    silence, count, age = (np.asarray(a, dtype=np.float64) for a in (silence, purchases, age))
    gap = np.nan_to_num(np.asarray(longest_gap, dtype=np.float64), nan=0.0)
    return pd.DataFrame(
        {
            "silence_per_purchase": np.log((1.0 + silence) / count),
            "silence": np.log1p(silence),
            "purchases": np.log(count),
            "age": np.log1p(age),
            "spend_mean": np.log1p(np.clip(np.asarray(spend_mean, dtype=np.float64), 0.0, None)),
            "silence_over_longest_gap": np.log((1.0 + silence) / (1.0 + gap)),
            "active_span": np.log1p(age - silence),
        },
        index=index,
    )


def history_figures(customer_ids: np.ndarray, day: np.ndarray, values: np.ndarray, cut: int) -> pd.DataFrame:
    """first, last (day numbers), purchase_days, spend_mean and longest_gap per customer with a purchase on or before day `cut`, in id order.

    These are the figures a metrics run keeps per partner (`aggregates`), here from
    purchase records: several on one day make one purchase day.
    """
    known = day <= cut
    frame = pd.DataFrame({"customer": customer_ids[known], "day": day[known], "value": values[known]})
    days = frame.groupby(["customer", "day"], sort=True)["value"].sum().reset_index()
    grouped = days.groupby("customer", sort=True)
    return pd.DataFrame(
        {
            "first": grouped["day"].min(),
            "last": grouped["day"].max(),
            "purchase_days": grouped["day"].size(),
            "spend_mean": grouped["value"].mean(),
            "longest_gap": days.assign(gap=grouped["day"].diff()).groupby("customer", sort=True)["gap"].max(),
        }
    )


def figure_features(figures: pd.DataFrame, cut: int) -> pd.DataFrame:
    """`FEATURES` at day `cut` from `history_figures`."""
    f = figures
    return features_of(
        cut - f["last"].to_numpy(),
        f["purchase_days"].to_numpy(),
        cut - f["first"].to_numpy(),
        f["spend_mean"].to_numpy(),
        f["longest_gap"].to_numpy(),
        f.index,
    )


def too_few(lapsed: np.ndarray, period: str, what: str) -> str | None:
    """Why `period` cannot serve to fit `what` on (too few customers, or too few of one outcome), or None."""
    n, n_lapsed = len(lapsed), int(np.count_nonzero(lapsed))
    if n < MIN_CUSTOMERS:
        return f"too few customers to fit {what} on ({n:,} in {period}; at least {MIN_CUSTOMERS} are needed)"
    least = MIN_CUSTOMERS // 10
    if min(n_lapsed, n - n_lapsed) < least:
        short = "returned" if n - n_lapsed < least else "lapsed"
        return f"too few customers who {short} in {period} to fit {what} on: {n_lapsed:,} of {n:,} lapsed, and at least {least} of each are needed"
    return None


@dataclass(frozen=True)
class LapseModel:
    """Weights on the standardised features, and the standardisation: P(bought nothing) = expit(z)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, features: pd.DataFrame, lapsed: np.ndarray) -> LapseModel:
        x = features.to_numpy(dtype=np.float64)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)  # a feature the same for everyone carries no weight
        z_x = (x - mean) / scale
        y = np.asarray(lapsed, dtype=np.float64)

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            z = z_x @ params[:-1] + params[-1]
            value = -np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)) + 0.5 * PENALTY * params[:-1] @ params[:-1]
            residual = expit(z) - y
            return float(value), np.append(z_x.T @ residual + PENALTY * params[:-1], residual.sum())

        found = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
        return cls(mean, scale, found.x[:-1], float(found.x[-1]))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """Each feature's part of each customer's log-odds, against an average customer of the period fitted on (0)."""
        return ((features.to_numpy(dtype=np.float64) - self.mean) / self.scale) * self.weights

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        """P(bought nothing in the horizon) per customer."""
        return np.asarray(expit(self.contributions(features).sum(axis=1) + self.intercept))

    def as_record(self) -> dict[str, Any]:
        """The numbers at full precision by feature name, as the metrics run keeps them (JSON keeps a float exactly)."""
        per_feature = {name: [float(v[i]) for v in (self.mean, self.scale, self.weights)] for i, name in enumerate(FEATURES)}
        return {"features": per_feature, "intercept": self.intercept}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LapseModel | None:
        """The model `as_record` wrote; None when it was written for other features (an older version's fit)."""
        per_feature = record.get("features") or {}
        if list(per_feature) != list(FEATURES) or not math.isfinite(float(record.get("intercept", math.nan))):
            return None
        mean, scale, weights = (np.array([per_feature[name][i] for name in FEATURES], dtype=np.float64) for i in range(3))
        return cls(mean, scale, weights, float(record["intercept"]))


@dataclass(frozen=True)
class LapseFit:
    """The history model, the outcome window it was fitted for, and the probability from which it flags."""

    model: LapseModel
    days: int  # its probability is of buying nothing in this many days
    threshold: float  # flagged at or above this probability
    fitted_on: str  # the earlier period, in words
    customers: int  # in the earlier period
    lapsed_share: float  # of them, who bought nothing in its outcome window

    @property
    def record(self) -> dict[str, Any]:
        """What a run keeps of the fit (`from_record` reads it back)."""
        numbers = {k: v for k, v in vars(self).items() if k != "model"}
        return {"fitted": True, **numbers, **self.model.as_record()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LapseFit | None:
        """The fit `record` describes; None when it is not one (not fitted, or fitted by a version with other features)."""
        model = LapseModel.from_record(record) if record.get("fitted") else None
        if model is None:
            return None
        return cls(
            model, int(record["days"]), float(record["threshold"]),
            str(record["fitted_on"]), int(record["customers"]), float(record["lapsed_share"]),
        )  # fmt: skip
