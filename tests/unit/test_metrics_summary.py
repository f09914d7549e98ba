"""rfm_summary: hand-computed figures, and lifetimes' figures on CDNOW.

The CDNOW literals were produced once by ``lifetimes.utils.summary_data_from_transaction_data``
(lifetimes 0.11.3, ``freq='D'``, ``monetary_value_col`` set); lifetimes is not needed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from erp_crm.metrics.summary import rfm_summary
from tests.data.cdnow import load_sample

# (customer, day, value): observation ends on day 60.
HISTORY = [
    (7, 10, 100.0), (7, 10, 50.0),   # two invoices on one day: one purchase worth 150
    (7, 20, 30.0),
    (7, 35, -30.0),                  # a credit note on a day of its own: not a purchase
    (7, 40, 80.0), (7, 40, -80.0),   # an order credited the same day: not a purchase
    (7, 50, 60.0), (7, 50, -20.0),   # partly credited: a purchase worth 40
    (7, 90, 500.0),                  # after the observation end: ignored
    (3, 5, 0.0),                     # free goods, no credit note: a (one-time) purchase
    (5, 20, 10.0), (5, 20, 20.0),
    (5, 45, 0.0),                    # a zero-value repeat purchase
    (9, 70, 40.0),                   # only after the end: no row
    (12, 30, -10.0),                 # only a credit note: no row
]  # fmt: skip

EXPECTED = pd.DataFrame(
    {
        "frequency": [0.0, 1.0, 2.0],
        "recency": [0.0, 25.0, 40.0],
        "T": [55.0, 40.0, 50.0],
        "monetary_value": [0.0, 0.0, 35.0],  # customer 7: repeat days 30 and 40
    },
    index=pd.Index([3, 5, 7], name="customer_id"),
)


def _history() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids, days, values = zip(*HISTORY)
    return np.array(ids), np.array(days), np.array(values)


def test_hand_computed_history() -> None:
    result = rfm_summary(*_history(), 60)
    pd.testing.assert_frame_equal(result, EXPECTED)


def test_row_order_does_not_matter() -> None:
    ids, days, values = _history()
    order = np.random.default_rng(0).permutation(ids.size)
    pd.testing.assert_frame_equal(rfm_summary(ids[order], days[order], values[order], 60), EXPECTED)


def test_dates_string_ids_and_time_unit() -> None:
    ids, days, values = _history()
    dates = np.datetime64("2024-01-01") + days.astype("timedelta64[D]")
    result = rfm_summary(ids.astype(str), dates, values, "2024-03-01", unit_days=5)
    assert list(result.index) == ["3", "5", "7"]
    expected = EXPECTED.assign(recency=EXPECTED.recency / 5, T=EXPECTED["T"] / 5)
    np.testing.assert_array_equal(result.to_numpy(), expected.to_numpy())


def test_nothing_to_summarise() -> None:
    empty = rfm_summary(np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([]), 10)
    assert empty.empty and list(empty.columns) == list(EXPECTED.columns)
    credits_only = rfm_summary(np.array([1]), np.array([3]), np.array([-5.0]), 10)
    assert credits_only.empty


@pytest.mark.parametrize(
    ("ids", "days", "values", "unit_days"),
    [
        ([1, 2], [1], [1.0, 2.0], 1.0),
        ([1], [1.5], [1.0], 1.0),
        ([1], [1], [1.0], 0.0),
        ([1], [1], [np.nan], 1.0),
        ([1], np.array(["NaT"], dtype="datetime64[D]"), [1.0], 1.0),
    ],
)
def test_refused_input(ids: list, days: list, values: list, unit_days: float) -> None:
    with pytest.raises(ValueError):
        rfm_summary(np.array(ids), np.array(days), np.array(values), 10, unit_days=unit_days)


# lifetimes 0.11.3 on CDNOW_sample.txt, in days: customer -> (frequency, recency, T, monetary_value)
LIFETIMES = {
    "1997-09-30": {
        4: (2, 213, 272, 22.345),
        18: (0, 0, 269, 0.0),
        21: (1, 12, 272, 11.77),
        1101: (0, 0, 268, 0.0),  # bought once, for $0.00
        1760: (29, 264, 266, 26.26137931034483),  # several same-day purchases
        23569: (0, 0, 189, 0.0),
    },
    "1998-06-30": {
        4: (3, 345, 545, 23.723333333333333),
        18: (0, 0, 542, 0.0),
        21: (1, 12, 545, 11.77),
        1101: (0, 0, 541, 0.0),
        1760: (43, 520, 539, 25.853488372093025),
        23569: (0, 0, 462, 0.0),
    },
}
# Column sums over all 2,357 customers.
LIFETIMES_TOTALS = {
    "1997-09-30": (2457.0, 112949.0, 539779.0, 33183.64376687058),
    "1998-06-30": (4339.0, 307464.0, 1183240.0, 40758.44137790224),
}


@pytest.mark.parametrize("end", sorted(LIFETIMES))
def test_same_as_lifetimes_on_cdnow_sample(end: str) -> None:
    data = load_sample()
    result = rfm_summary(data.customer_id, data.day, data.dollars, end)
    assert len(result) == 2357
    for customer, expected in LIFETIMES[end].items():
        np.testing.assert_allclose(result.loc[customer].to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(result.sum().to_numpy(), LIFETIMES_TOTALS[end], rtol=1e-12)


def test_weeks_as_days_over_seven() -> None:
    data = load_sample()
    days = rfm_summary(data.customer_id, data.day, data.dollars, "1997-09-30")
    weeks = rfm_summary(data.customer_id, data.day, data.dollars, "1997-09-30", unit_days=7)
    assert weeks.loc[4, "T"] == pytest.approx(272 / 7)  # 38.857, not 38 or 39
    np.testing.assert_allclose(weeks["recency"] * 7, days["recency"])
