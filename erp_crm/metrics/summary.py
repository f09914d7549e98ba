"""Frequency, recency, age and repeat value per customer: what the buy-till-you-die models eat.

The figures follow lifetimes' ``summary_data_from_transaction_data`` (``freq='D'``) exactly,
so that published parameters and lifetimes' results can be checked against ours:

- rows of one customer on one day are summed into one purchase day;
- ``frequency`` is the number of purchase days minus one (the first purchase is not a repeat);
- ``recency`` is the time from the first to the last purchase day;
- ``T`` is the time from the first purchase day to ``observation_end``;
- ``monetary_value`` is the mean value of the repeat purchase days, 0 with no repeat.

Credit notes come in as negative values and are summed into their day. A day that holds a
negative row and nets to zero or less is not a purchase: the goods went back, and counting
the day would make a refunded order look like loyalty. A day without negative rows is a
purchase even at value 0 (free goods still show that the customer came back; CDNOW holds
such orders, and the published parameters count them). A credit note dated on a day of its
own therefore drops out without lowering the value of the invoice it refunds; a caller that
wants it netted passes the credited invoice's date. On data without negative values, all
figures are identical to lifetimes'.

The work is one sort of a combined (customer, day) int64 key and a few ``np.add.reduceat``
calls over the group boundaries, because the ERP's history runs into tens of millions of
rows and a per-customer Python loop or ``groupby().apply`` would be a hundred times slower.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

COLUMNS = ("frequency", "recency", "T", "monetary_value")
EPOCH = dt.date(1970, 1, 1)  # day number 0

Day = int | np.integer | np.datetime64 | dt.date | str


def day_number(day: Day) -> int:
    """The day as a count of days since 1970-01-01; ints are taken as already such counts."""
    if isinstance(day, (int, np.integer)):
        return int(day)
    if isinstance(day, dt.datetime):
        day = day.date()
    # numpy's stubs give no overload for a datetime64 with a unit, which numpy converts like a str or a date
    return int(np.datetime64(day, "D").astype(np.int64))  # type: ignore[call-overload]


def day_of(number: int) -> dt.date:
    """The date of a day number (the inverse of `day_number`)."""
    return EPOCH + dt.timedelta(days=int(number))


def day_numbers(days: np.ndarray) -> np.ndarray:
    """An int64 day count for each entry of an int or datetime64 array (times are floored)."""
    days = np.asarray(days)
    if np.issubdtype(days.dtype, np.datetime64):
        if np.isnat(days).any():
            raise ValueError("days holds NaT (a missing date)")
        return days.astype("datetime64[D]", copy=False).view(np.int64)
    if np.issubdtype(days.dtype, np.integer):
        return days.astype(np.int64, copy=False)
    raise ValueError(f"days must be integer day numbers or datetime64, not {days.dtype}")


def _customer_codes(customer_ids: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Non-negative int64 codes below ``limit`` for the ids, and the ids in code order.

    Integer ids in ``[0, limit)`` are their own codes (``None`` for the second item), which
    saves a hashing pass; anything else goes through ``pandas.factorize``, sorted so that
    the output comes in id order either way.
    """
    if np.issubdtype(customer_ids.dtype, np.integer) and int(customer_ids.min()) >= 0 and int(customer_ids.max()) < limit:
        return customer_ids.astype(np.int64, copy=False), None
    codes, uniques = pd.factorize(customer_ids, sort=True)
    if uniques.size >= limit:
        raise ValueError("too many customers for the span of days to fit one int64 key")
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def rfm_summary(
    customer_ids: np.ndarray,
    days: np.ndarray,
    values: np.ndarray,
    observation_end: Day,
    *,
    unit_days: float = 1.0,
) -> pd.DataFrame:
    """One row per customer with a purchase on or before ``observation_end``, in id order.

    ``days`` are int day numbers or datetime64 values; ``observation_end`` is of the same
    kind (or a date or ISO string). ``recency`` and ``T`` are divided by ``unit_days``
    (7 gives weeks as days / 7, as Fader, Hardie & Lee use them). Rows after
    ``observation_end`` are ignored.
    """
    customer_ids = np.asarray(customer_ids)
    values = np.asarray(values, dtype=np.float64)
    day = day_numbers(days)
    if not customer_ids.ndim == day.ndim == values.ndim == 1 or not (
        customer_ids.size == day.size == values.size
    ):
        raise ValueError("customer_ids, days and values must be 1-d arrays of the same length")
    if unit_days <= 0:
        raise ValueError(f"unit_days must be positive, not {unit_days}")
    if not np.isfinite(values).all():
        raise ValueError("values holds NaN or infinite amounts")
    end = day_number(observation_end)

    kept = day <= end
    if not kept.all():
        customer_ids, day, values = customer_ids[kept], day[kept], values[kept]
    if day.size == 0:
        return _empty(customer_ids.dtype)

    first_day = int(day.min())
    span = end - first_day + 1
    codes, uniques = _customer_codes(customer_ids, np.iinfo(np.int64).max // span)
    key, order = _sorted_with_order(codes * span + (day - first_day))
    values = values[order]

    # Purchase days: runs of equal keys, summed; credited-away days dropped.
    day_start = _run_starts(key)
    day_key = key[day_start]
    day_value = np.add.reduceat(values, day_start)
    credited = np.minimum.reduceat(values, day_start) < 0
    purchase = ~(credited & (day_value <= 0))
    day_key, day_value = day_key[purchase], day_value[purchase]
    if day_key.size == 0:
        return _empty(customer_ids.dtype)

    # Customers: runs of equal codes among the purchase days.
    day_code, day_offset = np.divmod(day_key, span)
    start = _run_starts(day_code)
    stop = np.append(start[1:], day_code.size)
    frequency = (stop - start - 1).astype(np.float64)
    first, last = day_offset[start], day_offset[stop - 1]
    repeat_value = day_value.copy()
    repeat_value[start] = 0.0
    repeat_sum = np.add.reduceat(repeat_value, start)
    monetary = np.divide(repeat_sum, frequency, out=np.zeros_like(repeat_sum), where=frequency > 0)

    codes = day_code[start]
    ids = codes.astype(customer_ids.dtype) if uniques is None else uniques[codes]
    offset_end = end - first_day
    return _frame(
        ids,
        frequency,
        (last - first) / unit_days,
        (offset_end - first) / unit_days,
        monetary,
    )


def _sorted_with_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-negative keys sorted, and the permutation that sorts them.

    When key and row number fit together in 63 bits, both are packed into one int64 and
    sorted with ``np.sort``, which is several times faster than ``np.argsort`` on large
    arrays (SIMD sorting exists for plain sorts only); otherwise ``argsort`` it is.
    """
    bits = max(int(key.size - 1).bit_length(), 1)
    if int(key.max()) < 1 << (63 - bits):
        packed = np.sort((key << bits) | np.arange(key.size, dtype=np.int64))
        return packed >> bits, packed & ((1 << bits) - 1)
    order = np.argsort(key)
    return key[order], order


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Indexes where a run of equal values begins in a sorted, non-empty array."""
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.concatenate(([0], change))


def _empty(id_dtype: np.dtype) -> pd.DataFrame:
    """The summary of a history without purchases."""
    return _frame(np.empty(0, id_dtype), *(np.empty(0) for _ in COLUMNS))


def _frame(
    ids: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    monetary_value: np.ndarray,
) -> pd.DataFrame:
    """The summary as a float DataFrame indexed by ``customer_id``."""
    return pd.DataFrame(
        {
            "frequency": np.asarray(frequency, dtype=np.float64),
            "recency": np.asarray(recency, dtype=np.float64),
            "T": np.asarray(T, dtype=np.float64),
            "monetary_value": np.asarray(monetary_value, dtype=np.float64),
        },
        index=pd.Index(ids, name="customer_id"),
    )
