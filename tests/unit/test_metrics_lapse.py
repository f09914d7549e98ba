"""Lapse flags, the combined score and the reasons (codes, rendered in both languages), on handmade partners."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from erp_crm.i18n import formatting, lapse_reasons
from erp_crm.metrics.lapse import HistoryScore, lapse_flags
from erp_crm.metrics.lapse_model import FEATURES
from erp_crm.settings.metrics import LapseSection

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
    flags = lapse_flags(frame, LapseSection(no_purchase_days_by_group={"wholesale": 180}))
    # Rule: 365 days, 180 for wholesale; the prospect never bought and is never lapsed.
    assert flags["lapsed_rule"].to_dict() == {
        "steady": True, "fresh": False, "prospect": False, "gone": True, "wholesaler": True, "twice": False,
    }  # fmt: skip
    # Rhythm: 412/35 = 11.8 and 200/30 = 6.7 > 3; "twice" is 10x overdue but has 2 < 3 purchase days.
    assert flags["lapsed_rhythm"].tolist() == [True, False, False, False, True, False]
    assert flags["lapsed_model"].tolist() == [True, False, False, True, False, False]
    assert flags["lapsed"].tolist() == [True, False, False, True, True, False]


def test_default_rule_without_groups(frame: pd.DataFrame) -> None:
    flags = lapse_flags(frame.drop(columns="customer_group"), LapseSection(definitions=("rule",)))
    assert flags["lapsed"].tolist() == [True, False, False, True, False, False]
    assert flags["reason"]["wholesaler"] is None


def reasons_of(frame: pd.DataFrame) -> dict[str, Any]:
    """The stored reasons (JSON text) as data, by partner."""
    return {k: None if v is None else json.loads(v) for k, v in lapse_flags(frame, LapseSection())["reason"].items()}


def test_reasons_are_codes_with_their_numbers(frame: pd.DataFrame) -> None:
    reasons = reasons_of(frame)
    assert reasons["steady"] == {"silent": {"days": 412}, "off_rhythm": {"usual_gap_days": 35, "ratio": round(412 / 35, 3)}, "p_active": {"p": 0.12}}
    assert reasons["gone"] == {"silent": {"days": 1500}, "p_active": {"p": 0.05}}
    assert reasons["fresh"] is None and reasons["prospect"] is None


def test_reasons_render_in_both_languages(frame: pd.DataFrame) -> None:
    reasons = reasons_of(frame)
    assert lapse_reasons.render(reasons["steady"], "hu") == ("nem vásárolt 412 napja; általában 35 naponta rendel (11,8× a szokásos); P(aktív) 12%")
    assert lapse_reasons.render(reasons["steady"], "en") == ("no purchase for 412 days; usually orders every 35 days (11.8× the usual gap); P(active) 12%")
    assert lapse_reasons.render(reasons["gone"], "hu") == f"nem vásárolt 1{NBSP}500 napja; P(aktív) 5%"
    assert lapse_reasons.render(reasons["gone"], "en") == "no purchase for 1,500 days; P(active) 5%"
    assert lapse_reasons.render(None, "hu") == lapse_reasons.render({}, "en") == ""


def test_a_reason_part_left_empty_or_unknown_is_not_lost() -> None:
    # A migrated row keeps a null for a part the reason did not have; a newer writer's code shows as itself.
    assert lapse_reasons.render({"silent": {"days": 9}, "off_rhythm": None, "p_active": None}, "en") == "no purchase for 9 days"
    assert lapse_reasons.render({"silent": {"days": 9}, "churn_model": {"p": 0.5}}, "en") == "no purchase for 9 days; churn_model"


def test_every_reason_code_speaks_every_language() -> None:
    from erp_crm.i18n import LOCALES
    from erp_crm.metrics import lapse

    written = {getattr(lapse, name) for name in dir(lapse) if name.isupper() and isinstance(getattr(lapse, name), str) and not name.startswith("_")}
    assert set(lapse_reasons.CODES) == written, "every code the metrics write can be read, and no other"
    numbers = {"days": 1, "usual_gap_days": 2, "ratio": 3, "p": 0.4, "count": 2, "longest_gap_days": 9, "purchases": 0.3, "mean": 1500}
    for code in lapse_reasons.CODES:
        for locale in LOCALES:
            assert lapse_reasons.render({code: numbers}, locale)


def test_score_orders_partners_sensibly(frame: pd.DataFrame) -> None:
    score = lapse_flags(frame, LapseSection())["lapse_score"]
    assert np.isnan(score["prospect"])
    assert ((score.drop("prospect") > 0) & (score.drop("prospect") < 1)).all()
    assert score["gone"] > score["steady"] > score["fresh"]
    # Rhythm only raises the score: the steady customer scores more with it than without.
    without = lapse_flags(frame, LapseSection(score_rhythm_weight=0))["lapse_score"]
    assert score["steady"] > without["steady"] and score["fresh"] == without["fresh"]


def scored_by_hand(frame: pd.DataFrame) -> HistoryScore:
    """A lapse score by hand: "steady" and "gone" above the threshold, "gone" driven by its one purchase and its age."""
    contributions = pd.DataFrame(0.0, index=frame.index, columns=list(FEATURES))
    contributions.loc["gone", ["purchases", "age", "silence"]] = [1.2, 0.4, 3.0]
    contributions.loc["steady", ["silence_over_longest_gap", "spend_mean"]] = [0.8, 0.05]  # too small a push to quote
    probability = pd.Series([0.7, 0.2, np.nan, 0.97, 0.4, 0.3], index=frame.index)
    return HistoryScore(probability, contributions, 180, 0.6)


def test_the_lapse_score_flags_and_says_what_drove_it(frame: pd.DataFrame) -> None:
    frame = frame.assign(tenure_days=[900, 20, np.nan, 1500, 600, 120], avg_order_value=100.0, longest_gap_days=[60, 0, np.nan, 0, 50, 20])
    flags = lapse_flags(frame, LapseSection(), scored_by_hand(frame))
    assert flags["lapsed_score"].tolist() == [True, False, False, True, False, False]
    assert flags["lapsed"].tolist() == flags["lapsed_score"].tolist(), "the score is the default definition"
    assert flags["lapse_score"]["gone"] == 0.97 and np.isnan(flags["lapse_score"]["prospect"])
    gone = json.loads(flags["reason"]["gone"])
    assert list(gone) == ["silent", "p_active", "p_lapse", "purchases", "customer_since"]
    assert gone["purchases"] == {"count": 1} and gone["customer_since"] == {"days": 1500}
    assert (
        lapse_reasons.render(gone, "en")
        == "no purchase for 1,500 days; 97% chance of no purchase in the next 180 days; bought on 1 day in all; first purchase 1,500 days ago; P(active) 5%"
    )
    assert lapse_reasons.render(gone, "hu") == (
        f"nem vásárolt 1{NBSP}500 napja; 97% eséllyel nem vásárol a következő 180 napban; összesen 1 napon vásárolt; első vásárlása 1{NBSP}500 napja volt; P(aktív) 5%"
    )
    steady = json.loads(flags["reason"]["steady"])
    assert steady["past_longest_gap"] == {"longest_gap_days": 60, "ratio": round(412 / 60, 3)} and "spend" not in steady
    assert "6,9× olyan régóta nem vásárolt, mint a leghosszabb eddigi szünete (60 nap)" in lapse_reasons.render(steady, "hu")


def test_without_a_lapse_model_the_score_stands_for_rule_and_rhythm(frame: pd.DataFrame) -> None:
    flags = lapse_flags(frame, LapseSection())
    assert flags["lapsed_score"].tolist() == (flags["lapsed_rule"] | flags["lapsed_rhythm"]).tolist() == [True, False, False, True, True, False]
    assert "p_lapse" not in json.loads(flags["reason"]["steady"])


def test_the_day_rule_shrinks_to_half_a_short_history(frame: pd.DataFrame) -> None:
    settings = LapseSection(definitions=("rule",), no_purchase_days_by_group={"wholesale": 180})
    # 300 days of history: the 365-day rule becomes 150 days, the wholesalers' 180 stays (it fits the history)
    flags = lapse_flags(frame, settings, history_days=300)
    assert flags["lapsed_rule"].tolist() == [True, False, False, True, True, False]
    assert lapse_flags(frame, settings, history_days=1000)["lapsed_rule"].tolist() == lapse_flags(frame, settings)["lapsed_rule"].tolist()


def test_number_formats() -> None:
    assert formatting.number(1234567.891, "hu", 1) == f"1{NBSP}234{NBSP}567,9"
    assert formatting.number(1234567.891, "en", 1) == "1,234,567.9"
    assert formatting.number(11.75, "hu", 1) == "11,8"
    assert formatting.huf(1234567.4, "hu") == f"1{NBSP}234{NBSP}567{NBSP}Ft"
    assert formatting.huf(1234567.4, "en") == "HUF1,234,567"


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="definitions"):
        LapseSection(definitions=("rule", "vibes"))
    with pytest.raises(ValueError, match="p_alive_below"):
        LapseSection(p_alive_below=2)
    for field, bad in (("score_at_least", 1.0), ("score_at_least", 0), ("score_top_share", 1.5), ("score_top_share", float("nan")), ("horizon_days", 0)):
        with pytest.raises(ValueError, match=field):
            LapseSection(**{field: bad})
    with pytest.raises(ValueError, match="definitions"):
        LapseSection(definitions=("score", "churn"))
