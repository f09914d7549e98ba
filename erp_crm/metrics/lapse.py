"""Lapsed customers: four definitions, the lapse score, and a reason a person can read.

1. score: the lapse score (the history model's chance of buying nothing in the next N
   days, `lapse_model`, fitted by `lapse_fit`) at or above a threshold. The default.
2. rule: no purchase for N days (per customer group if given), the seed's definition;
3. rhythm: silent for more than k × the customer's own typical gap, for customers with
   enough purchases to have a rhythm at all;
4. model: P(alive) from a customer-base model below a threshold. Pass MBG/NBD or
   Pareto/NBD here, not plain BG/NBD, which rates every one-time buyer as surely alive.

Where the history is too small to fit the history model on, the lapse score is a
hand-weighted sum of log-odds-like evidence turned into 0..1, and the score definition
stands for the rule and the rhythm:

    z = w_model · logit(1 − P(alive))
      + w_silence · ln((1 + recency_days) / (purchase_days · reference_days))
      + w_rhythm · ln(max(overdue, 1))      (only with ≥ rhythm_min_purchases purchase days)

The silence term is days of silence per purchase: 200 silent days mean little from a
customer with forty orders and a lot from one with a single order. On CDNOW frequency and
recency together carry almost all the signal, and they rank better than either the model's
P(alive) or recency alone (docs/lapse.md has the figures). The rhythm term only raises the
score, and only a little: on irregular retail data it adds noise, while for B2B customers
with steady reorder cycles it is what a salesperson would notice first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import cast

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from erp_crm.metrics.lapse_model import FEATURES
from erp_crm.metrics.rhythm import overdue
from erp_crm.settings.metrics import LapseSection

# The codes of a lapse reason, each with its numbers, as the JSON text stored in
# crm_partner_metrics.lapse_reason: {"silent":{"days":400},"p_lapse":{"p":0.83,"days":180}}.
SILENT = "silent"  # days since the last purchase
OFF_RHYTHM = "off_rhythm"  # the customer's usual gap in days, and the silence as a multiple of it
P_ACTIVE = "p_active"  # the purchase model's probability that the customer is still active
P_LAPSE = "p_lapse"  # the lapse score: the chance of buying nothing in the next `days` days
# the drivers of the lapse score, each with the customer's own figure behind it
PURCHASES = "purchases"  # purchase days in all
PAST_LONGEST_GAP = "past_longest_gap"  # the longest gap so far, and the silence as a multiple of it
CUSTOMER_SINCE = "customer_since"  # days since the first purchase
ACTIVE_SPAN = "active_span"  # days from the first purchase to the last
SPEND = "spend"  # mean net amount per purchase day
DRIVERS = 2  # drivers quoted per reason at most
MIN_DRIVER = 0.1  # of log-odds: a smaller push explains nothing
# Written by formatting, not json.dumps: a run stores a reason for every lapsed customer,
# and json.dumps of nested dicts of floats costs five times as much (0.1 s for 20,000).
# The numbers keep more digits than any rendering shows.
_SILENT = '"' + SILENT + '":{"days":%d}'
_OFF_RHYTHM = '"' + OFF_RHYTHM + '":{"usual_gap_days":%.2f,"ratio":%.3f}'
_P_ACTIVE = '"' + P_ACTIVE + '":{"p":%.4f}'
_P_LAPSE = '"' + P_LAPSE + '":{"p":%.4f,"days":%d}'
_PURCHASES = '"' + PURCHASES + '":{"count":%d}'
_PAST_LONGEST_GAP = '"' + PAST_LONGEST_GAP + '":{"longest_gap_days":%d,"ratio":%.3f}'
_CUSTOMER_SINCE = '"' + CUSTOMER_SINCE + '":{"days":%d}'
_ACTIVE_SPAN = '"' + ACTIVE_SPAN + '":{"days":%d}'
_SPEND = '"' + SPEND + '":{"mean":%.4f}'


@dataclass(frozen=True)
class ScoreTerms:
    """The three pieces of evidence the combined score weighs, per customer (NaN rows: no purchase)."""

    model: pd.Series  # logit(1 − P(alive)); 0 where P(alive) is unknown
    silence: pd.Series  # ln((1 + recency_days) / purchase_days): days of silence per purchase
    rhythm: pd.Series  # ln(max(overdue, 1)) for customers with a rhythm, else 0

    @classmethod
    def of(cls, recency_days: pd.Series, purchase_days: pd.Series, typical_gap_days: pd.Series, p_alive: pd.Series, settings: LapseSection) -> ScoreTerms:
        recency = recency_days.astype(np.float64)
        count = purchase_days.astype(np.float64).where(lambda n: n > 0)
        p = p_alive.astype(np.float64).clip(1e-9, 1 - 1e-9)
        ratio = overdue(recency, typical_gap_days.astype(np.float64))
        steady = count >= settings.rhythm_min_purchases
        # numpy's stubs match a Series[float] as an array-like (an ndarray result) before their
        # __array_ufunc__ overload; pandas hands back a Series
        silence = cast(pd.Series, np.log((1.0 + recency) / count))
        return cls(
            logit(1.0 - p).fillna(0.0),
            silence,
            np.log(ratio.clip(lower=1.0)).where(steady, 0.0).fillna(0.0),
        )

    def score(self, settings: LapseSection) -> pd.Series:
        """The combined score in 0..1 with the weights of `settings`."""
        z = (
            settings.score_model_weight * self.model
            + settings.score_silence_weight * (self.silence - math.log(settings.score_reference_days))
            + settings.score_rhythm_weight * self.rhythm
        )
        return pd.Series(expit(z), index=self.silence.index, name="lapse_score")


def lapse_score(
    recency_days: pd.Series,
    purchase_days: pd.Series,
    typical_gap_days: pd.Series,
    p_alive: pd.Series,
    settings: LapseSection,
) -> pd.Series:
    """The combined score in 0..1 (higher = more likely lapsed); NaN without a purchase.

    A missing P(alive) drops the model term rather than the customer.
    """
    return ScoreTerms.of(recency_days, purchase_days, typical_gap_days, p_alive, settings).score(settings)


@dataclass(frozen=True)
class HistoryScore:
    """The lapse score from the history model (`lapse_fit`): each customer's chance of buying nothing, and what drove it."""

    probability: pd.Series  # of buying nothing in the next `days` days, by partner; NaN without a purchase
    contributions: pd.DataFrame  # each feature's part of the log-odds (`lapse_model.FEATURES` columns), by partner
    days: int
    threshold: float  # flagged from this probability on


def short_history_days(history_days: float) -> float:
    """The day rule on a history shorter than the rule: silent for more than half of that history."""
    return max(history_days // 2, 1.0)


def lapse_flags(frame: pd.DataFrame, settings: LapseSection, scored: HistoryScore | None = None, history_days: float | None = None) -> pd.DataFrame:
    """Per partner: the four flags, the lapse score and the reason (`_reason_parts`).

    ``frame`` holds recency_days, purchase_days, typical_gap_days, p_alive and optionally
    customer_group, tenure_days, avg_order_value and longest_gap_days (the numbers a
    score-driven reason quotes). Partners without a purchase (recency NaN) are never
    lapsed: they are prospects, not lost customers. The reason is None for partners that
    no chosen definition flags.

    Without `scored` (no history model could be fitted) the score is the hand-weighted
    one and the "score" definition stands for "rule" and "rhythm". `history_days`, the
    length of the whole base's history, scales the day rule down to half of it where the
    history is shorter than the rule (a 365-day rule on nine months of data flags nobody).
    """
    recency = frame["recency_days"].astype(np.float64)
    count = frame["purchase_days"].astype(np.float64).fillna(0.0)
    gap = frame["typical_gap_days"].astype(np.float64)
    p_alive = frame["p_alive"].astype(np.float64)
    bought = recency.notna()

    limit = pd.Series(float(settings.no_purchase_days), index=frame.index)
    if settings.no_purchase_days_by_group and "customer_group" in frame:
        by_group = frame["customer_group"].map(settings.no_purchase_days_by_group).astype(np.float64)
        limit = by_group.fillna(limit)
    if history_days is not None:
        limit = limit.where(limit <= history_days, short_history_days(history_days))
    ratio = overdue(recency, gap)
    steady = (count >= settings.rhythm_min_purchases) & ratio.notna()

    result = pd.DataFrame(index=frame.index)
    result["lapsed_rule"] = bought & (recency > limit)
    result["lapsed_rhythm"] = bought & steady & (ratio > settings.rhythm_factor)
    result["lapsed_model"] = bought & (p_alive < settings.p_alive_below)
    if scored is None:
        result["lapsed_score"] = result["lapsed_rule"] | result["lapsed_rhythm"]
        result["lapse_score"] = lapse_score(recency, count, gap, p_alive, settings)
    else:
        result["lapsed_score"] = bought & (scored.probability >= scored.threshold)
        result["lapse_score"] = scored.probability.where(bought)
    result["lapsed"] = result[[f"lapsed_{name}" for name in settings.definitions]].any(axis=1)
    # object dtype: pandas would infer its string dtype and turn the Nones into NaN
    parts = _reason_parts(result, frame, gap.where(steady), ratio.where(steady), p_alive, scored)
    result["reason"] = pd.Series(["{" + ",".join(p) + "}" if p else None for p in parts], index=frame.index, dtype=object)
    return result


def _reason_parts(
    flags: pd.DataFrame, frame: pd.DataFrame, gap: pd.Series, ratio: pd.Series, p_alive: pd.Series, scored: HistoryScore | None
) -> list[list[str]]:
    """Why each lapsed partner is lapsed, as the JSON members of codes with their numbers (none for the others).

    Stored so, not as sentences: the reader renders them in its own language
    (`erp_crm.i18n.lapse_reasons`), so a new language or wording needs no migration.
    A partner the lapse score flags also gets the score and its largest drivers.
    """
    parts: list[list[str]] = [[] for _ in range(len(flags))]
    rows = np.flatnonzero(flags["lapsed"].to_numpy())
    pick = (frame["recency_days"], gap, ratio, p_alive)
    columns = [c.to_numpy(np.float64)[rows].tolist() for c in pick]
    for i, days, usual, times, p in zip(rows.tolist(), *columns, strict=True):
        row = parts[i]
        row.append(_SILENT % days)
        if math.isfinite(usual) and math.isfinite(times):
            row.append(_OFF_RHYTHM % (usual, times))
        if math.isfinite(p):
            row.append(_P_ACTIVE % p)
    if scored is not None:
        _score_parts(parts, rows, flags["lapsed_score"].to_numpy(), frame, scored)
    return parts


def _score_parts(parts: list[list[str]], rows: np.ndarray, by_score: np.ndarray, frame: pd.DataFrame, scored: HistoryScore) -> None:
    """The score and, where it flagged the partner, the features that pushed it up most (`DRIVERS` of them), with their numbers."""
    probability = scored.probability.to_numpy(np.float64).tolist()
    pushes = scored.contributions.to_numpy(np.float64)[rows]
    order = np.argsort(-pushes, axis=1, kind="stable")
    numbers = _Numbers(*(frame[f.name].to_numpy(np.float64).tolist() if f.name in frame else [math.nan] * len(frame) for f in fields(_Numbers)))
    for i, ranked, push in zip(rows.tolist(), order.tolist(), np.take_along_axis(pushes, order, axis=1).tolist(), strict=True):
        if not math.isfinite(probability[i]):
            continue
        row = parts[i]
        row.append(_P_LAPSE % (probability[i], scored.days))
        if not by_score[i]:
            continue
        codes: list[str] = []
        for j, size in zip(ranked, push, strict=True):
            if size < MIN_DRIVER or len(codes) == DRIVERS:
                break
            part = numbers.driver(FEATURES[j], i)
            if part is not None and part[0] not in codes:
                codes.append(part[0])
                row.append(part[1])


@dataclass(frozen=True)
class _Numbers:
    """The figures a driver of the score is said with, one list per figure (named as the columns of the frame), by row."""

    recency_days: list[float]
    purchase_days: list[float]
    tenure_days: list[float]
    longest_gap_days: list[float]
    avg_order_value: list[float]

    def driver(self, feature: str, i: int) -> tuple[str, str] | None:
        """Row i's reason code for a feature that drove its score, and its JSON member; None where the silence says it already."""
        silent, count, age, gap = self.recency_days[i], self.purchase_days[i], self.tenure_days[i], self.longest_gap_days[i]
        if feature == "silence" or not math.isfinite(silent):
            return None
        once = count == 1  # a one-time buyer has no gap and no span: its single purchase is what the figures say
        if feature in ("purchases", "silence_per_purchase") or (once and feature in ("silence_over_longest_gap", "active_span")):
            return PURCHASES, _PURCHASES % count
        if feature == "silence_over_longest_gap":
            return PAST_LONGEST_GAP, _PAST_LONGEST_GAP % (gap, silent / gap)
        if feature == "age" and math.isfinite(age):
            return CUSTOMER_SINCE, _CUSTOMER_SINCE % age
        if feature == "active_span" and math.isfinite(age):
            return ACTIVE_SPAN, _ACTIVE_SPAN % (age - silent)
        if feature == "spend_mean" and math.isfinite(self.avg_order_value[i]):
            return SPEND, _SPEND % self.avg_order_value[i]
        return None
