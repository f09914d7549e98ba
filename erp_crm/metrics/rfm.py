"""RFM: recency, frequency and monetary value as 1–5 scores, and the named groups built on them.

Scores are quintiles of the customers who bought at all, by default: 5 for the most recent
(fewest days since the last purchase), the most frequent and the biggest spenders. A
customer's score is 1 + ⌊5 × (customers strictly worse) / (customers)⌋, so tied customers
always share a score and the result does not depend on row order. Explicit thresholds
replace the quintiles when a business wants scores that do not drift as the base changes
("5 = bought within 30 days"), see ``RfmSettings``.

The named groups (champions, at_risk, lost, …) follow the widely used 5 × 5 grid on the
recency score and the rounded mean of the frequency and monetary scores (or the frequency
score alone); docs/lapse.md shows the grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

NO_PURCHASE = "no_purchase"

# (R, FM) → group; rows are R = 5..1, columns FM = 1..5.
_GRID = {
    5: ("new_customers", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cannot_lose"),
}


def default_group_map() -> dict[tuple[int, int], str]:
    """The usual named segments on (R score, FM score)."""
    return {(r, fm): name for r, row in _GRID.items() for fm, name in enumerate(row, start=1)}


@dataclass(frozen=True)
class RfmSettings:
    """How scores are cut and groups named.

    ``recency_days``, ``frequency`` and ``monetary`` thresholds are four ascending cut
    points each, or None for quintiles. Recency: ≤ t1 days scores 5, ≤ t2 scores 4, …,
    beyond t4 scores 1. Frequency and monetary: 1 + the number of cut points the value
    reaches (≥). ``group_on`` picks the second axis of the group map: "fm" is the mean of
    F and M rounded half up, "f" the frequency score alone. ``group_map`` must cover all
    25 (R, second-axis) pairs it will meet; missing pairs are named "unclassified".
    """

    recency_days: tuple[float, float, float, float] | None = None
    frequency: tuple[float, float, float, float] | None = None
    monetary: tuple[float, float, float, float] | None = None
    group_on: Literal["fm", "f"] = "fm"
    group_map: dict[tuple[int, int], str] = field(default_factory=default_group_map)

    def __post_init__(self) -> None:
        for name in ("recency_days", "frequency", "monetary"):
            cuts = getattr(self, name)
            if cuts is not None and (len(cuts) != 4 or list(cuts) != sorted(cuts)):
                raise ValueError(f"{name} thresholds must be four ascending numbers, not {cuts!r}")
        if self.group_on not in ("fm", "f"):
            raise ValueError(f"group_on must be 'fm' or 'f', not {self.group_on!r}")


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1..5 by rank: 1 + ⌊5 × (values strictly below) / n⌋; ties share the lower score."""
    order = np.sort(values)
    below = np.searchsorted(order, values, side="left")
    return (1 + (5 * below) // max(values.size, 1)).astype(np.int64)


def threshold_scores(values: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """1 + the number of ascending cut points that ``values`` reach."""
    return (1 + np.searchsorted(np.asarray(cuts, dtype=np.float64), values, side="right")).astype(np.int64)


def rfm_scores(
    recency_days: pd.Series,
    frequency: pd.Series,
    monetary: pd.Series,
    settings: RfmSettings = RfmSettings(),
) -> pd.DataFrame:
    """r_score, f_score, m_score (nullable ints 1..5) and rfm_group, on recency_days' index.

    A customer without a purchase (recency NaN, or frequency NaN or 0) gets missing scores
    and the group "no_purchase", and is left out of the quintiles so that prospects do not
    push buyers up the scale. Monetary NaN counts as 0.
    """
    index = recency_days.index
    recency = recency_days.to_numpy(dtype=np.float64)
    freq = pd.Series(frequency).reindex(index).to_numpy(dtype=np.float64)
    money = np.nan_to_num(pd.Series(monetary).reindex(index).to_numpy(dtype=np.float64), nan=0.0)
    bought = ~np.isnan(recency) & ~np.isnan(freq) & (freq > 0)

    scores = {}
    for name, values, cuts, reverse in (
        ("r_score", recency[bought], settings.recency_days, True),
        ("f_score", freq[bought], settings.frequency, False),
        ("m_score", money[bought], settings.monetary, False),
    ):
        if cuts is None:
            score = quintile_scores(-values if reverse else values)
        elif reverse:  # fewer days is better: ≤ t1 → 5
            score = 5 - np.searchsorted(np.asarray(cuts, dtype=np.float64), values, side="left")
        else:
            score = threshold_scores(values, cuts)
        column = pd.array(np.full(index.size, pd.NA), dtype="Int64")
        column[bought] = score
        scores[name] = column

    result = pd.DataFrame(scores, index=index)
    second = result["f_score"] if settings.group_on == "f" else (result["f_score"] + result["m_score"] + 1) // 2
    # A 6 × 6 table looked up by (R, second axis); row and column 0 hold "no_purchase".
    table = np.full((6, 6), "unclassified", dtype=object)
    table[0, :] = table[:, 0] = NO_PURCHASE
    for (r, s), name in settings.group_map.items():
        if 1 <= r <= 5 and 1 <= s <= 5:
            table[r, s] = name
    r_codes = result["r_score"].fillna(0).to_numpy(dtype=np.int64)
    s_codes = second.fillna(0).to_numpy(dtype=np.int64)
    result["rfm_group"] = table[r_codes, s_codes]
    return result
