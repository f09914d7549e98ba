"""Where a full run computes stage 1: in PostgreSQL or in Python (`metrics.aggregate_in`).

The Python path reads every partner's purchase days into numpy and writes the day table
back; PostgreSQL sums the documents and the day table where they are and hands over one
row per partner (`aggregates.everyone`). Both give the same figures. Measured by
bench/metrics_pg_bench.py (bench/README.md), the two are even at 20 partners and the
SQL path is faster from 100 on (0.86 of the Python path's time, 0.67 at 20,000), so
`auto` takes it from `AUTO_PARTNERS` live partners on. SQLite has no
``percentile_cont``, and reading its own file into numpy costs no round trips: it
always takes the Python path.
"""

from __future__ import annotations

from erp_crm.errors import UserError
from erp_crm.settings.metrics import AggregateIn

AUTO_PARTNERS = 100


def in_database(dialect: str, setting: AggregateIn, partners: int) -> bool:
    """Whether a full run over `partners` live partners on an overlay of `dialect` computes stage 1 in the database."""
    if dialect != "postgresql":
        if setting == "database":
            raise UserError(f"metrics.aggregate_in: database needs a PostgreSQL overlay, and this one is {dialect}; set auto or python")
        return False
    return setting == "database" or (setting == "auto" and partners >= AUTO_PARTNERS)
