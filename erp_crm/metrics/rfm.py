"""RFM: recency, frequency and monetary value as 1–5 scores, and the named groups built on them.

Scores are quintiles of the customers who bought at all, by default: 5 for the most recent
(fewest days since the last purchase), the most frequent and the biggest spenders. A
customer's score is 1 + ⌊5 × (customers strictly worse) / (customers)⌋, so tied customers
always share a score and the result does not depend on row order. The quintiles are cut
points (``QuintileCuts``): taken from one population, they score it exactly so, and they
can score other customers later the same way (the metrics keep them with the model fit,
so that one customer's purchase does not move everyone else's score). Explicit
thresholds replace the quintiles when a business wants scores that do not drift as the
base changes ("5 = bought within 30 days"), see ``erp_crm.settings.metrics.RfmSection``.

The named groups (champions, at_risk, lost, …) follow the widely used 5 × 5 grid on the
recency score and the rounded mean of the frequency and monetary scores (or the frequency
score alone); docs/lapse.md shows the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from erp_crm.settings.metrics import NO_PURCHASE, UNCLASSIFIED, Cuts, RfmSection


@dataclass(frozen=True)
class QuintileCuts:
    """Per dimension, the four values a score above 1, 2, 3 and 4 must beat (recency: stay under).

    ``of`` takes them from a population; scoring that population with them gives its
    quintile scores exactly. None where the population was empty.
    """

    recency_days: Cuts | None
    frequency: Cuts | None
    monetary: Cuts | None

    @classmethod
    def of(cls, recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> QuintileCuts:
        """The cut points of these customers' figures (customers only: no NaN)."""
        recency = _cuts(-np.asarray(recency_days, dtype=np.float64))
        return cls(
            None if recency is None else (-recency[0], -recency[1], -recency[2], -recency[3]),
            _cuts(np.asarray(frequency, dtype=np.float64)),
            _cuts(np.asarray(monetary, dtype=np.float64)),
        )


def _cuts(values: np.ndarray) -> Cuts | None:
    """Score 1 + ⌊5·below/n⌋ reaches k + 1 exactly when below ≥ ⌈k·n/5⌉, i.e. value > the ⌈k·n/5⌉-th smallest."""
    n = values.size
    if n == 0:
        return None
    order = np.sort(values)
    first, second, third, fourth = (float(order[-(-k * n // 5) - 1]) for k in (1, 2, 3, 4))
    return first, second, third, fourth


def threshold_scores(values: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """1 + the number of ascending cut points that ``values`` reach."""
    return (1 + np.searchsorted(np.asarray(cuts, dtype=np.float64), values, side="right")).astype(np.int64)


def rfm_scores(
    recency_days: pd.Series,
    frequency: pd.Series,
    monetary: pd.Series,
    settings: RfmSection,
    cuts: QuintileCuts | None = None,
) -> pd.DataFrame:
    """r_score, f_score, m_score (nullable ints 1..5) and rfm_group, on recency_days' index.

    A customer without a purchase (recency NaN, or frequency NaN or 0) gets missing scores
    and the group "no_purchase", and is left out of the quintiles so that prospects do not
    push buyers up the scale. Monetary NaN counts as 0. Dimensions without thresholds in
    ``settings`` are scored with ``cuts`` (the quintiles of another day's customers), or
    by default with the quintiles of these customers.
    """
    index = recency_days.index
    recency = recency_days.to_numpy(dtype=np.float64)
    freq = pd.Series(frequency).reindex(index).to_numpy(dtype=np.float64)
    money = np.nan_to_num(pd.Series(monetary).reindex(index).to_numpy(dtype=np.float64), nan=0.0)
    bought = ~np.isnan(recency) & ~np.isnan(freq) & (freq > 0)
    cuts = cuts or QuintileCuts.of(recency[bought], freq[bought], money[bought])

    scores = {}
    for name, values, fixed, quintile in (
        ("r_score", recency[bought], settings.recency_days, cuts.recency_days),
        ("f_score", freq[bought], settings.frequency, cuts.frequency),
        ("m_score", money[bought], settings.monetary, cuts.monetary),
    ):
        if fixed is None and quintile is None:
            score = np.ones(values.size, np.int64)  # no customers to cut by: everyone alike
        elif fixed is None and name == "r_score":  # fewer days is better: under the k-th cut → above k
            score = 1 + (values[:, None] < np.asarray(quintile)[None, :]).sum(axis=1)
        elif fixed is None:
            score = 1 + np.searchsorted(np.asarray(quintile, dtype=np.float64), values, side="left")
        elif name == "r_score":  # fewer days is better: ≤ t1 → 5
            score = 5 - np.searchsorted(np.asarray(fixed, dtype=np.float64), values, side="left")
        else:
            score = threshold_scores(values, fixed)
        column = pd.array(np.full(index.size, pd.NA), dtype="Int64")
        column[bought] = score
        scores[name] = column

    result = pd.DataFrame(scores, index=index)
    second = result["f_score"] if settings.group_on == "f" else (result["f_score"] + result["m_score"] + 1) // 2
    # A 6 × 6 table looked up by (R, second axis); row and column 0 hold "no_purchase".
    table = np.full((6, 6), UNCLASSIFIED, dtype=object)
    table[0, :] = table[:, 0] = NO_PURCHASE
    for (r, s), name in settings.group_map().items():
        if 1 <= r <= 5 and 1 <= s <= 5:
            table[r, s] = name
    r_codes = result["r_score"].fillna(0).to_numpy(dtype=np.int64)
    s_codes = second.fillna(0).to_numpy(dtype=np.int64)
    result["rfm_group"] = table[r_codes, s_codes]
    return result
