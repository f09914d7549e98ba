"""The demo company's staff: an administrator account, a finance clerk and 5-8 salespeople.

One salesperson leaves half-way and a newcomer takes the portfolio over, so that the
history shows what a real one does: documents change hands without the customer moving.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from erp_crm.demo import hungarian as hu
from erp_crm.demo.clock import Clock, business_day
from erp_crm.demo.records import User

COMPANY_DOMAIN = "irodapont.hu"
SALESPERSON = "értékesítő"


@dataclass(frozen=True)
class Staff:
    administrator: User
    clerk: User  # keeps the books: records payments, closes invoices
    salespeople: list[User]  # the portfolio holders; the newcomer inherits through `successor`
    everyone: list[User]  # in the order they were given their logins


def _login(p: hu.Person) -> str:
    return f"{hu.slug(p.family)}.{hu.slug(p.given)}"


def hire_staff(rng: random.Random, clock: Clock, customers: int) -> Staff:
    """Everyone who works at the company during the history, larger for more customers."""
    start = clock.start
    n_sales = min(7, max(4, 3 + customers // 150))  # plus a newcomer: 5 to 8 in all
    everyone: list[User] = []

    def hire(person: hu.Person | None, job: str, begin: date, login: str) -> User:
        user = User(len(everyone) + 1, login, person, job, begin)
        everyone.append(user)
        return user

    administrator = hire(None, "rendszergazda", start - timedelta(days=2000), "admin")
    clerk_person = hu.person(rng, year=start.year)
    clerk = hire(clerk_person, "pénzügyi ügyintéző", start - timedelta(days=rng.randint(400, 2500)), _login(clerk_person))
    salespeople = []
    logins = {u.login for u in everyone}
    for _ in range(n_sales):
        p = hu.person(rng, min_age=24, max_age=58, year=start.year)
        while _login(p) in logins:
            p = hu.person(rng, min_age=24, max_age=58, year=start.year)
        logins.add(_login(p))
        salespeople.append(hire(p, SALESPERSON, start - timedelta(days=rng.randint(100, 3000)), _login(p)))
    leaver = salespeople[-1]
    leaver.end = business_day(start + timedelta(days=int(clock.span_days * rng.uniform(0.4, 0.6))))
    p = hu.person(rng, min_age=24, max_age=40, year=start.year)
    leaver.successor = hire(p, SALESPERSON, leaver.end - timedelta(days=14), _login(p) + "2")

    for u in everyone:
        u.created = clock.at(max(u.start, start - timedelta(days=3000)))
        u.modified = clock.at(u.end) if u.end else u.created
        u.email = f"{u.login}@{COMPANY_DOMAIN}" if u.person is None else hu.work_email(u.person, COMPANY_DOMAIN)
        u.office_phone = f"+36 1 555 {1000 + u.id:04d}"
        u.mobile = hu.mobile(rng) if u.job == SALESPERSON else None
    return Staff(administrator, clerk, salespeople, everyone)
