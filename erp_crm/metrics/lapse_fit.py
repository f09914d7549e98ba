"""The history model fitted as production must: on an earlier period of the company's own history.

A model of "bought nothing in the next N days" needs answers to learn from, and at the
day of a run nobody knows yet who will buy in the next N days. So the model is fitted on
the period that ended at the run's day: history cut N days earlier, and who bought in
the N days since. Where the history is shorter than twice N, the earlier period is half
of it (a company with nine months of invoices fits on the first four and a half), and
the probability it gives is of buying nothing in that many days. `metrics evaluate` fits
it the same way at its cutoff, so what it measures is what a run would have done.

The model's threshold for flagging is a probability (`score_at_least`), or the share of
customers with the highest scores (`score_top_share`), turned into a probability when
the model is fitted and kept with it: a customer's flag then depends on its own figures
and the fit only, as an incremental run needs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from erp_crm.metrics.bgnbd import MBGNBD
from erp_crm.metrics.fits import WEEK, ModelInputs, fit_mbgnbd
from erp_crm.metrics.lapse import HistoryScore
from erp_crm.metrics.lapse_model import FEATURES, LapseFit, LapseModel, figure_features, history_figures, too_few
from erp_crm.metrics.summary import day_of
from erp_crm.settings.metrics import LapseSection, MetricsSection

PURPOSE = "the lapse model"


def earlier_period(first: int, cut: int, horizon_days: int) -> tuple[int, str] | str:
    """How many days before `cut` the earlier period's history ends (and the period in words), or why there is none.

    Its outcome window ends at `cut`. It is as long as the horizon where the history
    since day `first` allows, else half that history.
    """
    days = min(horizon_days, (cut - first) // 2)
    if days < 1:
        return "the history is a single day"
    return days, f"history to {day_of(cut - days)}, outcome to {day_of(cut)} ({days} days)"


def history_inputs(figures: pd.DataFrame, cut: int) -> ModelInputs:
    """The customers of `history_figures` at day `cut` as the purchase model sees them (no spend: it is not needed here)."""
    f = figures
    return ModelInputs.of(f["purchase_days"].to_numpy(np.float64), f["first"].to_numpy(np.float64), f["last"].to_numpy(np.float64), np.zeros(len(f)), cut)


def expected_purchases(model: MBGNBD | None, inputs: ModelInputs, days: int) -> np.ndarray | None:
    """Purchases the model expects over `days` per customer (None without a model)."""
    if model is None:
        return None
    with np.errstate(all="ignore"):
        return np.asarray(model.conditional_expected_purchases(days / WEEK, inputs.x, inputs.t_x, inputs.T))


def fit_on_history(
    customer_ids: np.ndarray, day: np.ndarray, value: np.ndarray, cut: int, options: MetricsSection, horizon_days: int, *, purchase_model_now: bool
) -> LapseFit | str:
    """The history model fitted on the period before day `cut`, or why there is none, in words.

    `purchase_model_now` says whether the purchase model is fitted at `cut`: its expected
    purchases are a feature only where they exist both in the period fitted on and at `cut`.
    """
    known = day <= cut
    if not known.any():
        return "no purchase before the day"
    period = earlier_period(int(day[known].min()), cut, horizon_days)
    if isinstance(period, str):
        return f"no earlier period to fit on: {period}"
    days, words = period
    start = cut - days
    figures = history_figures(customer_ids, day, value, start)
    later = known & (day > start)
    lapsed = ~figures.index.isin(np.unique(customer_ids[later]))
    why = too_few(lapsed, words, PURPOSE)
    if why:
        return why
    expected = None
    if purchase_model_now:
        inputs = history_inputs(figures, start)
        expected = expected_purchases(fit_mbgnbd(inputs, options)[0], inputs, days)
    model = LapseModel.fit(figure_features(figures, start, expected), lapsed)
    return LapseFit(model, days, expected is not None, options.lapse.score_at_least, words, len(figures), float(lapsed.mean()))


def score_history(fit: LapseFit, purchase_model: MBGNBD | None, figures: pd.DataFrame, inputs: ModelInputs, cut: int) -> HistoryScore:
    """The lapse score at day `cut` of the customers of `figures` (`history_figures` columns; `inputs`: the same customers as the purchase model sees them)."""
    expected = expected_purchases(purchase_model, inputs, fit.days) if fit.uses_expected else None
    features = figure_features(figures, cut, expected)
    index = figures.index
    return HistoryScore(
        pd.Series(fit.model.probability(features), index=index),
        pd.DataFrame(fit.model.contributions(features), index=index, columns=list(FEATURES)),
        pd.Series(np.full(len(index), np.nan) if expected is None else expected, index=index),
        fit.days,
        fit.threshold,
    )


def with_threshold(fit: LapseFit, probabilities: np.ndarray, settings: LapseSection) -> LapseFit:
    """`fit` flagging the `score_top_share` of customers with the highest `probabilities` (as it is, without that setting)."""
    share = settings.score_top_share
    if share is None or probabilities.size == 0:
        return fit
    ordered = np.sort(probabilities)[::-1]
    return dataclasses.replace(fit, threshold=float(ordered[max(round(share * ordered.size), 1) - 1]))
