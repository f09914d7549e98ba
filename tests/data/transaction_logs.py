"""Two more public transaction logs beside CDNOW, vendored so that tests never download (README.md in each folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def load_online_retail() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A UK online gift-ware retailer's 18,532 invoices of 4,338 customers, 2010-12-01 … 2011-12-09: ids, days, amounts (GBP)."""
    return _read(HERE / "online_retail" / "online_retail_invoices.csv.gz")


def load_grocery() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An online grocer's 1,525 customers of the 2006 Q1 cohort, 10,483 purchases to 2007-12-30: ids, days, and 1 as every amount (it has none)."""
    return _read(HERE / "grocery" / "grocery_purchases.csv.gz")


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = pd.read_csv(path)
    days = pd.to_datetime(frame["date"], format="%Y-%m-%d").to_numpy().astype("datetime64[D]")
    amounts = frame["amount"].to_numpy(np.float64) if "amount" in frame else np.ones(len(frame))
    return frame["customer"].to_numpy(np.int64), days, amounts
