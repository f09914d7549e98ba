"""Reading and writing `crm_partner_metrics` and its dated snapshots.

A run writes either every row (a new date, new settings or a new fit: every figure moves)
or only the rows of the partners whose figures changed, together with the snapshot of
the run's date, which is always a copy of the current rows made by the database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics.aggregates import AGGREGATES
from erp_crm.metrics.figures import LAPSE_FLAGS, METRIC_COLUMNS, SCORES, TEXTS
from erp_crm.metrics.invoice_days import day_number_sql
from erp_crm.metrics.progress import SNAPSHOT, WRITING, Progress, silent
from erp_crm.model.tables.metrics import partner_metrics, partner_metrics_history
from erp_crm.store.driver import driver_params, insert_sql, on_conflict

ROWS_PER_STATEMENT = 10_000
_DATES = ("first_purchase", "last_purchase")
_INTS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days", "longest_gap_days", "tenure_days", "recency_days", "frequency", *SCORES)


def read_stored(conn: Connection, partners: sa.Select[tuple[int]] | None) -> pd.DataFrame:
    """Stage 1's figures as the last run left them (purchase dates as day numbers), of the `partners` selected (all: None)."""
    t = partner_metrics
    dialect = conn.dialect.name
    names = list(AGGREGATES)
    selected = [day_number_sql(t.c[c], dialect) if c in _DATES else t.c[c] for c in names]
    query = sa.select(t.c.partner_id, *selected)
    rows = conn.execute(query if partners is None else query.where(t.c.partner_id.in_(partners))).all()
    # one float matrix (None becomes NaN); ids and figures are exact in float64
    data = np.array([tuple(r) for r in rows], dtype=np.float64).reshape(len(rows), len(names) + 1)
    index = pd.Index(data[:, 0].astype(np.int64), name="partner_id")
    return pd.DataFrame(data[:, 1:], columns=names, index=index)


def _dates(days: np.ndarray) -> list[dt.date | None]:
    """Day numbers (days since 1970-01-01, NaN for none) as dates."""
    missing = np.isnan(days)
    cells = np.where(missing, 0, days).astype(np.int64).astype("datetime64[D]").astype(object)
    cells[missing] = None
    return cells.tolist()


def _rows(frame: pd.DataFrame, columns: list[str], extra: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows for the driver in ``columns`` order: plain Python values, None for missing ones."""
    values: dict[str, list[Any]] = {"partner_id": frame.index.to_numpy(np.int64).tolist()}
    for column in METRIC_COLUMNS:
        series = frame[column]
        if column in LAPSE_FLAGS:
            values[column] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else bool(v) for v in series]
        elif column in TEXTS:  # the lapse reason among them: JSON text the driver writes into the JSON column
            values[column] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in series]
        elif column in _DATES:
            values[column] = _dates(series.to_numpy(np.float64))
        else:
            numbers = series.to_numpy(np.float64)
            missing = np.isnan(numbers)
            cells = (np.where(missing, 0, numbers).astype(np.int64) if column in _INTS else numbers).astype(object)
            cells[missing] = None
            values[column] = cells.tolist()
    for name, value in extra.items():
        values[name] = [value] * len(frame)
    return list(zip(*(values[c] for c in columns)))


def write(
    conn: Connection,
    frame: pd.DataFrame,
    extra: dict[str, Any],
    *,
    only: sa.Select[tuple[int]] | None = None,
    gone: Collection[int] = (),
    progress: Progress = silent,
) -> None:
    """Store `frame`'s rows as the current figures and as the snapshot of `extra["as_of"]`.

    With `only` (a SELECT of the partner ids of `frame`), just those partners' rows are
    written, updating the rows they had, and the rows of the `gone` partners (deleted in
    the ERP) are removed; without, every current row and the whole snapshot of the date
    are replaced. `progress` hears of the rows written after each statement, and of the
    snapshot's copy as it begins.
    """
    current, snapshot = partner_metrics, partner_metrics_history
    sql, columns = insert_sql(conn, current, () if only is None else ("partner_id",))
    if [c.name for c in snapshot.columns] != columns:
        raise AssertionError("crm_partner_metrics and its history must list their columns alike")
    of_date = snapshot.c.as_of == extra["as_of"]
    if only is None:
        conn.execute(sa.delete(current))
        conn.execute(sa.delete(snapshot).where(of_date))
    elif gone:
        conn.execute(sa.delete(current).where(current.c.partner_id.in_(sorted(gone))))
        conn.execute(sa.delete(snapshot).where(of_date, snapshot.c.partner_id.in_(sorted(gone))))
    rows = _rows(frame, columns, extra)
    progress(WRITING, 0, len(rows))
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        conn.exec_driver_sql(sql, chunk)
        progress(WRITING, start + len(chunk), len(rows))
    progress(SNAPSHOT, None, None)
    copied = sa.select(*(current.c[c] for c in columns)).where(sa.true() if only is None else current.c.partner_id.in_(only))
    copy = sa.insert(snapshot).from_select(columns, copied).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    conn.exec_driver_sql(str(copy) + on_conflict(conn, columns, () if only is None else ("partner_id", "as_of")), driver_params(copy))


@dataclass(frozen=True)
class Totals:
    """Partners, customers, and how many partners each lapse definition flags."""

    partners: int
    customers: int
    lapsed: dict[str, int]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Totals:
        """The totals of freshly computed rows."""
        flags = {c.removeprefix("lapsed_"): int((frame[c] == True).sum()) for c in LAPSE_FLAGS}  # noqa: E712 (None is not True)
        return cls(len(frame), int((frame["purchase_days"] > 0).sum()), flags)

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.partners + other.partners, self.customers + other.customers, {k: v + other.lapsed[k] for k, v in self.lapsed.items()})


def stored_totals(conn: Connection, *, excluding: sa.Select[tuple[int]]) -> Totals:
    """The totals of the stored rows but for the partners `excluding` selects, in one pass."""
    t = partner_metrics
    flags = [sa.func.count().filter(t.c[c].is_(True)) for c in LAPSE_FLAGS]
    query = sa.select(sa.func.count(), sa.func.count().filter(t.c.purchase_days > 0), *flags).where(t.c.partner_id.not_in(excluding))
    partners, buyers, *lapsed = conn.execute(query).one()
    return Totals(int(partners), int(buyers), {column.removeprefix("lapsed_"): int(n) for column, n in zip(LAPSE_FLAGS, lapsed)})
