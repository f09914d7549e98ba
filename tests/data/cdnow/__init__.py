"""Bruce Hardie's CDNOW purchase histories, vendored so that tests never download (README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


class Transactions(NamedTuple):
    """One row per purchase record: who, which day, how many CDs, how many dollars."""

    customer_id: np.ndarray  # int64
    day: np.ndarray  # datetime64[D]
    cds: np.ndarray  # int64
    dollars: np.ndarray  # float64


def load_sample() -> Transactions:
    """The 1/10 sample: 2,357 customers who first bought in 1997 Q1, 6,919 records to 1998-06-30."""
    return _read(HERE / "CDNOW_sample.txt", ["customer_id", "sample_index", "date", "cds", "dollars"], None)


def load_master() -> Transactions:
    """All 23,570 customers of that cohort, 69,659 records (gzipped; the first line is a header)."""
    return _read(HERE / "CDNOW_master.txt.gz", ["customer_id", "date", "cds", "dollars"], 0)


def _read(path: Path, names: list[str], header: int | None) -> Transactions:
    frame = pd.read_csv(path, sep=r"\s+", header=header, names=names)
    day = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d").to_numpy().astype("datetime64[D]")
    return Transactions(
        frame["customer_id"].to_numpy(np.int64),
        day,
        frame["cds"].to_numpy(np.int64),
        frame["dollars"].to_numpy(np.float64),
    )
