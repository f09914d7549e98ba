"""How well each lapse definition would have predicted who really stopped buying.

History is cut at a date; every definition and score is computed from what was known then,
and compared with what happened in the next ``horizon_days``: a customer "lapsed" if no
purchase day falls in (cutoff, cutoff + horizon]. Continuous scores get an AUC (the chance
that a randomly picked lapsed customer scores higher than a randomly picked returning
one; 0.5 is a coin); boolean definitions get precision, recall and the share they flag at
their thresholds, so that an admin can choose a definition and a threshold with numbers.
Customers who had not bought before the cutoff are left out: nothing can be said of them.

The lapse score is fitted and thresholded exactly as a metrics run on the cutoff would
(`lapse_fit`), on the period that ended at the cutoff, and its gain over recency, the
hand-weighted score and the best purchase model is given with paired bootstrap
intervals. The hand-weighted score's weights are fitted on the same earlier period
(`calibrate`) and judged beside the weights in use, so that the admin sees whether the
company's own customers call for other weights before taking them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from erp_crm.metrics.bgnbd import BGNBD, MBGNBD
from erp_crm.metrics.lapse import HistoryScore, ScoreTerms, lapse_flags, short_history_days
from erp_crm.metrics.lapse_fit import earlier_period, fit_on_history, score_history, with_threshold
from erp_crm.metrics.lapse_model import MIN_CUSTOMERS, history_figures, too_few
from erp_crm.metrics.models import FitError, PurchaseModel
from erp_crm.metrics.pareto_nbd import ParetoNBD
from erp_crm.metrics.rhythm import overdue, typical_gaps
from erp_crm.metrics.summary import Day, day_number, day_numbers, day_of, rfm_summary
from erp_crm.settings.metrics import LapseSection, MetricsSection


def auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Rank AUC (Mann–Whitney U / (n₁ n₀)), tied scores sharing their average rank.

    NaN scores are left out; NaN when either class is empty.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    known = ~np.isnan(scores)
    scores, positives = scores[known], positives[known]
    n_pos = int(positives.sum())
    n_neg = scores.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], ordered.size)
    average = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat(average, ends - starts)
    u = ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class ScoreResult:
    """A continuous score's AUC over the customers it is defined for; `note` says why it has none."""

    name: str
    auc: float
    customers: int
    note: str = ""
    interval: tuple[float, float] = (float("nan"), float("nan"))  # 95 % bootstrap interval of the AUC


@dataclass(frozen=True)
class FlagResult:
    """A boolean definition at its threshold against the customers who really lapsed."""

    name: str
    threshold: str
    precision: float
    recall: float
    share_flagged: float
    lift: float = float("nan")  # precision over the share who lapsed: how much better than flagging at random
    day_rule_days: float = float("nan")  # the plain "silent for more than N days" rule that flags the same share...
    day_rule_precision: float = float("nan")  # ...and its precision and recall: what the definition must beat
    day_rule_recall: float = float("nan")


@dataclass(frozen=True)
class Calibration:
    """Combined-score weights fitted on an earlier period; both weightings' AUC (with 95 % bootstrap intervals) on the evaluated one."""

    weights: dict[str, float]  # the LapseSection fields: score_model_weight, ..., score_reference_days
    auc_fitted: float
    auc_current: float
    customers: int  # in the evaluated period, where the AUCs are measured
    fitted_on: str  # the earlier period the weights were fitted on, in words
    auc_fitted_interval: tuple[float, float] = (float("nan"), float("nan"))
    auc_current_interval: tuple[float, float] = (float("nan"), float("nan"))

    def settings_line(self) -> str:
        """The YAML that puts the fitted weights to use."""
        return "metrics: {lapse: {" + ", ".join(f"{k}: {v:.3g}" for k, v in self.weights.items()) + "}}"


LAPSE_SCORE = "lapse score (history model, fitted before)"
HAND_WEIGHTED = "hand-weighted score (without a model)"
BOOTSTRAP = 100  # resamples of the customers behind each interval
Labelled = tuple[ScoreTerms, np.ndarray]  # the score's terms per customer, and who lapsed


def _term_matrix(terms: ScoreTerms) -> np.ndarray:
    return np.column_stack([terms.model.to_numpy(), terms.silence.to_numpy(), terms.rhythm.to_numpy()])


def calibrate(fit_on: Labelled, judge_on: Labelled, settings: LapseSection, fitted_on: str = "an earlier period", seed: int = 0) -> Calibration | str:
    """Fit the score's weights on one period (`fit_on`) and judge them beside the weights in use on another; the reason as text when a period has too little.

    Fitted and judged on the same customers, a gain shows the noise of the split as much
    as anything: production fits on the past and is judged on what follows, and so does this.
    """
    fit_x, fit_y = _term_matrix(fit_on[0]), np.asarray(fit_on[1], dtype=bool)
    known = np.isfinite(fit_x).all(axis=1)
    fit_x, fit_y = fit_x[known], fit_y[known]
    test_x, test_y = _term_matrix(judge_on[0]), np.asarray(judge_on[1], dtype=bool)
    known = np.isfinite(test_x).all(axis=1)
    test_x, test_y = test_x[known], test_y[known]
    why = too_few(fit_y, fitted_on, "weights") or too_few(test_y, "the evaluated period", "weights")
    if why:
        return why
    target = fit_y.astype(np.float64)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        z = fit_x @ params[:3] + params[3]
        value = -np.sum(target * log_expit(z) + (1 - target) * log_expit(-z))
        residual = expit(z) - target
        return float(value), np.append(fit_x.T @ residual, residual.sum())

    start = np.array(
        [
            settings.score_model_weight,
            settings.score_silence_weight,
            settings.score_rhythm_weight,
            -settings.score_silence_weight * np.log(settings.score_reference_days),
        ]
    )
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * 3 + [(None, None)])
    w_model, w_silence, w_rhythm, intercept = found.x
    reference = float(np.clip(np.exp(-intercept / w_silence), 1, 3650)) if w_silence > 1e-6 else settings.score_reference_days
    weights = {"score_model_weight": w_model, "score_silence_weight": w_silence, "score_rhythm_weight": w_rhythm, "score_reference_days": reference}
    fitted, current = test_x @ found.x[:3], test_x @ [settings.score_model_weight, settings.score_silence_weight, settings.score_rhythm_weight]
    return Calibration(
        {k: float(v) for k, v in weights.items()},
        auc(fitted, test_y),
        auc(current, test_y),
        len(test_y),
        fitted_on,
        auc_interval(fitted, test_y, seed),
        auc_interval(current, test_y, seed),
    )


def auc_interval(scores: np.ndarray, positives: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP) -> tuple[float, float]:
    """A 95 % percentile bootstrap interval of the AUC, resampling customers; NaN where the AUC has none.

    Every score is resampled with the same draws of the same seed, so one score shown
    twice in a report has one interval, and two scores' intervals differ by the scores alone.
    """
    scores, positives = np.asarray(scores, dtype=np.float64), np.asarray(positives, dtype=bool)
    if scores.size == 0 or np.isnan(auc(scores, positives)):
        return float("nan"), float("nan")
    return _bootstrap(lambda pick: auc(scores[pick], positives[pick]), scores.size, seed, resamples)


def gain_interval(better: np.ndarray, worse: np.ndarray, positives: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP) -> tuple[float, tuple[float, float]]:
    """How much higher `better` ranks than `worse` (AUC difference) on the customers both score, with a paired 95 % bootstrap interval.

    Paired: both scores are judged on the same resampled customers in each draw, so the
    customers that are hard for both do not widen the interval of the difference, as
    two separate intervals would.
    """
    better, worse, positives = np.asarray(better, dtype=np.float64), np.asarray(worse, dtype=np.float64), np.asarray(positives, dtype=bool)
    both = ~np.isnan(better) & ~np.isnan(worse)
    better, worse, positives = better[both], worse[both], positives[both]
    gain = auc(better, positives) - auc(worse, positives)
    if np.isnan(gain):
        return float("nan"), (float("nan"), float("nan"))
    return gain, _bootstrap(lambda pick: auc(better[pick], positives[pick]) - auc(worse[pick], positives[pick]), better.size, seed, resamples)


def _bootstrap(statistic: Callable[[np.ndarray], float], n: int, seed: int, resamples: int) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of `statistic` over `resamples` draws of n customers with replacement."""
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(pick) for pick in rng.integers(0, n, size=(resamples, n))])
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Gain:
    """How much higher the lapse score ranks than another score, on the same customers, with a paired 95 % interval."""

    over: str  # the other score's name
    gain: float  # AUC difference
    interval: tuple[float, float]


@dataclass(frozen=True)
class EvaluationReport:
    """The evaluation of every definition and score at one cutoff."""

    cutoff: dt.date
    horizon_days: int
    customers: int
    lapsed_share: float  # of customers with a purchase before the cutoff, none after it
    scores: list[ScoreResult] = field(default_factory=list)
    flags: list[FlagResult] = field(default_factory=list)
    calibration: Calibration | str = ""  # the fitted weights, or why none were fitted
    notes: list[str] = field(default_factory=list)  # what limits the figures: read them before the table
    gains: list[Gain] = field(default_factory=list)  # of the lapse score over recency, the hand-weighted score and the best purchase model

    def score(self, name: str) -> float:
        """The AUC of the named score."""
        return next(s.auc for s in self.scores if s.name == name)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready values: a figure that cannot be computed is null (JSON has no NaN)."""
        data = {
            "cutoff": self.cutoff.isoformat(),
            "horizon_days": self.horizon_days,
            "customers": self.customers,
            "lapsed_share": self.lapsed_share,
            "notes": self.notes,
            "scores": [vars(s) for s in self.scores],
            "flags": [vars(f) for f in self.flags],
            "gains": [vars(g) for g in self.gains],
            "calibration": vars(self.calibration) if isinstance(self.calibration, Calibration) else {"reason": self.calibration},
        }
        return {key: _no_nan(value) for key, value in data.items()}


def _no_nan(value: object) -> object:
    """`value` with every NaN float replaced by None, in dicts, lists and tuples (as lists) at any depth."""
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


def _p_alive(model: type[PurchaseModel], summary: pd.DataFrame, min_customers: int) -> tuple[np.ndarray, str]:
    """P(alive) per customer from ``model`` fitted on them (time in weeks); NaN and the reason if no fit.

    Fewer than `min_customers` get no fit, as in a metrics run: on six customers a model
    "ranks" at 1.000 by chance.
    """
    if len(summary) < min_customers:
        return np.full(len(summary), np.nan), f"not fitted: {len(summary):,} customers, fewer than metrics.min_customers ({min_customers})"
    x, t_x, T = summary["frequency"].to_numpy(), (summary["recency"] / 7.0).to_numpy(), (summary["T"] / 7.0).to_numpy()
    try:  # a tiny or degenerate history may wander into NaN while fitting: warned, then refused
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return model.fit(x, t_x, T).probability_alive(x, t_x, T), ""
    except FitError:  # the optimiser's own words ("precision loss") say nothing to an admin
        reason = "its fit did not converge"
    except ValueError:
        reason = "its fit met values it cannot use"
    repeat = int((summary["frequency"] > 0).sum())
    return np.full(len(summary), np.nan), f"not fitted: {reason} ({repeat:,} of {len(summary):,} customers bought more than once)"


@dataclass(frozen=True)
class _Period:
    """History cut at a day and the outcome after it: who lapsed, and what the definitions see of them."""

    summary: pd.DataFrame
    lapsed: np.ndarray
    gap: pd.Series
    frame: pd.DataFrame  # lapse_flags' input: recency, purchase days, typical gap, MBG/NBD P(alive), group, and the figures a reason quotes
    model_note: str  # why MBG/NBD has no P(alive), or ""
    history: pd.DataFrame  # lapse_model.history_figures at the cut

    def terms(self, settings: LapseSection) -> ScoreTerms:
        f = self.frame
        return ScoreTerms.of(f["recency_days"], f["purchase_days"], f["typical_gap_days"], f["p_alive"], settings)


def _period(customer_ids: np.ndarray, day: np.ndarray, values: np.ndarray, cut: int, end: int, groups: pd.Series | None, min_customers: int) -> _Period:
    summary = rfm_summary(customer_ids, day, values, cut)
    later = (day > cut) & (day <= end)
    returned = rfm_summary(customer_ids[later], day[later], values[later], end).index
    before = day <= cut
    gap = typical_gaps(customer_ids[before], day[before]).reindex(summary.index)
    p_mbg, note = _p_alive(MBGNBD, summary, min_customers)
    history = history_figures(customer_ids, day, values, cut)
    frame = pd.DataFrame(
        {
            "recency_days": summary["T"] - summary["recency"],
            "purchase_days": summary["frequency"] + 1,
            "typical_gap_days": gap,
            "p_alive": p_mbg,
            "customer_group": groups.reindex(summary.index) if groups is not None else None,
            "tenure_days": summary["T"],
            "avg_order_value": history["spend_mean"],
            "longest_gap_days": history["longest_gap"].fillna(0.0),
        },
        index=summary.index,
    )
    return _Period(summary, ~summary.index.isin(returned), gap, frame, note, history)


def evaluate(
    customer_ids: np.ndarray,
    days: np.ndarray,
    values: np.ndarray,
    cutoff: Day,
    horizon_days: int,
    options: MetricsSection,
    groups: pd.Series | dict[object, str] | None = None,
) -> EvaluationReport:
    """Every definition and score computed on history to ``cutoff``, checked on the horizon after.

    ``groups`` maps customer id → customer group for per-group no-purchase thresholds.
    The lapse score's history model is fitted as a metrics run on ``cutoff`` would fit it
    (`lapse_fit`), for an outcome window of ``horizon_days``, and flags with the
    threshold of ``options``; so are the hand-weighted score's weights (`calibrate`).
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, not {horizon_days}")
    settings = options.lapse
    customer_ids = np.asarray(customer_ids)
    day = day_numbers(np.asarray(days))
    values = np.asarray(values, dtype=np.float64)
    cut = day_number(cutoff)
    group_series = pd.Series(groups, dtype=object) if groups is not None else None

    if not (day <= cut).any():
        raise ValueError("no customer bought anything before the cutoff")
    now = _period(customer_ids, day, values, cut, cut + horizon_days, group_series, options.min_customers)
    summary, lapsed = now.summary, now.lapsed
    recency = now.frame["recency_days"]
    (p_bg, bg_note), (p_pareto, pareto_note) = (_p_alive(m, summary, options.min_customers) for m in (BGNBD, ParetoNBD))
    scored, score_note = _history_score(customer_ids, day, values, cut, settings.model_copy(update={"horizon_days": horizon_days}), now)
    history_days = float(cut - int(day[day <= cut].min()))
    flags = lapse_flags(now.frame, settings, scored, history_days)

    continuous = {
        "days since last purchase": (recency.to_numpy(), ""),
        "overdue ratio": (overdue(recency, now.gap).to_numpy(), "no customer has two purchases before the cutoff"),
        "1 - P(alive) BG/NBD": (1.0 - p_bg, bg_note),
        "1 - P(alive) MBG/NBD": (1.0 - now.frame["p_alive"].to_numpy(), now.model_note),
        "1 - P(alive) Pareto/NBD": (1.0 - p_pareto, pareto_note),
        HAND_WEIGHTED: (now.terms(settings).score(settings).to_numpy(), now.model_note),
        LAPSE_SCORE: (np.full(len(summary), np.nan) if scored is None else scored.probability.to_numpy(), score_note),
    }
    scores = [_score_result(name, score, lapsed, note) for name, (score, note) in continuous.items()]
    models = [s for s in scores if s.name.startswith("1 - P(alive)") and not np.isnan(s.auc)]
    compared = ["days since last purchase", HAND_WEIGHTED, *([max(models, key=lambda s: s.auc).name] if models else [])]
    gains = [] if scored is None else [Gain(name, *gain_interval(continuous[LAPSE_SCORE][0], continuous[name][0], lapsed)) for name in compared]
    silence = recency.to_numpy(dtype=np.float64)
    results = [
        _flag_result(name, threshold, flags[f"lapsed_{name}"].to_numpy(), lapsed, silence)
        for name, threshold in _thresholds(settings, scored, history_days).items()
    ]
    results.append(_flag_result("any", "+".join(settings.definitions), flags["lapsed"].to_numpy(), lapsed, silence))
    start = earlier_period(int(day[day <= cut].min()), cut, horizon_days)
    if isinstance(start, str):
        calibration: Calibration | str = f"no earlier period to fit weights on: {start}"
    else:
        known = day <= cut
        past = _period(customer_ids[known], day[known], values[known], cut - start[0], cut, group_series, options.min_customers)
        calibration = calibrate((past.terms(settings), past.lapsed), (now.terms(settings), lapsed), settings, fitted_on=start[1])
    return EvaluationReport(
        cutoff=day_of(cut),
        horizon_days=horizon_days,
        customers=len(summary),
        lapsed_share=float(lapsed.mean()),
        scores=scores,
        flags=results,
        calibration=calibration,
        notes=_one_outcome(lapsed, horizon_days) + _few(len(summary)),
        gains=gains,
    )


def _history_score(
    customer_ids: np.ndarray, day: np.ndarray, values: np.ndarray, cut: int, settings: LapseSection, now: _Period
) -> tuple[HistoryScore | None, str]:
    """The lapse score at the cutoff as a metrics run would have computed it, or None and why not."""
    fit = fit_on_history(customer_ids, day, values, cut, settings)
    if isinstance(fit, str):
        return None, fit
    scored = score_history(fit, now.history, cut)
    fit = with_threshold(fit, scored.probability.to_numpy(), settings)
    return dataclasses.replace(scored, threshold=fit.threshold), ""


def _thresholds(settings: LapseSection, scored: HistoryScore | None, history_days: float) -> dict[str, str]:
    """Each definition's threshold in words, as `lapse_flags` applied it."""
    by_group = f", by group {settings.no_purchase_days_by_group}" if settings.no_purchase_days_by_group else ""
    rule = f"> {settings.no_purchase_days} days{by_group}"
    if history_days < settings.no_purchase_days:
        rule = f"> {short_history_days(history_days):.0f} days (half of {history_days:.0f})"
    if scored is None:
        score = "rule or rhythm (no lapse model)"
    else:
        top = f"top {settings.score_top_share:.0%}, " if settings.score_top_share is not None else ""
        score = f"{top}P(none in {scored.days} d) >= {scored.threshold:.2f}"
    return {
        "score": score,
        "rule": rule,
        "rhythm": f"> {settings.rhythm_factor:g}x gap, >= {settings.rhythm_min_purchases} buys",
        "model": f"P(alive) MBG/NBD < {settings.p_alive_below:g}",
    }


def _score_result(name: str, score: np.ndarray, lapsed: np.ndarray, note: str) -> ScoreResult:
    """The AUC and its interval, with the reason when there is none (the score known for nobody: `note`; one outcome only: said in the notes)."""
    defined = int(np.count_nonzero(~np.isnan(score)))
    return ScoreResult(name, auc(score, lapsed), defined, note if defined == 0 else "", auc_interval(score, lapsed))


def _few(customers: int) -> list[str]:
    """A warning that the figures are mostly chance, when the customers are too few for any of them to mean much."""
    if customers >= MIN_CUSTOMERS:
        return []
    return [
        f"only {customers:,} customers bought before the cutoff: with fewer than {MIN_CUSTOMERS} every figure below moves by chance more than by merit (the intervals show how much)"
    ]


def _one_outcome(lapsed: np.ndarray, horizon_days: int) -> list[str]:
    """Why the table has no AUC and no precision: every customer lapsed, or none did."""
    if lapsed.all():
        return [f"no customer bought again within {horizon_days} days of the cutoff: AUCs need some who did (a longer --horizon, or an earlier --cutoff)"]
    if not lapsed.any():
        return [f"every customer bought again within {horizon_days} days of the cutoff: AUCs and precision need some who did not (a shorter --horizon)"]
    return []


def _flag_result(name: str, threshold: str, flagged: np.ndarray, lapsed: np.ndarray, recency: np.ndarray) -> FlagResult:
    """Precision, recall, share flagged and lift, beside the day rule that flags as many.

    Precision is NaN when nothing is flagged; precision, recall and lift are NaN when the
    outcome is the same for everyone (all lapsed: any flag is "right"; the notes say so).
    """
    n_flagged = int(np.count_nonzero(flagged))
    one_outcome = bool(lapsed.all() or not lapsed.any())
    if one_outcome:
        return FlagResult(name, threshold, float("nan"), float("nan"), n_flagged / max(flagged.size, 1))
    precision, recall = _precision_recall(flagged, lapsed)
    base = float(lapsed.mean())
    days, rule_precision, rule_recall = float("nan"), float("nan"), float("nan")
    if n_flagged:
        days, hits = _most_silent(n_flagged, lapsed, recency)
        rule_precision, rule_recall = hits / n_flagged, hits / int(np.count_nonzero(lapsed))
    return FlagResult(
        name, threshold, precision, recall, n_flagged / flagged.size,
        precision / base if base else float("nan"), days, rule_precision, rule_recall,
    )  # fmt: skip


def _most_silent(n: int, lapsed: np.ndarray, recency: np.ndarray) -> tuple[float, float]:
    """The silence from which the n most silent customers are flagged, and how many of them lapsed.

    Customers as silent as the n-th are drawn from at random, so the count is its
    expectation: what the day rule would get without an order among equals to favour it.
    """
    days = float(np.sort(recency)[::-1][n - 1])
    above, tied = recency > days, recency == days
    from_tied = n - int(np.count_nonzero(above))
    hits = np.count_nonzero(above & lapsed) + from_tied * np.count_nonzero(tied & lapsed) / np.count_nonzero(tied)
    return days, float(hits)


def _precision_recall(flagged: np.ndarray, lapsed: np.ndarray) -> tuple[float, float]:
    hits = int(np.count_nonzero(flagged & lapsed))
    n_flagged, n_lapsed = int(np.count_nonzero(flagged)), int(np.count_nonzero(lapsed))
    return (hits / n_flagged if n_flagged else float("nan")), (hits / n_lapsed if n_lapsed else float("nan"))
