"""The demo ERP: a Dolibarr-shaped database filled with believable Hungarian history.

``build_demo_erp`` creates and fills it (SQLite for ``erp-crm demo``, MariaDB or
PostgreSQL for tests and benchmarks); ``connectors/dolibarr.yaml`` reads it exactly as
it reads a real Dolibarr.  See docs/demo-erp.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_demo_erp"]


def __getattr__(name: str) -> Any:
    # imported on first use, so `python -m erp_crm.demo.dolibarr_schema` runs cleanly
    if name == "build_demo_erp":
        from erp_crm.demo.generator import build_demo_erp

        return build_demo_erp
    raise AttributeError(name)
