"""What a metrics run scores customers against: fitted anew, or an earlier fit used again.

Some things describe the whole customer base rather than one customer: the MBG/NBD and
Gamma-Gamma parameters, the RFM quintile cut points, the lapse score's history model and
its threshold (`lapse_fit`), and the day the base's history starts. A week of new invoices barely
moves them, yet each time they move every customer's P(alive), CLV and (near the cut
points) RFM scores move a little, so every row would have to be written again, and
fitting the models costs more than the figures of all the partners whose documents
changed. A run therefore keeps the last fit until it is `refit_days` old, the number of
customers has moved by more than `REFIT_DRIFT`, the metrics settings changed, the run
goes back before the fit's date, or `--refit` asks for a new one. Full and incremental
runs follow the same rule, which is what keeps their results identical.

The fit, its date and the customers it saw are kept in `crm_metrics_run.models`, with
every number at full precision, so that scoring with a kept fit gives the very numbers
the fitting run gave.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from erp_crm.metrics import doubts
from erp_crm.metrics.bgnbd import MBGNBD
from erp_crm.metrics.gamma_gamma import GammaGamma
from erp_crm.metrics.lapse_model import LapseFit
from erp_crm.metrics.rfm import QuintileCuts
from erp_crm.settings.metrics import MetricsSection

CHECKS = 2  # the version of the checks a fit passed (doubts.py): a fit kept from before them is fitted again
NOT_CONVERGED = "its fit did not converge on this history"
NOT_USED = "fitted but not used: "
REFIT_DRIFT = 0.10  # refit when the number of customers moved by more than this share
WEEK = 7.0
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class ModelInputs:
    """The models' view of the customers (time in weeks): repeat purchases, their span, age, mean repeat value."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray

    @classmethod
    def of(cls, purchase_days: np.ndarray, first: np.ndarray, last: np.ndarray, repeat_value: np.ndarray, end: int) -> ModelInputs:
        """From purchase days, first and last purchase (day numbers), mean repeat value and the run's day number."""
        return cls(purchase_days - 1, (last - first) / WEEK, (end - first) / WEEK, np.nan_to_num(repeat_value, nan=0.0))

    @property
    def repeat(self) -> np.ndarray:
        return (self.x > 0) & (self.m > 0)


@dataclass
class Fits:
    """The models to score with (None: not fitted, and `record` says why), the RFM cut points, and what the run records of them."""

    rfm: QuintileCuts
    mbgnbd: MBGNBD | None = None
    gamma_gamma: GammaGamma | None = None
    lapse: LapseFit | None = None  # the lapse score's history model (`lapse_fit`)
    history_start: dt.date | None = None  # the base's first purchase day: how far back the day rule can look
    record: dict[str, Any] = field(default_factory=dict)

    def history_days(self, as_of: dt.date) -> float | None:
        """Days of purchase history up to `as_of` (None: no purchase yet)."""
        return None if self.history_start is None else float((as_of - self.history_start).days)


def kept_fits(kept: dict[str, Any] | None, customers: int, as_of: dt.date, options: MetricsSection) -> Fits | None:
    """The last run's fits (`kept`: its record) if still good for `customers` customers as of `as_of`, else None."""
    rfm = (kept or {}).get("rfm") or {}
    if not rfm.get("fitted_as_of") or rfm.get("checks") != CHECKS:
        return None
    fitted_as_of = dt.date.fromisoformat(rfm["fitted_as_of"])
    seen = int(rfm.get("customers") or 0)
    if not (fitted_as_of <= as_of < fitted_as_of + dt.timedelta(days=options.refit_days)) or abs(customers - seen) > REFIT_DRIFT * seen:
        return None
    cuts = QuintileCuts(*(None if rfm.get(k) is None else tuple(rfm[k]) for k in ("recency_days", "frequency", "monetary")))
    fits = Fits(cuts, record=kept or {})
    purchases, spend = fits.record.get("mbgnbd") or {}, fits.record.get("gamma_gamma") or {}
    fits.mbgnbd = MBGNBD(**_model_params(purchases, MBGNBD)) if purchases.get("fitted") else None
    fits.gamma_gamma = GammaGamma(**_model_params(spend, GammaGamma)) if spend.get("fitted") else None
    lapse = fits.record.get("lapse_model") or {}
    fits.lapse = LapseFit.from_record(lapse)
    fits.history_start = dt.date.fromisoformat(lapse["history_start"]) if lapse.get("history_start") else None
    return fits


def new_fits(inputs: ModelInputs, recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray, as_of: dt.date, options: MetricsSection) -> Fits:
    """Fit everything anew on the customers' `inputs` and RFM figures (one value per customer each)."""
    customers = len(inputs.x)
    cuts = QuintileCuts.of(recency, frequency, monetary)
    fits = Fits(cuts, record={"rfm": {**asdict(cuts), "fitted_as_of": as_of.isoformat(), "customers": customers, "checks": CHECKS}})
    fits.mbgnbd, fits.record["mbgnbd"] = _fit_mbgnbd(inputs, options)
    if fits.mbgnbd is not None:
        fits.gamma_gamma, fits.record["gamma_gamma"] = _fit_gamma_gamma(inputs, options)
    else:  # CLV needs both: say so rather than leave the second model out without a word
        fits.record["gamma_gamma"] = {"fitted": False, "reason": "the purchase model (mbgnbd) was not fitted, and a value over time needs it"}
    return fits


def _fit_mbgnbd(inputs: ModelInputs, options: MetricsSection) -> tuple[MBGNBD | None, dict[str, Any]]:
    customers = len(inputs.x)
    if customers < options.min_customers:
        return None, {"fitted": False, "reason": f"{customers} customers, fewer than {options.min_customers}"}
    try:
        with np.errstate(all="ignore"):  # the optimiser's trial steps may overflow; the result is checked
            model = MBGNBD.fit(inputs.x, inputs.t_x, inputs.T, penalizer_coef=options.penalizer_coef)
    except (ArithmeticError, ValueError, RuntimeError):  # the optimiser's own words say nothing to a sales manager
        return None, {"fitted": False, "reason": NOT_CONVERGED}
    doubt = doubts.purchase_model(model, inputs.x, inputs.t_x, inputs.T)
    if doubt is not None:
        return None, {"fitted": False, "reason": f"{NOT_USED}{doubt}"}
    return model, {"fitted": True, "time_unit": "week", **_params(model)}


def _fit_gamma_gamma(inputs: ModelInputs, options: MetricsSection) -> tuple[GammaGamma | None, dict[str, Any]]:
    repeat = int(inputs.repeat.sum())
    if repeat < options.min_customers:
        return None, {"fitted": False, "reason": f"{repeat} repeat buyers, fewer than {options.min_customers}"}
    chosen = inputs.repeat
    try:
        with np.errstate(all="ignore"):
            model = GammaGamma.fit(inputs.x[chosen], inputs.m[chosen], penalizer_coef=options.penalizer_coef)
    except (ArithmeticError, ValueError, RuntimeError):
        return None, {"fitted": False, "reason": NOT_CONVERGED}
    doubt = doubts.spend_model(model, inputs.m[chosen])
    if doubt is not None:
        return None, {"fitted": False, "reason": f"{NOT_USED}{doubt}"}
    return model, {"fitted": True, **_params(model)}


def _params(model: Any) -> dict[str, float | None]:
    """The model's numbers at full precision (JSON keeps a float exactly); NaN as None."""
    return {k: (v if math.isfinite(v) else None) for k, v in asdict(model).items()}


def _model_params(record: dict[str, Any], cls: type[MBGNBD | GammaGamma]) -> dict[str, float]:
    names = cls.__dataclass_fields__
    return {k: (float("nan") if v is None else float(v)) for k, v in record.items() if k in names}


def score(fits: Fits, inputs: ModelInputs, options: MetricsSection) -> dict[str, np.ndarray]:
    """p_alive, expected_purchases_90d, expected_value and clv_12m per customer (NaN where a model is missing)."""
    n = len(inputs.x)
    out = {name: np.full(n, np.nan) for name in ("p_alive", "expected_purchases_90d", "expected_value", "clv_12m")}
    model, spend = fits.mbgnbd, fits.gamma_gamma
    if model is None or n == 0:
        return out
    x, t_x, T = inputs.x, inputs.t_x, inputs.T
    with np.errstate(all="ignore"):
        out["p_alive"] = model.probability_alive(x, t_x, T)
        out["expected_purchases_90d"] = model.conditional_expected_purchases(options.horizon_days / WEEK, x, t_x, T)
        if spend is not None:
            out["expected_value"] = np.round(spend.conditional_expected_average_profit(x, inputs.m), 4)
            clv = spend.customer_lifetime_value(
                model, x, t_x, T, inputs.m, time_months=options.clv_months,
                discount_rate_monthly=options.discount_rate_monthly, periods_per_month=DAYS_PER_MONTH / WEEK,
            )  # fmt: skip
            out["clv_12m"] = np.round(clv, 4)
    return out
