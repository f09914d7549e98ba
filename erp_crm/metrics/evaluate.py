"""How well each lapse definition would have predicted who really stopped buying.

History is cut at a date; every definition and score is computed from what was known then,
and compared with what happened in the next ``horizon_days``: a customer "lapsed" if no
purchase day falls in (cutoff, cutoff + horizon]. Continuous scores get an AUC (the chance
that a randomly picked lapsed customer scores higher than a randomly picked returning
one; 0.5 is a coin); boolean definitions get precision, recall and the share they flag at
their thresholds, so that an admin can choose a definition and a threshold with numbers.
Customers who had not bought before the cutoff are left out: nothing can be said of them.

The combined score's weights are also fitted to this history (`calibrate`): a logistic
regression of "bought nothing" on the score's three terms, fitted on a random half of the
customers and judged on the other half beside the weights in use, so that the admin
sees whether the company's own customers call for other weights before taking them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from erp_crm.metrics.bgnbd import BGNBD, MBGNBD
from erp_crm.metrics.lapse import ScoreTerms, lapse_flags
from erp_crm.metrics.models import FitError, PurchaseModel
from erp_crm.metrics.pareto_nbd import ParetoNBD
from erp_crm.metrics.rhythm import overdue, typical_gaps
from erp_crm.metrics.summary import Day, day_number, day_numbers, rfm_summary
from erp_crm.settings.metrics import LapseSection


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


@dataclass(frozen=True)
class FlagResult:
    """A boolean definition at its threshold against the customers who really lapsed."""

    name: str
    threshold: str
    precision: float
    recall: float
    share_flagged: float


@dataclass(frozen=True)
class Calibration:
    """Combined-score weights fitted on half the customers; both weightings' AUC on the other half."""

    weights: dict[str, float]  # the LapseSection fields: score_model_weight, ..., score_reference_days
    auc_fitted: float
    auc_current: float
    customers: int  # in the half the AUCs are measured on

    def settings_line(self) -> str:
        """The YAML that puts the fitted weights to use."""
        return "metrics: {lapse: {" + ", ".join(f"{k}: {v:.3g}" for k, v in self.weights.items()) + "}}"


MIN_CALIBRATION = 100  # customers, and lapsed and returning ones in each half: fewer gives noise


def calibrate(terms: ScoreTerms, lapsed: np.ndarray, settings: LapseSection, seed: int = 0) -> Calibration | str:
    """Fit the score's weights on a random half of the customers; the reason as text when there is too little to fit on."""
    x = np.column_stack([terms.model.to_numpy(), terms.silence.to_numpy(), terms.rhythm.to_numpy()])
    known = np.isfinite(x).all(axis=1)
    x, y = x[known], np.asarray(lapsed, dtype=bool)[known]
    half = np.random.default_rng(seed).permutation(len(y)) < len(y) // 2
    counts = [int(part.sum()) for h in (half, ~half) for part in (y[h], ~y[h])]
    if len(y) < MIN_CALIBRATION:
        return f"too few customers to fit weights on ({len(y)}; at least {MIN_CALIBRATION} are needed)"
    if min(counts) < MIN_CALIBRATION // 10:
        return (
            f"too few customers who {'returned' if min(counts[1], counts[3]) < MIN_CALIBRATION // 10 else 'lapsed'} to fit weights on: "
            f"each random half of the {len(y):,} needs at least {MIN_CALIBRATION // 10} who lapsed and as many who returned, "
            f"and has {counts[0]:,} and {counts[1]:,}, {counts[2]:,} and {counts[3]:,}"
        )

    fit_x, fit_y = x[half], y[half].astype(np.float64)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        z = fit_x @ params[:3] + params[3]
        value = -np.sum(fit_y * log_expit(z) + (1 - fit_y) * log_expit(-z))
        residual = expit(z) - fit_y
        return float(value), np.append(fit_x.T @ residual, residual.sum())

    start = np.array([settings.score_model_weight, settings.score_silence_weight, settings.score_rhythm_weight, -settings.score_silence_weight * np.log(settings.score_reference_days)])
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * 3 + [(None, None)])
    w_model, w_silence, w_rhythm, intercept = found.x
    reference = float(np.clip(np.exp(-intercept / w_silence), 1, 3650)) if w_silence > 1e-6 else settings.score_reference_days
    weights = {"score_model_weight": w_model, "score_silence_weight": w_silence, "score_rhythm_weight": w_rhythm, "score_reference_days": reference}
    test_x, test_y = x[~half], y[~half]
    current = test_x @ [settings.score_model_weight, settings.score_silence_weight, settings.score_rhythm_weight]
    return Calibration({k: float(v) for k, v in weights.items()}, auc(test_x @ found.x[:3], test_y), auc(current, test_y), int((~half).sum()))


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
            "calibration": vars(self.calibration) if isinstance(self.calibration, Calibration) else {"reason": self.calibration},
        }
        return {key: _no_nan(value) for key, value in data.items()}


def _no_nan(value: object) -> object:
    """`value` with every NaN float replaced by None, in dicts and lists at any depth."""
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def _p_alive(model: type[PurchaseModel], summary: pd.DataFrame) -> tuple[np.ndarray, str]:
    """P(alive) of each customer from ``model`` fitted on them (time in weeks); NaN and the reason if no fit."""
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


def evaluate(
    customer_ids: np.ndarray,
    days: np.ndarray,
    values: np.ndarray,
    cutoff: Day,
    horizon_days: int,
    settings: LapseSection,
    groups: pd.Series | dict[object, str] | None = None,
) -> EvaluationReport:
    """Every definition and score computed on history to ``cutoff``, checked on the horizon after.

    ``groups`` maps customer id → customer group for per-group no-purchase thresholds.
    The combined score uses MBG/NBD's P(alive), as ``lapse_flags`` does in production.
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, not {horizon_days}")
    customer_ids = np.asarray(customer_ids)
    day = day_numbers(np.asarray(days))
    values = np.asarray(values, dtype=np.float64)
    cut = day_number(cutoff)
    end = cut + horizon_days

    summary = rfm_summary(customer_ids, day, values, cut)
    if summary.empty:
        raise ValueError("no customer bought anything before the cutoff")
    later = (day > cut) & (day <= end)
    returned = rfm_summary(customer_ids[later], day[later], values[later], end).index
    lapsed = ~summary.index.isin(returned)

    before = day <= cut
    gap = typical_gaps(customer_ids[before], day[before]).reindex(summary.index)
    recency = summary["T"] - summary["recency"]
    (p_bg, bg_note), (p_mbg, mbg_note), (p_pareto, pareto_note) = (_p_alive(m, summary) for m in (BGNBD, MBGNBD, ParetoNBD))
    group_series = pd.Series(groups, dtype=object) if groups is not None else None
    frame = pd.DataFrame(
        {
            "recency_days": recency,
            "purchase_days": summary["frequency"] + 1,
            "typical_gap_days": gap,
            "p_alive": p_mbg,
            "customer_group": group_series.reindex(summary.index) if group_series is not None else None,
        },
        index=summary.index,
    )
    flags = lapse_flags(frame, settings)
    terms = ScoreTerms.of(frame["recency_days"], frame["purchase_days"], frame["typical_gap_days"], frame["p_alive"], settings)

    continuous = {
        "days since last purchase": (recency.to_numpy(), ""),
        "overdue ratio": (overdue(recency, gap).to_numpy(), "no customer has two purchases before the cutoff"),
        "1 - P(alive) BG/NBD": (1.0 - p_bg, bg_note),
        "1 - P(alive) MBG/NBD": (1.0 - p_mbg, mbg_note),
        "1 - P(alive) Pareto/NBD": (1.0 - p_pareto, pareto_note),
        "combined lapse score": (flags["lapse_score"].to_numpy(), mbg_note),
    }
    scores = [_score_result(name, score, lapsed, note) for name, (score, note) in continuous.items()]
    by_group = f", by group {settings.no_purchase_days_by_group}" if settings.no_purchase_days_by_group else ""
    thresholds = {
        "rule": f"> {settings.no_purchase_days} days{by_group}",
        "rhythm": f"> {settings.rhythm_factor:g}x gap, >= {settings.rhythm_min_purchases} buys",
        "model": f"P(alive) MBG/NBD < {settings.p_alive_below:g}",
    }
    results = [
        _flag_result(name, threshold, flags[f"lapsed_{name}"].to_numpy(), lapsed)
        for name, threshold in thresholds.items()
    ]
    results.append(_flag_result("any", "+".join(settings.definitions), flags["lapsed"].to_numpy(), lapsed))
    return EvaluationReport(
        cutoff=dt.date(1970, 1, 1) + dt.timedelta(days=cut),
        horizon_days=horizon_days,
        customers=len(summary),
        lapsed_share=float(lapsed.mean()),
        scores=scores,
        flags=results,
        calibration=calibrate(terms, lapsed, settings),
        notes=_one_outcome(lapsed, horizon_days),
    )


def _score_result(name: str, score: np.ndarray, lapsed: np.ndarray, note: str) -> ScoreResult:
    """The AUC, with the reason when there is none (the score known for nobody: `note`; one outcome only: said in the notes)."""
    defined = int(np.count_nonzero(~np.isnan(score)))
    return ScoreResult(name, auc(score, lapsed), defined, note if defined == 0 else "")


def _one_outcome(lapsed: np.ndarray, horizon_days: int) -> list[str]:
    """Why the table has no AUC and no precision: every customer lapsed, or none did."""
    if lapsed.all():
        return [f"no customer bought again within {horizon_days} days of the cutoff: AUCs need some who did (a longer --horizon, or an earlier --cutoff)"]
    if not lapsed.any():
        return [f"every customer bought again within {horizon_days} days of the cutoff: AUCs and precision need some who did not (a shorter --horizon)"]
    return []


def _flag_result(name: str, threshold: str, flagged: np.ndarray, lapsed: np.ndarray) -> FlagResult:
    """Precision (NaN when nothing is flagged), recall and share flagged."""
    hits = int(np.count_nonzero(flagged & lapsed))
    n_flagged = int(np.count_nonzero(flagged))
    n_lapsed = int(np.count_nonzero(lapsed))
    return FlagResult(
        name,
        threshold,
        hits / n_flagged if n_flagged else float("nan"),
        hits / n_lapsed if n_lapsed else float("nan"),
        n_flagged / flagged.size,
    )
