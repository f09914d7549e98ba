"""HUF amounts as the demo company forms them: whole forints, shop prices, yearly inflation."""

from __future__ import annotations

import math

INFLATION = 0.06  # yearly price increase


def forints(amount: float) -> int:
    """Whole forints, half a forint rounded away from zero as invoices do (round() would round to even)."""
    return math.floor(amount + 0.5) if amount >= 0 else -math.floor(-amount + 0.5)


def list_price(base: int, years_passed: float) -> int:
    """`base` raised by inflation and rounded as shops price: to ...90 from 1,000 HUF, else to tens."""
    if years_passed <= 0:
        return base
    price: float = base * (1 + INFLATION) ** years_passed
    if price >= 1_000:
        return round(price / 100.0) * 100 - 10
    return round(price / 10.0) * 10
