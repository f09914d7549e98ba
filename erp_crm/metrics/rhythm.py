"""Buying rhythm: each customer's typical gap between purchases, and how overdue they are.

A customer who orders every 30 days and has been silent for 95 is a different case from
one who orders twice a year and has been silent for 95; recency alone cannot tell them
apart. The typical gap is the median (not the mean) of the gaps between consecutive
distinct purchase days, so that one long holiday does not hide an otherwise steady rhythm.
Several rows on one day are one purchase: an order split into invoices is not a gap of 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from erp_crm.metrics.summary import day_numbers


def typical_gaps(customer_ids: np.ndarray, days: np.ndarray) -> pd.Series:
    """Median gap in days between consecutive distinct purchase days, per customer.

    ``days`` are int day numbers or datetime64 values, one per purchase row. Every customer
    in ``customer_ids`` gets a row (in id order); NaN where fewer than two distinct purchase
    days exist. One sort and a grouped median: no Python loop over customers, because the
    ERP's history runs into millions of rows.
    """
    customer_ids = np.asarray(customer_ids)
    day = day_numbers(np.asarray(days))
    if customer_ids.shape != day.shape or customer_ids.ndim != 1:
        raise ValueError("customer_ids and days must be 1-d arrays of the same length")
    codes, uniques = pd.factorize(customer_ids, sort=True)
    index = pd.Index(uniques, name="customer_id")
    if codes.size == 0:
        return pd.Series(np.empty(0), index=index, name="typical_gap_days")
    first = int(day.min())
    span = int(day.max()) - first + 1
    key = np.unique(codes.astype(np.int64) * span + (day - first))  # distinct, sorted
    owner, offset = np.divmod(key, span)
    same = owner[1:] == owner[:-1]
    gaps = (offset[1:] - offset[:-1])[same].astype(np.float64)
    owners = owner[1:][same]
    median = pd.Series(gaps).groupby(owners).median()
    result = np.full(uniques.size, np.nan)
    result[median.index.to_numpy()] = median.to_numpy()
    return pd.Series(result, index=index, name="typical_gap_days")


def overdue(recency_days: pd.Series | np.ndarray, typical_gap_days: pd.Series | np.ndarray) -> pd.Series:
    """Days of silence as a multiple of the customer's typical gap (3.2 = 3.2× overdue).

    NaN where there is no typical gap (fewer than two purchase days) or no recency: a
    ratio to nothing would read as "never overdue" and hide exactly the one-time buyers.
    Series inputs keep their index (aligned); arrays give a plain range index.
    """
    recency = recency_days if isinstance(recency_days, pd.Series) else pd.Series(np.asarray(recency_days, float))
    gap = typical_gap_days if isinstance(typical_gap_days, pd.Series) else pd.Series(
        np.asarray(typical_gap_days, float), index=recency.index
    )
    gap = gap.astype(np.float64).where(gap > 0)
    return (recency.astype(np.float64) / gap).rename("overdue")
