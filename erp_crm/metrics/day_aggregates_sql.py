"""The purchase part of stage 1 (`aggregates.DAYS`) computed by PostgreSQL over the day table.

On a large base a full run's purchase figures cost most in moving rows: every partner's
days read into numpy, only to be summed per partner. PostgreSQL sums them where they
are (`GROUP BY partner_id` over `crm_partner_day`) and hands pandas one row per partner.
The gaps between purchase days come from a window (`lag` over the partner's purchase
days), the typical gap from ``percentile_cont(0.5)``, which for whole days is the
median pandas takes (the mean of the middle two of an even count).

Every figure is the double the Python path (`aggregates.python_day_part`) computes:
amounts are rounded as ``np.round(x, 4)`` rounds (`invoice_days.rounded_as_numpy`), and
the average and the repeat value (the rounded sum less the first day's) divide the
rounded sums as numpy does. The sums
differ in how they add: numpy adds the days' doubles (pairwise, in day order), with an
error that grows with the sum and the number of days; PostgreSQL adds them as the
decimals they were rounded from (`_exact`), without error. Rounded to 4 decimals the two
are the same as long as numpy's error stays under half a ten-thousandth, which holds
for every partner of the tests up to sums of 10¹¹ over 30 days. Beyond a day of 10¹¹ a
double no longer holds four decimals (nor, beyond 10¹³, cents) and the two may differ
by a step of the double.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics.invoice_days import day_number_sql, matrix, rounded_as_numpy
from erp_crm.model.tables.metrics import partner_day

COLUMNS = (
    "invoices", "credit_notes", "revenue_net", "credit_note_value", "services_value", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days", "longest_gap_days",
)  # fmt: skip


def _exact(amount: sa.ColumnElement[float]) -> sa.ColumnElement[Any]:
    """A day's amount as the decimal it was rounded from, so that the sums are exact.

    A double's shortest text (``extra_float_digits = 1``, set by `day_part`) is the
    4-decimal value it was rounded from wherever a double holds four decimals (below
    about 10¹¹), and within half a step of the double beyond; the plain cast to numeric
    would keep 15 digits only, cents off at 10¹³.
    """
    return sa.cast(sa.cast(amount, sa.Text), sa.Numeric)


def _sums(as_of: dt.date, dialect: str) -> sa.Subquery:
    """Per partner with a day up to `as_of`: the day table's sums, and its purchase days' (net above zero) count, span, sums and gaps."""
    t = partner_day
    bought = t.c.net > 0
    previous = sa.func.lag(t.c.day).over(partition_by=(t.c.partner_id, bought), order_by=t.c.day)
    days = sa.select(
        t.c.partner_id, t.c.day, t.c.invoices, t.c.credit_notes, t.c.net, t.c.credited, t.c.services,
        bought.label("bought"), sa.case((bought, t.c.day - previous)).label("gap"),
    ).where(t.c.day <= as_of).subquery("days")  # fmt: skip
    d = days.c
    return (
        sa.select(
            d.partner_id,
            sa.func.sum(d.invoices).label("invoices"),
            sa.func.sum(d.credit_notes).label("credit_notes"),
            rounded_as_numpy(sa.func.sum(_exact(d.net))).label("revenue_net"),
            rounded_as_numpy(sa.func.sum(_exact(d.credited))).label("credit_note_value"),
            rounded_as_numpy(sa.func.sum(_exact(d.services))).label("services_value"),
            day_number_sql(sa.func.min(d.day).filter(d.bought), dialect).label("first_purchase"),
            day_number_sql(sa.func.max(d.day).filter(d.bought), dialect).label("last_purchase"),
            sa.func.count().filter(d.bought).label("purchase_days"),
            rounded_as_numpy(sa.func.sum(_exact(d.net)).filter(d.bought)).label("purchase_value"),
            sa.func.max(d.net).filter(d.bought, d.gap.is_(None)).label("first_value"),  # the first purchase day's
            sa.func.percentile_cont(0.5).within_group(d.gap).label("typical_gap_days"),
            sa.func.max(d.gap).label("longest_gap"),
        )
        .group_by(d.partner_id)
        .subquery("sums")
    )


def day_part(conn: Connection, as_of: dt.date) -> pd.DataFrame:
    """The `COLUMNS` per partner id, for every partner with a day up to `as_of`; NaN where the Python path has none."""
    conn.exec_driver_sql("SET LOCAL extra_float_digits = 1")  # doubles as their shortest exact text (`_exact`), to the end of the run
    data = matrix(conn, day_part_query(as_of, conn.dialect.name), 1 + len(COLUMNS))
    return pd.DataFrame(data[:, 1:], columns=list(COLUMNS), index=pd.Index(data[:, 0].astype("int64"), name="partner_id"))


def day_part_query(as_of: dt.date, dialect: str) -> sa.Select:
    """partner_id and the `COLUMNS`, one row per partner with a day up to `as_of`."""
    s = _sums(as_of, dialect).c
    repeats = sa.func.nullif(s.purchase_days - 1, 0)
    return sa.select(
        s.partner_id, s.invoices, s.credit_notes, s.revenue_net, s.credit_note_value, s.services_value, s.first_purchase, s.last_purchase,
        s.purchase_days, s.purchase_value,
        rounded_as_numpy((s.purchase_value - s.first_value) / repeats),
        rounded_as_numpy(s.purchase_value / sa.func.nullif(s.purchase_days, 0)),
        s.typical_gap_days,
        sa.case((s.purchase_days > 0, sa.func.coalesce(s.longest_gap, 0))),  # 0 with one purchase day, none without
    )  # fmt: skip
