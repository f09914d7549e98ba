"""Option types the commands share, checked where the user typed them."""

from __future__ import annotations

import datetime as dt

import click

from erp_crm.settings.metrics import MAX_DAYS

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


class Day(click.ParamType):
    """A day written YYYY-MM-DD, from FIRST_DAY to LAST_DAY.

    The computations reach up to a century (MAX_DAYS) either side of the day they are
    given, so a day near the calendar's ends (9999-12-31) would overflow deep inside one
    of them; refused here, the mistake is one line naming the option.
    """

    name = "date"

    def __init__(self, *, not_after_today: bool = False) -> None:
        self.not_after_today = not_after_today

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            day = dt.datetime.strptime(str(value), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2024-03-31", param, ctx)
        if not FIRST_DAY <= day <= LAST_DAY:
            self.fail(f"{day} is outside the days erp-crm computes for ({FIRST_DAY} to {LAST_DAY})", param, ctx)
        if self.not_after_today and day > dt.date.today():
            self.fail(f"{day} is after today ({dt.date.today()}): figures as of a day to come would count silence that has not happened yet", param, ctx)
        return day


class Count(click.IntRange):
    """A whole number within bounds, whose mistakes are said in plain words (click says "not a valid integer range")."""

    def __init__(self, low: int, high: int, unit: str) -> None:
        super().__init__(low, high)
        self.low, self.high, self.unit = low, high, unit

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a whole number of {self.unit}; write e.g. {self.low}", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(f"{number} {self.unit} is outside {self.low:,} to {self.high:,}", param, ctx)
        return number


DAY = Day()
AS_OF = Day(not_after_today=True)  # the day figures are computed or segments evaluated for: today or before
DAYS = Count(1, MAX_DAYS, "days")  # a number of days, as the settings bound them
LIMIT = Count(1, 100_000, "rows")  # how many rows a listing prints: a zero, negative or huge one is a typing mistake
