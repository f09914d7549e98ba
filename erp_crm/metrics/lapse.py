"""Lapsed customers: three definitions, one combined score, and a reason a person can read.

1. rule: no purchase for N days (per customer group if given), the seed's definition;
2. rhythm: silent for more than k × the customer's own typical gap, for customers with
   enough purchases to have a rhythm at all;
3. model: P(alive) from a customer-base model below a threshold. Pass MBG/NBD or
   Pareto/NBD here, not plain BG/NBD, which rates every one-time buyer as surely alive.

The combined ``lapse_score`` is a sum of log-odds-like evidence turned into 0..1:

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
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from erp_crm.metrics.rhythm import overdue
from erp_crm.settings.metrics import LapseSection

# The codes of a lapse reason, each with its numbers, as the JSON text stored in
# crm_partner_metrics.lapse_reason: {"silent":{"days":400},"p_active":{"p":0.1234}}.
SILENT = "silent"  # days since the last purchase
OFF_RHYTHM = "off_rhythm"  # the customer's usual gap in days, and the silence as a multiple of it
P_ACTIVE = "p_active"  # the model's probability that the customer is still active
# Written by formatting, not json.dumps: a run stores a reason for every lapsed customer,
# and json.dumps of nested dicts of floats costs five times as much (0.1 s for 20,000).
# The numbers keep more digits than any rendering shows.
_SILENT = '"' + SILENT + '":{"days":%d}'
_OFF_RHYTHM = '"' + OFF_RHYTHM + '":{"usual_gap_days":%.2f,"ratio":%.3f}'
_P_ACTIVE = '"' + P_ACTIVE + '":{"p":%.4f}'


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


def lapse_flags(frame: pd.DataFrame, settings: LapseSection) -> pd.DataFrame:
    """Per partner: the three flags, the combined score and the reason (`_reasons`).

    ``frame`` holds recency_days, purchase_days, typical_gap_days, p_alive and optionally
    customer_group and last_purchase. Partners without a purchase (recency NaN) are never
    lapsed: they are prospects, not lost customers. The reason is None for partners that
    no chosen definition flags.
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
    ratio = overdue(recency, gap)
    steady = (count >= settings.rhythm_min_purchases) & ratio.notna()

    result = pd.DataFrame(index=frame.index)
    result["lapsed_rule"] = bought & (recency > limit)
    result["lapsed_rhythm"] = bought & steady & (ratio > settings.rhythm_factor)
    result["lapsed_model"] = bought & (p_alive < settings.p_alive_below)
    result["lapse_score"] = lapse_score(recency, count, gap, p_alive, settings)
    result["lapsed"] = result[[f"lapsed_{name}" for name in settings.definitions]].any(axis=1)
    # object dtype: pandas would infer its string dtype and turn the Nones into NaN
    result["reason"] = pd.Series(_reasons(result["lapsed"], recency, gap.where(steady), ratio.where(steady), p_alive), index=frame.index, dtype=object)
    return result


def _reasons(lapsed: pd.Series, recency: pd.Series, gap: pd.Series, ratio: pd.Series, p_alive: pd.Series) -> list[str | None]:
    """Why each lapsed partner is lapsed, as JSON text of codes with their numbers (None for the others).

    Stored so, not as sentences: the reader renders them in its own language
    (`erp_crm.i18n.lapse_reasons`), so a new language or wording needs no migration.
    """
    reasons: list[str | None] = [None] * lapsed.size
    rows = np.flatnonzero(lapsed.to_numpy())
    columns = (recency.to_numpy(np.float64)[rows], gap.to_numpy(np.float64)[rows], ratio.to_numpy(np.float64)[rows], p_alive.to_numpy(np.float64)[rows])
    for i, days, usual, times, p in zip(rows.tolist(), *(c.tolist() for c in columns), strict=True):
        parts = [_SILENT % days]
        if math.isfinite(usual) and math.isfinite(times):
            parts.append(_OFF_RHYTHM % (usual, times))
        if math.isfinite(p):
            parts.append(_P_ACTIVE % p)
        reasons[i] = "{" + ",".join(parts) + "}"
    return reasons
