"""Lapse flags, the combined score and the reasons in both languages, on handmade partners."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from erp_crm.metrics.lapse import LapseSettings, format_en, format_hu, lapse_flags

NBSP = "\u00a0"


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": [412, 20, np.nan, 1500, 200, 100],
            "purchase_days": [12, 1, 0, 1, 5, 2],
            "typical_gap_days": [35, np.nan, np.nan, np.nan, 30, 10],
            "p_alive": [0.12, 0.5, np.nan, 0.05, 0.6, 0.9],
            "customer_group": ["retail", None, None, "retail", "wholesale", "wholesale"],
            "last_purchase": pd.to_datetime(["2023-01-01"] * 6),
        },
        index=["steady", "fresh", "prospect", "gone", "wholesaler", "twice"],
    )


def test_flags_with_group_thresholds(frame: pd.DataFrame) -> None:
    flags = lapse_flags(frame, LapseSettings(no_purchase_days_by_group={"wholesale": 180}))
    # Rule: 365 days, 180 for wholesale; the prospect never bought and is never lapsed.
    assert flags["lapsed_rule"].to_dict() == {
        "steady": True, "fresh": False, "prospect": False, "gone": True, "wholesaler": True, "twice": False,
    }  # fmt: skip
    # Rhythm: 412/35 = 11.8 and 200/30 = 6.7 > 3; "twice" is 10x overdue but has 2 < 3 purchase days.
    assert flags["lapsed_rhythm"].tolist() == [True, False, False, False, True, False]
    assert flags["lapsed_model"].tolist() == [True, False, False, True, False, False]
    assert flags["lapsed"].tolist() == [True, False, False, True, True, False]


def test_default_rule_without_groups(frame: pd.DataFrame) -> None:
    flags = lapse_flags(frame.drop(columns="customer_group"), LapseSettings(definitions=("rule",)))
    assert flags["lapsed"].tolist() == [True, False, False, True, False, False]
    assert flags["reason_en"]["wholesaler"] == ""


def test_reasons_in_both_languages(frame: pd.DataFrame) -> None:
    flags = lapse_flags(frame)
    assert flags.loc["steady", "reason_hu"] == (
        "nem vásárolt 412 napja; általában 35 naponta rendel (11,8× a szokásos); P(aktív) 12%"
    )
    assert flags.loc["steady", "reason_en"] == (
        "no purchase for 412 days; usually orders every 35 days (11.8× the usual gap); P(active) 12%"
    )
    assert flags.loc["gone", "reason_hu"] == f"nem vásárolt 1{NBSP}500 napja; P(aktív) 5%"
    assert flags.loc["gone", "reason_en"] == "no purchase for 1,500 days; P(active) 5%"
    assert flags.loc["fresh", "reason_hu"] == flags.loc["prospect", "reason_en"] == ""


def test_score_orders_partners_sensibly(frame: pd.DataFrame) -> None:
    score = lapse_flags(frame)["lapse_score"]
    assert np.isnan(score["prospect"])
    assert ((score.drop("prospect") > 0) & (score.drop("prospect") < 1)).all()
    assert score["gone"] > score["steady"] > score["fresh"]
    # Rhythm only raises the score: the steady customer scores more with it than without.
    without = lapse_flags(frame, LapseSettings(score_rhythm_weight=0))["lapse_score"]
    assert score["steady"] > without["steady"] and score["fresh"] == without["fresh"]


def test_number_formats() -> None:
    assert format_hu(1234567.891, 1) == f"1{NBSP}234{NBSP}567,9"
    assert format_en(1234567.891, 1) == "1,234,567.9"
    assert format_hu(11.75, 1) == "11,8"


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="unknown lapse definitions"):
        LapseSettings(definitions=("rule", "vibes"))
    with pytest.raises(ValueError, match="p_alive_below"):
        LapseSettings(p_alive_below=2)
