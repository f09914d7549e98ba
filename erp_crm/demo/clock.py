"""The simulation's calendar: where a day lies in the history, working hours, business days.

Times are drawn from the simulation's one random generator, so every call here is part
of the sequence of draws that makes a seed give the same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass
class Clock:
    start: date
    today: date  # the last day of the history
    rng: random.Random

    @property
    def span_days(self) -> int:
        return max((self.today - self.start).days, 1)

    def progress(self, d: date) -> float:
        """How far into the history `d` lies, 0 at the start and 1 on `today`: trends follow it."""
        return (d - self.start).days / self.span_days

    def years_passed(self, d: date) -> float:
        """Years since the start, which is what prices have risen by."""
        return (d - self.start).days / 365.25

    def at(self, d: date, lo: int = 8, hi: int = 17) -> datetime:
        """A working-hours time on day `d`."""
        return datetime.combine(d, time(self.rng.randint(lo, hi - 1), self.rng.randint(0, 59), self.rng.randint(0, 59)))

    def later(self, t: datetime, minutes: tuple[int, int] = (5, 240)) -> datetime:
        """A moment after `t`, never past the end of `today`: nothing may happen after the history."""
        out = t + timedelta(minutes=self.rng.randint(*minutes))
        end = datetime.combine(self.today, time(23, 59, 59))
        return min(out, end)


def business_day(d: date) -> date:
    """`d`, or the Monday after it: businesses order, invoice and pay on weekdays."""
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def season_start(d: date, seasons: tuple[int, ...], rng: random.Random) -> date:
    """A day early in the next buying season after `d`."""
    y, m = d.year, d.month
    for _ in range(13):
        m += 1
        if m > 12:
            y, m = y + 1, 1
        if m in seasons and (m - 1 if m > 1 else 12) not in seasons:
            break
    return date(y, m, rng.randint(1, 20))
