"""Numbers, percentages, dates and forint amounts as each locale writes them (Babel, from CLDR).

Hungarian groups thousands with a no-break space and uses a decimal comma (1 234,5);
English uses 1,234.5. Hand-written rules get the corner cases wrong (rounding, the sign,
currency placement), so every such string comes from Babel.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent, is_currency

from erp_crm.errors import UserError
from erp_crm.i18n import LOCALES

Number = float | int | Decimal


def check_locale(locale: str) -> str:
    """`locale` if erp-crm speaks it, else a UserError naming the ones it does."""
    if locale not in LOCALES:
        raise UserError(f"language {locale!r}: erp-crm speaks {', '.join(LOCALES)}")
    return locale


def number(value: Number, locale: str, decimals: int = 0) -> str:
    """`value` with thousands grouped and exactly `decimals` decimals."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale, decimal_quantization=True)


def percent(share: Number, locale: str) -> str:
    """A share of 1 as a whole percentage (0.123 → 12%)."""
    return format_percent(share, locale=locale)


def huf(amount: Number, locale: str) -> str:
    """A forint amount, whole forints (HUF has no fillér in use)."""
    return format_currency(amount, "HUF", locale=locale, format_type="standard", currency_digits=True)


# CLDR's currency spacing, which Babel leaves out: a currency code written before the
# number is kept apart from it ("HUF 12,345", not "HUF12,345"); symbols (€, $) are not.
_CODE_AGAINST_DIGIT = re.compile(r"^(-?[A-Za-z]+)(?=\d)")
# A customer in Europe reads "2 December 2026"; the American order is the ambiguous one.
_LONG_DAY_LOCALES = {"hu": "hu", "en": "en_GB"}


def money(amount: Number, currency: str, locale: str) -> str:
    """An amount in `currency` (an ISO 4217 code) with the currency's own decimals: 12 345 Ft, 1 234,50 EUR, HUF 12,345, €1,234.50.

    A UserError for a code CLDR does not know: guessing would print a wrong sum.
    """
    if not is_currency(currency):
        raise UserError(f"{currency!r} is not a currency code (ISO 4217, such as HUF or EUR)")
    written = format_currency(amount, currency, locale=locale, format_type="standard", currency_digits=True)
    return _CODE_AGAINST_DIGIT.sub("\\1\u00a0", written)


def long_day(value: dt.date, locale: str) -> str:
    """A date written out as in a letter: 2026. december 2. / 2 December 2026."""
    return format_date(value, format="long", locale=_LONG_DAY_LOCALES[locale])
