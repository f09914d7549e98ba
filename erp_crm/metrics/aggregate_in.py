"""Where a full run computes stage 1: in PostgreSQL or in Python (`metrics.aggregate_in`).

The Python path reads every partner's purchase days into numpy and writes the day table
back; PostgreSQL sums the documents and the day table where they are and hands over one
row per partner (`aggregates.everyone`). Both give the same figures. On a small base
the Python path is as fast or faster (a few statements less); the SQL path wins as the
base grows, and `auto` takes it from `AUTO_PARTNERS` live partners on, the crossover
measured by bench/metrics_pg_bench.py (bench/README.md). SQLite has no
``percentile_cont`` and its own numpy path is fast: it always takes the Python path.
"""

from __future__ import annotations

from erp_crm.errors import UserError
from erp_crm.settings.metrics import AggregateIn

AUTO_PARTNERS = 20_000


def in_database(dialect: str, setting: AggregateIn, partners: int) -> bool:
    """Whether a full run over `partners` live partners on an overlay of `dialect` computes stage 1 in the database."""
    if dialect != "postgresql":
        if setting == "database":
            raise UserError(f"metrics.aggregate_in: database needs a PostgreSQL overlay, and this one is {dialect}; set auto or python")
        return False
    return setting == "database" or (setting == "auto" and partners >= AUTO_PARTNERS)
