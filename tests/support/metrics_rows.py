"""A `crm_partner_metrics` row for tests that write the overlay by hand: every required figure zero unless given."""

from __future__ import annotations

import datetime as dt
from typing import Any

COUNTS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days")
MONEY = ("order_value", "revenue_net", "services_value", "credit_note_value", "purchase_value")


def metrics_row(partner_id: int, as_of: dt.date, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"partner_id": partner_id, "as_of": as_of, "source": "t", "computed_at": dt.datetime.combine(as_of, dt.time())}
    return row | dict.fromkeys(COUNTS, 0) | dict.fromkeys(MONEY, 0.0) | values
