"""`erp-crm metrics evaluate`: how well each lapse definition would have predicted, on
this company's own history, who then bought nothing.

The history is cut at a date; every definition and score is computed on what came
before, and checked against the horizon after it, so an admin chooses thresholds with
numbers from their own customers rather than from a textbook data set.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from erp_crm.errors import UserError
from erp_crm.metrics.evaluate import EvaluationReport, evaluate
from erp_crm.metrics.invoice_days import read_purchases
from erp_crm.metrics.purchases import PURCHASES, in_overlay
from erp_crm.metrics.summary import day_number, day_of
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import MetricsSection
from erp_crm.store.overlay import Overlay

LAST_DATA_SLACK_DAYS = 7  # a quiet last week is business; a quiet last month is missing data


def evaluate_history(overlay: Overlay, settings: MetricsSection, cutoff: dt.date, horizon_days: int) -> EvaluationReport:
    """Evaluate the configured lapse definitions on the overlay's purchases (`metrics.purchases_from`) around `cutoff`."""
    if horizon_days < 1:
        raise UserError(f"--horizon must be at least one day, not {horizon_days}")
    end = cutoff + dt.timedelta(days=horizon_days)
    if end > dt.date.today():
        raise UserError(f"the horizon ends {end.isoformat()}, after today: choose an earlier --cutoff or a shorter --horizon")
    partner = SYNCED["partner"]
    with overlay.connect() as conn:
        purchases = read_purchases(conn, PURCHASES[settings.purchases_from], end)
        missing = None if len(purchases) else in_overlay(conn, settings.purchases_from, end)
        if missing is not None:
            raise UserError(missing.line())
        groups = pd.Series(
            dict(conn.execute(sa.select(partner.c.id, partner.c.customer_group).where(partner.c.customer_group.is_not(None))).all()),
            dtype=object,
        )
    before = purchases.day <= day_number(cutoff)
    if not before.any():
        raise UserError(f"no purchases on or before {cutoff.isoformat()}: choose a later --cutoff")
    report = evaluate(purchases.partner_id, purchases.day, purchases.value, cutoff, horizon_days, settings, groups)
    last = day_of(int(purchases.day.max()))
    if (end - last).days > LAST_DATA_SLACK_DAYS:
        report.notes.insert(
            0,
            f"the outcome window ends {end.isoformat()}, but the last purchase in the overlay is of {last.isoformat()}: "
            "if the data stop there (a sync behind, an export cut short), customers who bought later look lapsed; "
            "choose a --cutoff and --horizon that end by then",
        )
    return report
