"""The history model fitted as production must: on an earlier period of the company's own history.

A model of "bought nothing in the next N days" needs answers to learn from, and at the
day of a run nobody knows yet who will buy in the next N days. So the model is fitted on
the period that ended at the run's day: history cut N days earlier, and who bought in
the N days since. Where the history is shorter than three times N, the earlier period's
outcome window is a third of it (a company with nine months of invoices fits on the
first six and who bought in the last three), and the probability it gives is of buying
nothing in that many days. `metrics evaluate` fits
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

from erp_crm.metrics.lapse import HistoryScore
from erp_crm.metrics.lapse_model import FEATURES, LapseFit, LapseModel, figure_features, history_figures, too_few
from erp_crm.metrics.summary import day_of
from erp_crm.settings.metrics import LapseSection

PURPOSE = "the lapse model"


def earlier_period(first: int, cut: int, horizon_days: int) -> tuple[int, str] | str:
    """How many days before `cut` the earlier period's history ends (and the period in words), or why there is none.

    Its outcome window ends at `cut`. It is as long as the horizon where the history
    since day `first` allows, else a third of that history: the two thirds before it
    then look more like the whole history at `cut` than half of it would (on the online
    grocery cohort the lapse score ranks at 0.892 fitted so, 0.887 fitted on halves).
    """
    days = min(horizon_days, (cut - first) // 3)
    if days < 1:
        return "the history is shorter than three days"
    return days, f"history to {day_of(cut - days)}, outcome to {day_of(cut)} ({days} day{'' if days == 1 else 's'})"


def fit_on_history(customer_ids: np.ndarray, day: np.ndarray, value: np.ndarray, cut: int, settings: LapseSection) -> LapseFit | str:
    """The history model fitted on the period before day `cut`, for an outcome window of up to `settings.horizon_days`; or why there is none, in words."""
    known = day <= cut
    if not known.any():
        return "no purchase before the day"
    period = earlier_period(int(day[known].min()), cut, settings.horizon_days)
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
    model = LapseModel.fit(figure_features(figures, start), lapsed)
    return LapseFit(model, days, settings.score_at_least, words, len(figures), float(lapsed.mean()))


def score_history(fit: LapseFit, figures: pd.DataFrame, cut: int) -> HistoryScore:
    """The lapse score at day `cut` of the customers of `figures` (`history_figures` columns)."""
    features = figure_features(figures, cut)
    index = figures.index
    return HistoryScore(
        pd.Series(fit.model.probability(features), index=index),
        pd.DataFrame(fit.model.contributions(features), index=index, columns=list(FEATURES)),
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
