"""Stage 2 of a metrics run: the figures that move with time, from stage 1's aggregates.

Everything here is vectorised over partners and needs no database. What relates a
partner to all the others (the models' parameters, the RFM cut points) comes in a
`fits.Fits`, so a row depends only on the partner's own aggregates, the run's date, the
settings and the fits: `figures` may take any subset of partners and gives each the
numbers a run over everyone would give it. That is what lets an incremental run rewrite
only the rows that changed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from erp_crm.metrics import rhythm
from erp_crm.metrics.fits import Fits, ModelInputs, new_fits, score
from erp_crm.metrics.invoice_days import Purchases
from erp_crm.metrics.lapse import HistoryScore, lapse_flags
from erp_crm.metrics.lapse_fit import fit_on_history, score_history, with_threshold
from erp_crm.metrics.rfm import rfm_scores
from erp_crm.metrics.summary import EPOCH, day_of
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.settings.metrics import MetricsSection

METRIC_COLUMNS = tuple(c.name for c in partner_metrics.columns if c.name not in ("partner_id", "as_of", "source", "computed_at"))
SCORES = ("r_score", "f_score", "m_score")
TEXTS = ("rfm_group", "lapse_reason")
LAPSE_FLAGS = ("lapsed_score", "lapsed_rule", "lapsed_rhythm", "lapsed_model")


def day_number(as_of: dt.date) -> int:
    return (as_of - EPOCH).days


def model_inputs(base: pd.DataFrame, as_of: dt.date) -> ModelInputs:
    """The customers of `base` (partners with a purchase day) as the models see them."""
    customers = base[base["purchase_days"].to_numpy() > 0]
    return ModelInputs.of(
        customers["purchase_days"].to_numpy(np.float64),
        customers["first_purchase"].to_numpy(np.float64),
        customers["last_purchase"].to_numpy(np.float64),
        customers["repeat_value"].to_numpy(np.float64),
        day_number(as_of),
    )


def fit(base: pd.DataFrame, as_of: dt.date, options: MetricsSection, purchases: Purchases) -> Fits:
    """New fits on every customer of `base` (all partners' aggregates) and their `purchases` (for the lapse score's history model)."""
    customers = base[base["purchase_days"].to_numpy() > 0]
    recency = day_number(as_of) - customers["last_purchase"].to_numpy(np.float64)
    inputs = model_inputs(base, as_of)
    fits = new_fits(inputs, recency, customers["purchase_days"].to_numpy(np.float64), customers["revenue_net"].to_numpy(np.float64), as_of, options)
    first = customers["first_purchase"].min() if len(customers) else None
    fits.history_start = None if first is None else day_of(int(first))
    start = {"history_start": None if fits.history_start is None else fits.history_start.isoformat()}
    lapse = fit_on_history(purchases.partner_id, purchases.day, purchases.value, day_number(as_of), options.lapse)
    if isinstance(lapse, str):
        fits.record["lapse_model"] = {"fitted": False, "reason": lapse, **start}
        return fits
    fits.lapse = lapse
    if options.lapse.score_top_share is not None:  # the share becomes a probability on today's customers; else nothing to score here
        scored = history_score(customers, as_of, fits)
        fits.lapse = with_threshold(lapse, scored.probability.to_numpy(np.float64) if scored else np.empty(0), options.lapse)
    fits.record["lapse_model"] = {**fits.lapse.record, **start}
    return fits


def history_score(customers: pd.DataFrame, as_of: dt.date, fits: Fits) -> HistoryScore | None:
    """The lapse score of `customers` (aggregates of partners with a purchase); None without a history model."""
    if fits.lapse is None:
        return None
    c = customers
    history = pd.DataFrame(
        {
            "first": c["first_purchase"],
            "last": c["last_purchase"],
            "purchase_days": c["purchase_days"],
            "spend_mean": c["avg_order_value"],
            "longest_gap": c["longest_gap_days"],
        }
    )
    return score_history(fits.lapse, history, day_number(as_of))


def figures(base: pd.DataFrame, as_of: dt.date, options: MetricsSection, fits: Fits) -> pd.DataFrame:
    """Every metrics column for the partners of `base` (their aggregates plus customer_group)."""
    frame = base.copy()
    end = day_number(as_of)
    customer = frame["purchase_days"].to_numpy() > 0
    first, last = frame["first_purchase"].to_numpy(np.float64), frame["last_purchase"].to_numpy(np.float64)
    frame["recency_days"] = np.where(customer, end - last, np.nan)
    frame["tenure_days"] = np.where(customer, end - first, np.nan)
    frame["frequency"] = np.where(customer, frame["purchase_days"], np.nan)
    frame["monetary"] = np.where(customer, frame["revenue_net"], np.nan)
    scores = rfm_scores(frame["recency_days"], frame["frequency"], frame["monetary"], options.rfm, fits.rfm)
    for column in SCORES:
        frame[column] = scores[column].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    frame["rfm_group"] = scores["rfm_group"].astype(object).to_numpy()
    frame["overdue_ratio"] = rhythm.overdue(frame["recency_days"].to_numpy(np.float64), frame["typical_gap_days"].to_numpy(np.float64)).to_numpy(np.float64)

    inputs = model_inputs(frame, as_of)
    predicted = score(fits, inputs, options)
    for column, values in predicted.items():
        cells = np.full(len(frame), np.nan)
        cells[customer] = values
        frame[column] = cells
    _lapse(frame, options, history_score(frame[customer], as_of, fits), fits.history_days(as_of))
    return frame.reindex(columns=[*METRIC_COLUMNS, "customer_group"])


def _lapse(frame: pd.DataFrame, options: MetricsSection, scored: HistoryScore | None, history_days: float | None) -> None:
    """The lapse flags, the lapse score and the reasons (partners without a purchase: never lapsed)."""
    columns = ("recency_days", "purchase_days", "typical_gap_days", "customer_group", "tenure_days", "avg_order_value", "longest_gap_days")
    inputs = frame[list(columns)].assign(p_alive=frame["p_alive"].astype(np.float64))
    if scored is not None:  # every partner, prospects with no score
        scored = HistoryScore(
            scored.probability.reindex(frame.index), scored.contributions.reindex(frame.index), scored.days, scored.threshold
        )  # fmt: skip
    flags = lapse_flags(inputs, options.lapse, scored, history_days)
    bought = frame["purchase_days"].to_numpy() > 0
    for column in LAPSE_FLAGS:
        flag = flags[column].fillna(False).astype(bool).to_numpy()
        # numpy's stubs take no None for a branch; np.where makes it an object array's None
        frame[column] = np.where(bought, flag, None)  # type: ignore[call-overload]
    frame["lapse_score"] = flags["lapse_score"].astype(np.float64).to_numpy()
    frame["lapse_reason"] = flags["reason"].to_numpy()
