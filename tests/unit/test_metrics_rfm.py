"""RFM scores and groups, and buying-rhythm gaps, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from erp_crm.metrics.rfm import QuintileCuts, rfm_scores
from erp_crm.metrics.rhythm import overdue, typical_gaps
from erp_crm.settings.metrics import RfmSection

DEFAULT = RfmSection()

IDS = list("abcdefg")
# a: recent heavy buyer; b, c: identical fresh one-timers; f: a prospect without purchase.
RECENCY = pd.Series([1, 5, 5, 100, 400, np.nan, 30], index=IDS, dtype=float)
FREQUENCY = pd.Series([10, 1, 1, 3, 2, 0, 5], index=IDS, dtype=float)
MONETARY = pd.Series([500, 20, 20, 100, 50, 0, 300], index=IDS, dtype=float)


def test_quintile_scores_by_hand() -> None:
    # Six buyers; score = 1 + floor(5 * strictly_worse / 6). Recency (fewer days better):
    # a has 5 worse -> 5; b, c have 3 worse (d, e, g) -> 3; g has 2 -> 2; d 1 -> 1; e 0 -> 1.
    result = rfm_scores(RECENCY, FREQUENCY, MONETARY, DEFAULT)
    assert result.loc[["a", "b", "c", "d", "e", "g"], "r_score"].tolist() == [5, 3, 3, 1, 1, 2]
    # Frequency 10,1,1,3,2,5: worse counts 5,0,0,3,2,4 -> 5,1,1,3,2,4.
    assert result.loc[["a", "b", "c", "d", "e", "g"], "f_score"].tolist() == [5, 1, 1, 3, 2, 4]
    assert result.loc[["a", "b", "c", "d", "e", "g"], "m_score"].tolist() == [5, 1, 1, 3, 2, 4]
    # (R, round-half-up mean of F and M) through the grid.
    assert result["rfm_group"].to_dict() == {
        "a": "champions",  # (5, 5)
        "b": "about_to_sleep",  # (3, 1)
        "c": "about_to_sleep",
        "d": "at_risk",  # (1, 3)
        "e": "hibernating",  # (1, 2)
        "f": "no_purchase",
        "g": "at_risk",  # (2, 4)
    }
    assert result.loc["f", ["r_score", "f_score", "m_score"]].isna().all()


def test_scores_ignore_row_order() -> None:
    shuffled = ["g", "e", "c", "a", "f", "b", "d"]
    again = rfm_scores(RECENCY[shuffled], FREQUENCY, MONETARY, DEFAULT)
    assert again.loc[IDS].equals(rfm_scores(RECENCY, FREQUENCY, MONETARY, DEFAULT))


def by_rank(values: np.ndarray) -> np.ndarray:
    """The quintile score straight from its definition: 1 + floor(5 x strictly worse / n)."""
    return np.array([1 + (5 * int((values < v).sum())) // values.size for v in values])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 11, 200])
def test_cut_points_score_their_own_population_as_quintiles(n: int) -> None:
    rng = np.random.default_rng(n)
    recency = rng.integers(0, 40, n).astype(float)  # many ties
    frequency = rng.integers(1, 6, n).astype(float)
    monetary = rng.lognormal(8, 1, n).round(-2)
    ids = [f"p{i}" for i in range(n)]
    result = rfm_scores(pd.Series(recency, index=ids), pd.Series(frequency, index=ids), pd.Series(monetary, index=ids), DEFAULT)
    assert result["r_score"].tolist() == by_rank(-recency).tolist()
    assert result["f_score"].tolist() == by_rank(frequency).tolist()
    assert result["m_score"].tolist() == by_rank(monetary).tolist()


def test_kept_cut_points_score_later_customers_without_moving_the_others() -> None:
    cuts = QuintileCuts.of(RECENCY.dropna().to_numpy(), FREQUENCY[FREQUENCY > 0].to_numpy(), MONETARY[FREQUENCY > 0].to_numpy())
    assert cuts.recency_days == (100, 30, 5, 5) and cuts.frequency == (1, 2, 3, 5)
    before = rfm_scores(RECENCY, FREQUENCY, MONETARY, DEFAULT, cuts=cuts)
    assert before.equals(rfm_scores(RECENCY, FREQUENCY, MONETARY, DEFAULT)), "the cut points score their own population alike"
    # b buys a lot: with the kept cut points only b's scores move; quintiles of the new figures would move c's too
    frequency, monetary = FREQUENCY.copy(), MONETARY.copy()
    frequency["b"], monetary["b"] = 20, 900
    kept = rfm_scores(RECENCY, frequency, monetary, DEFAULT, cuts=cuts)
    changed = (kept[["r_score", "f_score", "m_score"]] != before[["r_score", "f_score", "m_score"]]).any(axis=1).fillna(False)
    assert changed[changed].index.tolist() == ["b"] and kept.loc["b", "f_score"] == 5
    fresh = rfm_scores(RECENCY, frequency, monetary, DEFAULT)
    assert fresh.loc["c", "f_score"] != before.loc["c", "f_score"] or fresh.loc["g", "f_score"] != before.loc["g", "f_score"]
    assert QuintileCuts.of(np.empty(0), np.empty(0), np.empty(0)) == QuintileCuts(None, None, None)


def test_explicit_thresholds_and_frequency_axis() -> None:
    settings = RfmSection(
        recency_days=(7, 30, 90, 365), frequency=(2, 3, 5, 10), monetary=(50, 100, 200, 400), group_on="f"
    )
    result = rfm_scores(RECENCY, FREQUENCY, MONETARY, settings)
    # Recency 1, 5 -> 5 (<= 7); 30 -> 4 (<= 30); 100 -> 2 (<= 365); 400 -> 1.
    assert result.loc[["a", "b", "g", "d", "e"], "r_score"].tolist() == [5, 5, 4, 2, 1]
    # Frequency 10 reaches all four cuts -> 5; 1 none -> 1; 3 reaches 2 and 3 -> 3; 5 -> 4.
    assert result.loc[["a", "b", "d", "g"], "f_score"].tolist() == [5, 1, 3, 4]
    assert result.loc[["a", "b", "g", "d"], "rfm_group"].tolist() == ["champions", "new_customers", "loyal", "at_risk"]


def test_group_map_covers_every_named_segment() -> None:
    assert set(DEFAULT.group_map().values()) == {
        "champions", "loyal", "potential_loyalist", "new_customers", "promising", "need_attention",
        "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost",
    }  # fmt: skip
    assert len(DEFAULT.group_map()) == 25
    assert set(DEFAULT.group_names()) == {*DEFAULT.group_map().values(), "no_purchase", "unclassified"}


def test_custom_group_grid_and_bad_thresholds() -> None:
    grid = [[*["rest"] * 4, "vip"], *[["rest"] * 5] * 4]  # only R = 5 and FM = 5 is a VIP
    groups = rfm_scores(RECENCY, FREQUENCY, MONETARY, RfmSection(groups=grid))["rfm_group"]
    assert groups.to_dict() == {"a": "vip", "b": "rest", "c": "rest", "d": "rest", "e": "rest", "f": "no_purchase", "g": "rest"}
    with pytest.raises(ValueError, match="four ascending"):
        RfmSection(frequency=(5, 3, 2, 1))
    with pytest.raises(ValueError, match="5 rows"):
        RfmSection(groups=[["vip"] * 5])


def test_typical_gaps_by_hand() -> None:
    ids = np.array([1, 1, 1, 1, 1, 2, 3, 3, 4, 4])
    days = np.array(["2024-01-01", "2024-01-11", "2024-01-11", "2024-02-10", "2024-02-20",
                     "2024-03-01", "2024-01-05", "2024-01-05", "2024-01-01", "2024-01-08"],
                    dtype="datetime64[D]")  # fmt: skip
    gaps = typical_gaps(ids, days)
    # 1: distinct days 1/1, 1/11, 2/10, 2/20 -> gaps 10, 30, 10 -> median 10 (the same-day
    # repeat is one purchase); 2: one purchase; 3: two rows on one day; 4: one gap of 7.
    assert gaps.index.tolist() == [1, 2, 3, 4]
    assert gaps[1] == 10 and np.isnan(gaps[2]) and np.isnan(gaps[3]) and gaps[4] == 7
    # Even count of gaps: median of 10 and 30.
    assert typical_gaps(np.array([5, 5, 5]), np.array([0, 10, 40]))[5] == 20


def test_overdue_ratio() -> None:
    ratio = overdue(pd.Series([95.0, 10.0, 40.0]), pd.Series([30.0, np.nan, 0.0]))
    assert ratio[0] == pytest.approx(95 / 30)
    assert ratio[1:].isna().all()
