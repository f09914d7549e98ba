"""`erp-crm metrics`: compute the per-partner figures, judge the lapse definitions on history, show one partner."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import TYPE_CHECKING, Any

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import AS_OF, DAY, DAYS
from erp_crm.entrypoints.cli.progress import on_terminal, progress_printer
from erp_crm.i18n import LOCALES, lapse_reasons
from erp_crm.queries.partners import partner_figures

if TYPE_CHECKING:  # the metrics pull in pandas and scipy: imported when a command runs, not for --help
    from erp_crm.metrics.compute import MetricsReport
    from erp_crm.metrics.evaluate import EvaluationReport, FlagResult


@click.group()
def metrics() -> None:
    """Per-partner figures: quantitative data, RFM, buying rhythm, models, lapse flags."""


@metrics.command("compute")
@click.option("--full", is_flag=True, help="Aggregate every partner's documents again, not only what changed.")
@click.option("--refit", is_flag=True, help="Fit the customer models anew even if the last fit is recent (metrics.refit_days).")
@click.option("--as-of", "as_of", type=AS_OF, help="Compute as of this day (YYYY-MM-DD). Default: today.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON (no progress).")
@pass_ctx
def compute(obj: Context, full: bool, refit: bool, as_of: dt.date | None, as_json: bool) -> None:
    """Compute every partner's figures as of a date and keep a snapshot of them."""
    from erp_crm.metrics.compute import compute_metrics

    settings = obj.settings
    show, end = progress_printer(on_terminal(as_json))
    try:
        report = compute_metrics(obj.overlay, settings.metrics, source=settings.erp.source, as_of=as_of, full=full, refit=refit, progress=show)
    finally:
        end()
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))


@metrics.command("evaluate")
@click.option("--cutoff", required=True, type=DAY, help="Cut the history at this day (YYYY-MM-DD).")
@click.option("--horizon", type=DAYS, default=180, show_default=True, help="Days after the cutoff in which a customer may buy again.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@pass_ctx
def evaluate(obj: Context, cutoff: dt.date, horizon: int, as_json: bool) -> None:
    """How well each lapse definition and score predicted who then bought nothing (AUC, precision, recall)."""
    from erp_crm.metrics.backtest import evaluate_history

    report = evaluate_history(obj.overlay, obj.settings.metrics, cutoff, horizon)
    click.echo(json.dumps(report.as_dict(), indent=2, default=str) if as_json else format_evaluation(report))


@metrics.command("show")
@click.argument("partner_key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(obj: Context, partner_key: str, as_json: bool) -> None:
    """Show a partner's figures (by its ERP key) and the snapshots kept of them."""
    with obj.overlay.connect() as conn:
        figures = partner_figures(conn, obj.settings.erp.source, partner_key)
    click.echo(json.dumps(figures, indent=2, ensure_ascii=False, default=str) if as_json else format_figures(figures))


def format_figures(figures: dict[str, Any]) -> str:
    """Every figure on a line of its own (the lapse reason in each language), then the snapshots."""
    lines = [f"{figures['partner']}  {figures['name']}"]
    for key, value in figures["metrics"].items():
        if key == "lapse_reason":
            lines += [f"  {key + '_' + locale:<24} {lapse_reasons.render(value, locale)}" for locale in LOCALES]
        elif key != "partner_id":
            lines.append(f"  {key:<24} {'' if value is None else value}")
    if figures["history"]:
        lines.append("  history:")
        for row in figures["history"]:
            lines.append("    " + "  ".join(f"{k}={'' if v is None else v}" for k, v in row.items()))
    return "\n".join(lines)


# what the figures do without each model, said beside the reason it is missing
WITHOUT = {
    "mbgnbd": "P(alive), expected purchases and CLV stay empty, and the model definition flags nobody",
    "gamma_gamma": "CLV and expected value stay empty",
    "lapse_model": "the lapse score is the hand-weighted one, and the day rule and the rhythm flag lapsed customers",
}


def format_report(report: MetricsReport) -> str:
    """What a metrics run did (and why it found no customer, if a setting is why), the fits it scored with, and how many each definition flags."""
    from erp_crm.metrics.fits import NOT_USED

    lines = [
        f"metrics as of {report.as_of} ({report.mode}): {report.partners} partners, {report.customers} customers, "
        f"{report.recomputed} aggregated again, {report.written} rows written, {report.seconds:.2f} s"
    ]
    if report.no_purchases is not None:
        lines.append(f"  {report.no_purchases.line()}")
    fit = report.models.get("rfm") or {}
    if fit.get("fitted_as_of"):
        when = "fitted now" if report.fitted else f"kept from the fit as of {fit['fitted_as_of']}"
        customers = int(fit.get("customers") or 0)
        lines.append(f"  models and RFM cut points: {when}, on {customers:,} customers" if customers else "  models and RFM cut points: no customer to fit them on")
    for name in ("mbgnbd", "gamma_gamma", "lapse_model"):
        model = report.models.get(name)
        if model is None:
            continue
        if name == "lapse_model" and model.get("fitted"):
            lines.append(
                f"  lapse_model: fitted on {model['fitted_on']}, {model['customers']:,} customers ({model['lapsed_share']:.0%} bought nothing); "
                f"flags a chance of no purchase in {model['days']} days from {model['threshold']:.0%}"
            )
        elif model.get("fitted"):
            params = ", ".join(f"{k}={v:.4g}" for k, v in model.items() if isinstance(v, float) and k != "log_likelihood")
            lines.append(f"  {name}: {params}")
        else:
            reason = str(model.get("reason"))
            said = reason if reason.startswith(NOT_USED) else f"not fitted ({reason})"
            lines.append(f"  {name}: {said}; {WITHOUT[name]}")
    if report.lapsed:
        lines.append("  lapsed: " + ", ".join(f"{k} {v}" for k, v in report.lapsed.items()))
    return "\n".join(lines)


def format_evaluation(report: EvaluationReport) -> str:
    """A plain-text table of every score's AUC and every definition's precision and recall, and the fitted weights."""
    from erp_crm.metrics.evaluate import Calibration

    end = report.cutoff + dt.timedelta(days=report.horizon_days)
    lines = [
        f"History to {report.cutoff}, outcome {report.cutoff + dt.timedelta(days=1)}..{end}: "
        f"{report.customers:,} customers, {report.lapsed_share:.1%} bought nothing.",
        *(f"note: {note}" for note in report.notes),
        "",
        f"{'score (higher = lapsed)':<44} {'AUC':>6} {'95 % interval':>14} {'customers':>10}",
    ]
    lines += [f"{s.name:<44} {_figure(s.auc):>6} {_interval(s.interval):>14} {s.customers:>10,}{'  ' + s.note if s.note else ''}" for s in report.scores]
    if report.gains:
        lines += ["", "the lapse score's gain in AUC over (paired: the same customers resampled for both)"]
        lines += [f"  {g.over:<42} {g.gain:+.3f}  ({g.interval[0]:+.3f} to {g.interval[1]:+.3f})" for g in report.gains]
    lines += [
        "",
        f"{'definition':<10} {'threshold':<34} {'precision':>9} {'recall':>7} {'flagged':>8} {'lift':>5}   day rule flagging as many (precision / recall)",
    ]
    lines += [
        f"{f.name:<10} {f.threshold:<34} {_figure(f.precision):>9} {_figure(f.recall):>7} {f.share_flagged:>8.1%} {_lift(f.lift):>5}   {_day_rule(f)}"
        for f in report.flags
    ]
    c = report.calibration
    if isinstance(c, Calibration):
        lines += [
            "",
            f"hand-weighted score's weights fitted on the period before ({c.fitted_on}), AUC on these {c.customers:,} customers:",
            f"  weights in use {c.auc_current:.3f} {_interval(c.auc_current_interval)}, fitted {c.auc_fitted:.3f} {_interval(c.auc_fitted_interval)};",
            "  to use the fitted ones where no lapse model can be fitted, merge this into the metrics: section of the settings:",
            f"  {c.settings_line()}",
        ]
    elif c:
        lines += ["", f"hand-weighted score's weights: not fitted, {c}"]
    return "\n".join(lines)


def _figure(value: float) -> str:
    """A ratio to three places, or a dash where it cannot be computed (the notes say why)."""
    return "—" if math.isnan(value) else f"{value:.3f}"


def _interval(bounds: tuple[float, float]) -> str:
    """A 95 % interval as (low–high), or a dash where the AUC has none."""
    low, high = bounds
    return "—" if math.isnan(low) else f"({low:.3f}–{high:.3f})"


def _lift(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}"


def _day_rule(flag: FlagResult) -> str:
    """The plain day rule that flags as many customers, with its precision and recall: what the definition must beat."""
    if math.isnan(flag.day_rule_days):
        return "—"
    return f"≥ {flag.day_rule_days:.0f} days: {_figure(flag.day_rule_precision)} / {_figure(flag.day_rule_recall)}"
