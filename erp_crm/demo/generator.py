"""Fill a Dolibarr-shaped database with a few years of believable Hungarian history.

``build_demo_erp(target)`` creates the tables of :mod:`erp_crm.demo.dolibarr_schema` and
writes what a Hungarian office and IT supplier's Dolibarr would hold after ``years`` of
trading: salespeople, companies and private customers, prospects, products and services,
proposals of which some are signed and become orders and invoices, direct orders,
invoices and credit notes, payments (on time, late, partial, missing) and tickets.

Customers buy to different rhythms (weekly, monthly, quarterly, seasonal, occasional,
once; growing, steady or shrinking) and a good share of them stop buying at some point.
None of this is written into the ERP: it is only visible in the history, as it would be
in a real one.

Everything is drawn from one ``random.Random(seed)`` and the explicit ``today``, so the
same arguments always give the same database.  Documents are simulated in date order
and written in batches with ``executemany``: memory holds the customers' profiles and
the documents still in flight (a few months), not the history.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from erp_crm.demo import hungarian as hu
from erp_crm.demo.catalog import (
    INDUSTRY_TASTE,
    ITEMS,
    PRIVATE_TASTE,
    SEASON_BOOST,
    SERVICE,
    SUBSCRIPTIONS,
    Item,
)
from erp_crm.demo.dolibarr_schema import TABLES, create_schema, dialect_of

ENTITY = 1
HU, AT, DE = 18, 41, 5  # llx_c_country.rowid
INFLATION = 0.06  # yearly price increase
BATCH = 2000

# llx_c_paiement ids
PAY_TRANSFER, PAY_DEBIT, PAY_CASH, PAY_CARD = 2, 3, 4, 6
# llx_c_typent ids
TE_GROUP, TE_MEDIUM, TE_SMALL, TE_ADMIN, TE_RETAIL, TE_PRIVATE = 2, 3, 4, 5, 7, 8

COUNTRIES = (
    (1, "FR", "FRA", "France", 1),
    (5, "DE", "DEU", "Germany", 1),
    (18, "HU", "HUN", "Hungary", 1),
    (41, "AT", "AUT", "Austria", 1),
)
TYPENT = (
    (0, "TE_UNKNOWN", "-", 1), (1, "TE_STARTUP", "Start-up", 0), (2, "TE_GROUP", "Large company", 1),
    (3, "TE_MEDIUM", "Medium company", 1), (4, "TE_SMALL", "Small company", 1),
    (5, "TE_ADMIN", "Governmental", 1), (6, "TE_WHOLE", "Wholesaler", 0),
    (7, "TE_RETAIL", "Reseller", 0), (8, "TE_PRIVATE", "Private individual", 1),
    (100, "TE_OTHER", "Other", 1),
)
PAYMENT_MODES = (
    (1, "TIP", "TIP", 2, 0), (2, "VIR", "Transfer", 2, 1), (3, "PRE", "Debit order", 2, 1),
    (4, "LIQ", "Cash", 2, 1), (6, "CB", "Credit card", 2, 1), (7, "CHQ", "Cheque", 2, 1),
)
TICKET_TYPES = (
    ("COM", "10", "Commercial question", 1, 1), ("HELP", "15", "Request for functionnal help", 1, 0),
    ("ISSUE", "20", "Issue or bug", 1, 0), ("PROBLEM", "22", "Problem", 0, 0),
    ("REQUEST", "25", "Change or enhancement request", 1, 0), ("PROJECT", "30", "Project", 0, 0),
    ("OTHER", "40", "Other", 1, 0),
)

FOREIGN_PLACES = (
    (AT, "Wien", ("1010", "1030", "1100", "1120"), ("Mariahilfer Straße", "Landstraßer Hauptstraße", "Favoritenstraße"), "de_AT"),
    (AT, "Graz", ("8010", "8020"), ("Annenstraße", "Herrengasse"), "de_AT"),
    (DE, "München", ("80331", "80335", "81369"), ("Leopoldstraße", "Landsberger Straße"), "de_DE"),
)

COMPLAINTS = (
    ("Hibás termék érkezett", "A {ref} számlán szereplő termék sérülten érkezett, kérjük a cseréjét vagy jóváírását."),
    ("Késedelmes szállítás", "A {ref} számlához tartozó szállítás a megbeszéltnél később érkezett."),
    ("Számlázási hiba", "A {ref} számlán a mennyiség nem egyezik a megrendeléssel."),
    ("Hiányzó tétel", "A {ref} számlán szereplő egyik tétel nem volt a csomagban."),
    ("Garanciális hiba", "A {ref} számlán vásárolt eszköz két hét után meghibásodott."),
)
QUESTIONS = (
    ("COM", "Árajánlatot kérnénk", "Kérjük, küldjenek árajánlatot irodai eszközök beszerzésére."),
    ("COM", "Mennyiségi kedvezmény", "Van lehetőség mennyiségi kedvezményre nagyobb rendelésnél?"),
    ("HELP", "Nyomtató beállítása", "Nem sikerül hálózati nyomtatóként beállítani az új készüléket."),
    ("HELP", "VPN-kapcsolat", "Otthonról nem csatlakozik a VPN, segítséget kérünk."),
    ("REQUEST", "Szerződés módosítása", "Szeretnénk a támogatási szerződést két további gépre bővíteni."),
    ("REQUEST", "Számlázási cím változása", "Kérjük, a jövőben az új székhelyünkre állítsák ki a számlákat."),
    ("OTHER", "Szállítási időpont egyeztetése", "A jövő heti szállítást délelőttre kérnénk."),
)


# =========================================================================== writing

class _Writer:
    """Buffers rows per table and writes them with executemany in batches."""

    def __init__(self, conn: Connection, batch: int = BATCH) -> None:
        self.conn = conn
        self.batch = batch
        self.sqlite = dialect_of(conn) == "sqlite"
        style = conn.dialect.paramstyle
        self.mark = "?" if style == "qmark" else "%s"
        self.columns: dict[str, tuple[str, ...]] = {}
        self.sql: dict[str, str] = {}
        self.date_cols: dict[str, tuple[int, ...]] = {}
        self.rows: dict[str, list[tuple[Any, ...]]] = {}
        self.counts: Counter[str] = Counter()

    def add(self, table: str, row: dict[str, Any]) -> None:
        cols = self.columns.get(table)
        if cols is None:
            cols = tuple(row)
            unknown = set(cols) - set(TABLES[table].column_names)
            if unknown:
                raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
            self.columns[table] = cols
            self.sql[table] = (
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([self.mark] * len(cols))})"
            )
            self.date_cols[table] = tuple(
                i for i, c in enumerate(cols) if TABLES[table].column(c).is_date
            )
            self.rows[table] = []
        if len(row) != len(cols):
            raise KeyError(f"{table}: row has columns {sorted(row)}, expected {sorted(cols)}")
        values = tuple(row[c] for c in cols)
        buf = self.rows[table]
        buf.append(values)
        if len(buf) >= self.batch:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.rows):
            buf = self.rows[name]
            if not buf:
                continue
            if self.sqlite and self.date_cols[name]:
                idx = self.date_cols[name]
                buf = [_stringify_dates(r, idx) for r in buf]
            self.conn.exec_driver_sql(self.sql[name], buf)
            self.counts[name] += len(buf)
            self.rows[name] = []


def _stringify_dates(row: tuple[Any, ...], idx: tuple[int, ...]) -> tuple[Any, ...]:
    out = list(row)
    for i in idx:
        v = out[i]
        if isinstance(v, datetime):
            out[i] = v.isoformat(sep=" ")
        elif isinstance(v, date):
            out[i] = v.isoformat()
    return tuple(out)


# =========================================================================== helpers

def _money(x: float) -> int:
    """HUF amounts are whole forints on Hungarian invoices."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _price(base: int, years_passed: float) -> int:
    """Base price raised by inflation, rounded to a shop price ending in 90."""
    if years_passed <= 0:
        return base
    p = base * (1 + INFLATION) ** years_passed
    if p >= 1_000:
        return int(round(p / 100.0)) * 100 - 10
    return int(round(p / 10.0)) * 10


def _season_start(d: date, seasons: tuple[int, ...], rng: random.Random) -> date:
    """A day early in the next buying season after `d`."""
    y, m = d.year, d.month
    for _ in range(13):
        m += 1
        if m > 12:
            y, m = y + 1, 1
        if m in seasons and (m - 1 if m > 1 else 12) not in seasons:
            break
    return date(y, m, rng.randint(1, 20))


def _business_day(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


@dataclass
class _Clock:
    start: date
    today: date
    rng: random.Random

    @property
    def span_days(self) -> int:
        return max((self.today - self.start).days, 1)

    def progress(self, d: date) -> float:
        return (d - self.start).days / self.span_days

    def years_passed(self, d: date) -> float:
        return (d - self.start).days / 365.25

    def at(self, d: date, lo: int = 8, hi: int = 17) -> datetime:
        """A working-hours time on day `d`."""
        return datetime.combine(d, time(self.rng.randint(lo, hi - 1), self.rng.randint(0, 59), self.rng.randint(0, 59)))

    def later(self, t: datetime, minutes: tuple[int, int] = (5, 240)) -> datetime:
        """A moment after `t`, never past the end of `today`."""
        out = t + timedelta(minutes=self.rng.randint(*minutes))
        end = datetime.combine(self.today, time(23, 59, 59))
        return min(out, end)


class _Numbering:
    """Dolibarr's default numbering: PREFIX + yymm + '-' + a counter that never resets."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def next(self, prefix: str, d: date, width: int = 4) -> str:
        self.counters[prefix] += 1
        return f"{prefix}{d:%y%m}-{self.counters[prefix]:0{width}d}"


# =========================================================================== actors

@dataclass
class _User:
    rowid: int
    login: str
    person: hu.Person
    job: str
    start: date
    end: date | None = None
    successor: "_User | None" = None

    def on(self, d: date) -> "_User":
        """Who holds this portfolio on day `d` (a leaver hands over to a successor)."""
        if self.end is not None and d > self.end and self.successor is not None:
            return self.successor.on(d)
        return self


@dataclass
class _Customer:
    rowid: int = 0
    kind: str = "company"  # company | person | government
    name: str = ""
    role: str = "customer"  # customer | prospect | supplier
    client: int = 1
    supplier: int = 0
    country: int = HU
    lang: str = "hu_HU"
    city: str = ""
    zip: str = ""
    address: str = ""
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    url: str | None = None
    tax: str | None = None
    eu_vat: str | None = None
    registration: str | None = None
    typent: int = TE_SMALL
    effectif: int = 0
    industry: str | None = None
    domain: str | None = None
    person: hu.Person | None = None
    created: datetime = datetime(2000, 1, 1)
    modified: datetime = datetime(2000, 1, 1)
    credit_limit: float | None = None
    # behaviour (never written to the ERP)
    rhythm: str = "occasional"
    trend: str = "steady"
    seasons: tuple[int, ...] = ()
    first: date = date(2000, 1, 1)
    stop: date | None = None
    size: float = 1.0
    taste: dict[str, float] = field(default_factory=dict)
    favourites: list[Item] = field(default_factory=list)
    subscriptions: list[Item] = field(default_factory=list)
    rep: _User | None = None
    payer: str = "prompt"  # prompt | late | partial | bad | immediate
    pay_mode: int = PAY_TRANSFER
    term_days: int = 30
    settle_day: int | None = None
    discount: float = 0.0
    vat_exempt: bool = False
    occasions: int = 0
    quotes_refused: int = 0
    refuse_first: bool = False


# =========================================================================== documents

@dataclass
class _Line:
    item: Item
    qty: float
    price: int  # net unit price (negative on credit notes)
    vat: float
    discount: float = 0.0

    @property
    def net(self) -> int:
        return _money(self.qty * self.price * (1 - self.discount / 100.0))

    @property
    def tax(self) -> int:
        return _money(self.net * self.vat / 100.0)

    def negated(self, qty: float | None = None) -> "_Line":
        return _Line(self.item, self.qty if qty is None else qty, -self.price, self.vat, self.discount)


def _totals(lines: list[_Line]) -> tuple[int, int, int]:
    net = sum(ln.net for ln in lines)
    tax = sum(ln.tax for ln in lines)
    return net, tax, net + tax


def _amounts(lines: list[_Line]) -> dict[str, Any]:
    """A document header's totals, in the company currency and in the document's (both HUF)."""
    net, tax, total = _totals(lines)
    return {
        "total_ht": float(net), "total_tva": float(tax), "total_ttc": float(total),
        "multicurrency_code": "HUF", "multicurrency_tx": 1.0, "multicurrency_total_ht": float(net),
        "multicurrency_total_tva": float(tax), "multicurrency_total_ttc": float(total),
    }


@dataclass
class _Doc:
    when: datetime
    cust: _Customer
    lines: list[_Line]
    author: _User
    rowid: int = 0
    ref: str = ""
    priority: int = 0  # emission order among documents of the same moment


@dataclass
class _Quote(_Doc):
    valid_until: date = date(2000, 1, 1)
    status: int = 1
    decided: datetime | None = None
    priority: int = 0


@dataclass
class _Order(_Doc):
    quote: _Quote | None = None
    status: int = 1
    closed: datetime | None = None
    billed: bool = False
    customer_ref: str | None = None
    priority: int = 1


@dataclass
class _Payment:
    when: datetime
    cust: _Customer
    mode: int
    parts: list[tuple["_Invoice", int]] = field(default_factory=list)
    rowid: int = 0
    priority: int = 4


@dataclass
class _Invoice(_Doc):
    type: int = 0
    order: _Order | None = None
    source: "_Invoice | None" = None
    due: date = date(2000, 1, 1)
    status: int = 1
    closed: datetime | None = None
    close_code: str | None = None
    cond: int = 2
    mode: int = PAY_TRANSFER
    paid: int = 0
    priority: int = 2

    @property
    def total(self) -> int:
        return _totals(self.lines)[2]


@dataclass
class _Ticket:
    when: datetime
    cust: _Customer
    type_code: str
    subject: str
    message: str | Callable[[], str]
    severity: str
    assignee: _User
    status: int
    closed: datetime | None
    rowid: int = 0
    priority: int = 5


# =========================================================================== the generator

class _Generator:
    def __init__(self, conn: Connection, customers: int, years: int, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        if years < 1:
            raise ValueError("years must be at least 1")
        if customers < 1:
            raise ValueError("customers must be at least 1")
        try:
            start = today.replace(year=today.year - years)
        except ValueError:  # 29 February
            start = today.replace(year=today.year - years, day=28)
        self.clock = _Clock(start, today, self.rng)
        self.today = today
        self.n_customers = customers
        self.w = _Writer(conn)
        self.numbers = _Numbering()
        self.ids: Counter[str] = Counter()
        self.pending: list[tuple[datetime, int, int, Any]] = []  # documents waiting for their date
        self.seq = itertools.count()
        self.open_payments: dict[tuple[int, date], _Payment] = {}
        self.taken_names: set[str] = set()
        self.track_ids: set[str] = set()
        self._last_invoice: dict[int, _Invoice] = {}

    # ------------------------------------------------------------------ ids
    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def schedule(self, doc: Any) -> None:
        if doc.when.date() > self.today:
            return  # has not happened yet
        heapq.heappush(self.pending, (doc.when, doc.priority, next(self.seq), doc))

    def emit_until(self, moment: datetime | None) -> None:
        while self.pending and (moment is None or self.pending[0][0] < moment):
            _, _, _, doc = heapq.heappop(self.pending)
            if isinstance(doc, _Quote):
                self.write_quote(doc)
            elif isinstance(doc, _Order):
                self.write_order(doc)
            elif isinstance(doc, _Invoice):
                self.write_invoice(doc)
            elif isinstance(doc, _Payment):
                self.write_payment(doc)
            else:
                self.write_ticket(doc)

    # ------------------------------------------------------------------ run
    def run(self) -> dict[str, int]:
        self.write_dictionaries()
        self.write_users()
        self.write_catalog()
        people = self.make_partners()
        self.write_partners(people)
        self.simulate(people)
        self.w.flush()
        return {name: self.w.counts.get(name, 0) for name in TABLES}

    # ------------------------------------------------------------------ dictionaries
    def write_dictionaries(self) -> None:
        for rowid, code, iso, label, eec in COUNTRIES:
            self.w.add("llx_c_country", {"rowid": rowid, "code": code, "code_iso": iso, "label": label,
                                         "eec": eec, "active": 1, "favorite": 1 if code == "HU" else 0})
        for i, (tid, code, label, active) in enumerate(TYPENT):
            self.w.add("llx_c_typent", {"id": tid, "code": code, "libelle": label, "fk_country": None,
                                        "active": active, "module": None, "position": i})
        for pid, code, label, typ, active in PAYMENT_MODES:
            self.w.add("llx_c_paiement", {"id": pid, "entity": ENTITY, "code": code, "libelle": label,
                                          "type": typ, "active": active, "position": 0})
        for i, (code, pos, label, active, default) in enumerate(TICKET_TYPES, start=1):
            self.w.add("llx_c_ticket_type", {"rowid": i, "entity": ENTITY, "code": code, "pos": pos,
                                             "label": label, "active": active, "use_default": default,
                                             "description": None})

    # ------------------------------------------------------------------ users
    def write_users(self) -> None:
        rng, start = self.rng, self.clock.start
        n_sales = min(7, max(4, 3 + self.n_customers // 150))  # plus a newcomer: 5 to 8 in all
        company_domain = "irodapont.hu"
        self.users: list[_User] = []

        def add(p: hu.Person, job: str, begin: date, *, login: str | None = None) -> _User:
            uid = self.next_id("llx_user")
            u = _User(uid, login or f"{hu.slug(p.family)}.{hu.slug(p.given)}", p, job, begin)
            self.users.append(u)
            return u

        self.admin = add(hu.Person("Rendszergazda", "Dolibarr", "male", 1980), "rendszergazda",
                         start - timedelta(days=2000), login="admin")
        self.office = add(hu.person(rng, year=start.year), "pénzügyi ügyintéző", start - timedelta(days=rng.randint(400, 2500)))
        reps = []
        logins = {u.login for u in self.users}
        for _ in range(n_sales):
            p = hu.person(rng, min_age=24, max_age=58, year=start.year)
            login = f"{hu.slug(p.family)}.{hu.slug(p.given)}"
            while login in logins:
                p = hu.person(rng, min_age=24, max_age=58, year=start.year)
                login = f"{hu.slug(p.family)}.{hu.slug(p.given)}"
            logins.add(login)
            reps.append(add(p, "értékesítő", start - timedelta(days=rng.randint(100, 3000))))
        # one salesperson leaves half-way; a newcomer takes over the portfolio
        leaver = reps[-1]
        leaver.end = _business_day(start + timedelta(days=int(self.clock.span_days * rng.uniform(0.4, 0.6))))
        p = hu.person(rng, min_age=24, max_age=40, year=start.year)
        newcomer = add(p, "értékesítő", leaver.end - timedelta(days=14),
                       login=f"{hu.slug(p.family)}.{hu.slug(p.given)}2")
        leaver.successor = newcomer
        self.reps = reps  # portfolio holders (the newcomer inherits through `successor`)
        self.newcomer = newcomer

        for u in self.users:
            created = self.clock.at(max(u.start, start - timedelta(days=3000)))
            email = "admin@" + company_domain if u.login == "admin" else f"{hu.slug(u.person.given)}.{hu.slug(u.person.family)}@{company_domain}"
            self.w.add("llx_user", {
                "rowid": u.rowid, "entity": ENTITY, "ref_employee": None if u.login == "admin" else f"E{u.rowid:03d}",
                "employee": 0 if u.login == "admin" else 1, "datec": created,
                "tms": self.clock.at(u.end) if u.end else created,
                "login": u.login, "gender": u.person.gender if u.login != "admin" else None,
                "civility": u.person.civility if u.login != "admin" else None,
                "lastname": u.person.family, "firstname": u.person.given, "job": u.job,
                "office_phone": f"+36 1 555 {1000 + u.rowid:04d}", "user_mobile": hu.mobile(rng) if u.job == "értékesítő" else None,
                "email": email, "admin": 1 if u.login == "admin" else 0,
                "statut": 0 if u.end else 1, "lang": "hu_HU",
                "dateemployment": u.start, "dateemploymentend": u.end,
            })

    # ------------------------------------------------------------------ catalog
    def write_catalog(self) -> None:
        clock, rng = self.clock, self.rng
        created0 = clock.at(clock.start - timedelta(days=400))

        def tags(labels: list[str], kind: int) -> dict[str, int]:
            """llx_categorie rows: type 0 product tags, type 2 customer tags."""
            ids = {}
            for label in labels:
                ids[label] = cid = self.next_id("llx_categorie")
                self.w.add("llx_categorie", {"rowid": cid, "entity": ENTITY, "fk_parent": 0, "label": label,
                                             "type": kind, "description": None, "visible": 1,
                                             "date_creation": created0, "tms": created0, "fk_user_creat": self.admin.rowid})
            return ids

        self.category_ids = tags(list(dict.fromkeys(i.category for i in ITEMS)), 0)
        self.industry_ids = tags(list(INDUSTRY_TASTE), 2)
        self.product_ids: dict[str, int] = {}
        for item in ITEMS:
            pid = self.next_id("llx_product")
            self.product_ids[item.ref] = pid
            intro = clock.start + timedelta(days=int(clock.span_days * item.introduced))
            datec = clock.at(intro - timedelta(days=rng.randint(5, 30)) if item.introduced else clock.start - timedelta(days=rng.randint(200, 900)))
            price = _price(item.price, clock.years_passed(self.today))
            # last yearly price update, never in the future
            last_update = date(self.today.year, 1, rng.randint(2, 10))
            if last_update > self.today or last_update < datec.date():
                last_update = datec.date()
            withdrawn = item.withdrawn <= 1.0
            self.w.add("llx_product", {
                "rowid": pid, "ref": item.ref, "entity": ENTITY, "datec": datec, "tms": clock.at(last_update),
                "label": item.label, "description": None, "price": float(price),
                "price_ttc": float(_money(price * (1 + item.vat / 100.0))), "price_base_type": "HT",
                "tva_tx": float(item.vat), "fk_user_author": self.admin.rowid,
                "tosell": 0 if withdrawn else 1, "tobuy": 0 if item.type == SERVICE else 1,
                "fk_product_type": item.type, "duration": "1m" if item.ref in SUBSCRIPTIONS else None,
                "stock": None if item.type == SERVICE else float(rng.randint(0, 60)),
                "pmp": float(_money(item.price * 0.72)) if item.type != SERVICE else 0.0,
                "finished": 1 if item.type != SERVICE else None,
            })
            self.w.add("llx_categorie_product", {"fk_categorie": self.category_ids[item.category], "fk_product": pid})

    def sellable(self, d: date) -> list[Item]:
        p = self.clock.progress(d)
        return [i for i in ITEMS if i.introduced <= p < i.withdrawn]

    # ------------------------------------------------------------------ partners
    def make_partners(self) -> list[_Customer]:
        rng = self.rng
        n = self.n_customers
        out: list[_Customer] = []
        for _ in range(n):
            roll = rng.random()
            kind = "person" if roll < 0.36 else ("government" if roll < 0.375 else "company")
            out.append(self.make_customer(kind))
        for _ in range(max(3, n // 20)):
            out.append(self.make_prospect())
        for _ in range(max(2, n // 80)):
            out.append(self.make_supplier())
        out.sort(key=lambda c: c.created)
        return out

    def _place(self, c: _Customer, *, company: bool) -> hu.City:
        city = hu.pick_city(self.rng)
        c.city, c.zip = city.name, hu.zip_code(self.rng, city)
        c.address = hu.street_address(self.rng, company=company)
        return city

    def make_customer(self, kind: str) -> _Customer:
        rng, clock = self.rng, self.clock
        c = _Customer(kind=kind)
        if kind == "person":
            p = hu.person(rng, year=clock.start.year)
            c.person, c.name, c.typent = p, p.display, TE_PRIVATE
            self._place(c, company=False)
            c.mobile = hu.mobile(rng) if rng.random() < 0.75 else None
            c.phone = c.mobile if c.mobile and rng.random() < 0.3 else None
            c.email = hu.private_email(rng, p) if rng.random() < 0.85 else None
            c.rhythm = rng.choices(("one_time", "occasional", "seasonal", "monthly"), weights=(50, 33, 12, 5))[0]
            c.size = rng.lognormvariate(-0.3, 0.5)
            c.taste = dict(PRIVATE_TASTE)
            c.payer = "immediate"
            c.pay_mode = rng.choices((PAY_CARD, PAY_CASH, PAY_TRANSFER), weights=(60, 25, 15))[0]
            c.term_days = 0
        else:
            foreign = kind == "company" and rng.random() < 0.02
            if kind == "government":
                city = hu.pick_city(rng)
                while city is hu.BUDAPEST:
                    city = hu.pick_city(rng)
                c.city, c.zip = city.name, hu.zip_code(rng, city)
                c.address = f"{rng.choice(('Szabadság tér', 'Fő tér', 'Városház tér', 'Kossuth Lajos tér'))} {rng.randint(1, 12)}."
                institutions = ("Város Önkormányzata", "Városi Könyvtár", "Városi Sportközpont",
                                "Városi Múzeum", "Városi Egészségügyi Központ")
                names = [f"{city.name} {i}" for i in institutions] + [f"{city.name} Városi Intézmény {n}" for n in range(2, 99)]
                c.name = next(name for name in names if name not in self.taken_names)
                self.taken_names.add(c.name)
                first7 = "15" + "".join(str(rng.randint(0, 9)) for _ in range(5))
                base = first7 + str(hu.tax_check_digit(first7))
                c.tax, c.eu_vat, c.registration = f"{base}-2-{city.county if city.county != '01' else '41'}", None, None
                c.typent, c.effectif, c.industry = TE_ADMIN, 4, "Közigazgatás"
                c.domain = hu.slug(city.name) + ".hu"
                c.phone = hu.landline(rng, city)
                c.size = rng.lognormvariate(0.6, 0.4)
                c.payer = "late" if rng.random() < 0.5 else "prompt"
            elif foreign:
                country, town, zips, streets, lang = rng.choice(FOREIGN_PLACES)
                c.country, c.lang, c.city, c.zip = country, lang, town, rng.choice(zips)
                c.address = f"{rng.choice(streets)} {rng.randint(1, 90)}"
                family = rng.choice(("Huber", "Gruber", "Bauer", "Wagner", "Müller", "Schmid", "Weber"))
                c.name = f"{family} {rng.choice(('Bürotechnik', 'IT-Service', 'Handels'))} GmbH"
                while c.name in self.taken_names:
                    c.name = c.name.replace(" GmbH", " & Co GmbH")
                self.taken_names.add(c.name)
                digits = "".join(str(rng.randint(0, 9)) for _ in range(8 if country == AT else 9))
                c.tax = c.eu_vat = ("ATU" if country == AT else "DE") + digits
                c.registration = f"FN {rng.randint(100000, 599999)} {rng.choice('abdfimptvwx')}" if country == AT else f"HRB {rng.randint(10000, 259999)}"
                c.typent, c.effectif, c.industry = TE_SMALL, rng.randint(2, 4), "Kereskedelem"
                c.domain = hu.slug(family + c.name.split()[1]) + (".at" if country == AT else ".de")
                c.phone = f"+{'43' if country == AT else '49'} {rng.randint(1, 89)} {rng.randint(100000, 9999999)}"
                c.size = rng.lognormvariate(0.4, 0.5)
                c.vat_exempt = True  # intra-community supply: reverse charge
            else:
                city = self._place(c, company=True)
                co = hu.company(rng, city, self.taken_names)
                c.name, c.tax, c.registration, c.industry, c.domain = co.name, co.tax_number, co.registration_number, co.industry, co.domain
                c.eu_vat = co.eu_vat_number if rng.random() < 0.35 else None
                c.phone = hu.landline(rng, city)
                c.mobile = hu.mobile(rng) if rng.random() < 0.4 else None
                if co.form in ("Zrt.", "Nyrt."):
                    c.typent, c.effectif = TE_GROUP, rng.randint(4, 6)
                    c.size = rng.lognormvariate(1.0, 0.5)
                elif co.form == "Bt.":
                    c.typent, c.effectif = TE_SMALL, rng.randint(1, 2)
                    c.size = rng.lognormvariate(-0.4, 0.4)
                else:
                    big = rng.random() < 0.25
                    c.typent, c.effectif = (TE_MEDIUM, rng.randint(3, 5)) if big else (TE_SMALL, rng.randint(1, 3))
                    c.size = rng.lognormvariate(0.4 if big else 0.0, 0.5)
                if c.industry == "Kereskedelem" and rng.random() < 0.3:
                    c.typent = TE_RETAIL
            if not c.address:
                self._place(c, company=True)
            c.email = f"{rng.choice(('info', 'iroda', 'office', 'szamlazas'))}@{c.domain}"
            c.url = f"www.{c.domain}" if rng.random() < 0.7 else None
            c.rhythm = rng.choices(("weekly", "monthly", "quarterly", "seasonal", "occasional", "one_time"),
                                   weights=(6, 26, 20, 9, 26, 13))[0]
            c.taste = dict(INDUSTRY_TASTE.get(c.industry or "", PRIVATE_TASTE))
            if kind != "government":
                c.payer = rng.choices(("prompt", "late", "partial", "bad"), weights=(68, 22, 7, 3))[0]
            c.pay_mode = PAY_TRANSFER
            c.term_days = rng.choice((8, 15, 15, 30, 30, 30)) if kind != "government" else 30
            if rng.random() < 0.25:
                c.settle_day = rng.choice((5, 10, 15, 20))
            c.discount = rng.choice((0, 0, 0, 0, 3, 5, 5, 10)) if c.size > 1.2 else 0.0
            if c.rhythm in ("monthly", "weekly") and rng.random() < 0.45:
                c.subscriptions = [next(i for i in ITEMS if i.ref == r) for r in rng.sample(SUBSCRIPTIONS, rng.randint(1, 2))]
                if rng.random() < 0.5:
                    c.pay_mode = PAY_DEBIT
            c.credit_limit = float(rng.choice((500_000, 1_000_000, 2_000_000, 5_000_000))) if rng.random() < 0.3 else None
        c.trend = rng.choices(("steady", "growing", "shrinking"), weights=(70, 15, 15))[0]
        if c.rhythm == "seasonal":
            c.seasons = rng.choice(((8, 9), (11, 12), (1, 2), (3, 4, 5)))
        # when they became a customer: half were already buying at the start of the history
        if rng.random() < 0.5:
            c.first = clock.start + timedelta(days=rng.randint(0, 45))
            c.created = clock.at(clock.start - timedelta(days=rng.randint(60, 2500)))
        else:
            c.first = clock.start + timedelta(days=rng.randint(30, clock.span_days - 5))
            c.created = clock.at(c.first - timedelta(days=rng.randint(0, 20)))
        if c.seasons and c.first.month not in c.seasons:
            c.first = _season_start(c.first, c.seasons, rng)
        if kind != "person":
            c.first = _business_day(c.first)
        # some companies were prospects first: a refused proposal before the first order
        if kind == "company" and c.first > clock.start + timedelta(days=60) and rng.random() < 0.15:
            c.client, c.refuse_first = 3, True
        # a good share of repeat customers stop buying at some point
        if c.rhythm != "one_time" and rng.random() < 0.27:
            lo = max(c.first, clock.start + timedelta(days=int(clock.span_days * 0.2)))
            hi = clock.start + timedelta(days=int(clock.span_days * 0.85))
            if lo < hi:
                c.stop = lo + timedelta(days=rng.randint(0, (hi - lo).days))
        c.favourites = self.pick_favourites(c)
        c.modified = c.created
        if rng.random() < 0.3:
            c.modified = min(c.created + timedelta(days=rng.randint(1, 900)),
                             datetime.combine(self.today, time(12, 0)))
        c.modified = max(c.modified, c.created)
        c.rep = rng.choice(self.reps) if kind != "person" or rng.random() < 0.1 else None
        return c

    def pick_favourites(self, c: _Customer) -> list[Item]:
        rng = self.rng
        cats = list(c.taste)
        weights = [c.taste[k] for k in cats]
        favs: list[Item] = []
        for _ in range(rng.randint(2, 6)):
            cat = rng.choices(cats, weights=weights)[0]
            options = [i for i in ITEMS if i.category == cat and i.ref not in SUBSCRIPTIONS]
            if options:
                item = rng.choice(options)
                if item not in favs:
                    favs.append(item)
        return favs or [ITEMS[0]]

    def make_prospect(self) -> _Customer:
        c = self.make_customer("company")
        c.role, c.client = "prospect", 2
        c.rhythm = "prospect"
        c.stop = None
        c.first = _business_day(self.clock.start + timedelta(days=self.rng.randint(10, self.clock.span_days - 3)))
        c.created = self.clock.at(c.first - timedelta(days=self.rng.randint(0, 30)))
        c.modified = c.created
        c.rep = self.rng.choice(self.reps)
        return c

    def make_supplier(self) -> _Customer:
        rng = self.rng
        c = _Customer(kind="company", role="supplier", client=0, supplier=1)
        city = self._place(c, company=True)
        co = hu.company(rng, city, self.taken_names)
        c.name, c.tax, c.registration, c.industry, c.domain = co.name, co.tax_number, co.registration_number, "Kereskedelem", co.domain
        c.eu_vat = co.eu_vat_number
        c.typent, c.effectif = TE_MEDIUM, rng.randint(3, 5)
        c.phone, c.email, c.url = hu.landline(rng, city), f"info@{co.domain}", f"www.{co.domain}"
        c.created = self.clock.at(self.clock.start - timedelta(days=rng.randint(100, 2000)))
        c.modified = c.created
        c.rhythm = "none"
        return c

    def write_partners(self, partners: list[_Customer]) -> None:
        rng, w = self.rng, self.w
        customer_no = supplier_no = 0
        for c in partners:
            c.rowid = self.next_id("llx_societe")
            if c.role == "customer" and rng.random() < 0.03:
                c.supplier = 1
            code_client = code_supplier = None
            if c.client:
                customer_no += 1
                code_client = f"CU{c.created:%y%m}-{customer_no:05d}"
            if c.supplier:
                supplier_no += 1
                code_supplier = f"SU{c.created:%y%m}-{supplier_no:05d}"
            w.add("llx_societe", {
                "rowid": c.rowid, "nom": c.name, "name_alias": None, "entity": ENTITY, "status": 1,
                "code_client": code_client, "code_fournisseur": code_supplier,
                "address": c.address, "zip": c.zip, "town": c.city, "fk_pays": c.country,
                "phone": c.phone, "phone_mobile": c.mobile, "url": c.url, "email": c.email,
                "fk_effectif": c.effectif, "fk_typent": c.typent,
                "siren": c.registration, "siret": c.eu_vat, "tva_intra": c.tax,
                "fk_stcomm": 0 if c.client == 1 else 2, "client": c.client, "fournisseur": c.supplier,
                "fk_prospectlevel": rng.choice(("PL_LOW", "PL_MEDIUM", "PL_HIGH")) if c.client == 2 else None,
                "remise_client": float(c.discount), "mode_reglement": c.pay_mode if c.client else None,
                "cond_reglement": (1 if c.term_days == 0 else 2) if c.client else None,
                "tva_assuj": 0 if c.kind == "person" else 1, "outstanding_limit": c.credit_limit,
                "default_lang": c.lang, "tms": c.modified, "datec": c.created,
                "fk_user_creat": (c.rep.on(c.created.date()) if c.rep else self.office).rowid,
                "fk_user_modif": None, "multicurrency_code": "HUF",
            })
            if c.rep is not None and c.role != "supplier":
                holder = c.rep.on(self.today)
                w.add("llx_societe_commerciaux", {"rowid": self.next_id("llx_societe_commerciaux"),
                                                  "fk_soc": c.rowid, "fk_user": holder.rowid})
            if c.industry and c.kind != "person" and c.role != "supplier":
                w.add("llx_categorie_societe", {"fk_categorie": self.industry_ids[c.industry], "fk_soc": c.rowid})
            self.write_contacts(c)

    def write_contacts(self, c: _Customer) -> None:
        rng, w = self.rng, self.w
        if c.kind == "person":
            p = c.person
            assert p is not None
            w.add("llx_socpeople", self._contact_row(c, p, None, c.email, c.mobile, c.created,
                                                     birthday=date(p.birth_year, rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.4 else None))
            return
        if c.country != HU:
            count = 1
        else:
            count = rng.choices((1, 2, 3), weights=(55, 33, 12))[0]
        for i in range(count):
            p = hu.person(rng, min_age=23, max_age=64, year=self.clock.start.year)
            job = hu.JOB_TITLES[0] if i == 0 and c.kind == "company" else rng.choice(hu.JOB_TITLES[1:])
            if c.kind == "government":
                job = rng.choice(("jegyző", "gazdasági vezető", "informatikus", "titkárság"))
            email = hu.work_email(p, c.domain or "example.hu") if rng.random() < 0.85 else None
            w.add("llx_socpeople", self._contact_row(c, p, job, email, hu.mobile(rng) if rng.random() < 0.6 else None,
                                                     c.created + timedelta(minutes=rng.randint(1, 600))))
        if rng.random() < 0.06:  # somebody left the company; the record stays, inactive
            p = hu.person(rng, min_age=23, max_age=64, year=self.clock.start.year)
            row = self._contact_row(c, p, rng.choice(hu.JOB_TITLES[1:]), None, None, c.created)
            row["statut"] = 0
            w.add("llx_socpeople", row)

    def _contact_row(self, c: _Customer, p: hu.Person, job: str | None, email: str | None,
                     mobile: str | None, created: datetime, birthday: date | None = None) -> dict[str, Any]:
        created = min(created, datetime.combine(self.today, time(12, 0)))
        return {
            "rowid": self.next_id("llx_socpeople"), "datec": created, "tms": created, "fk_soc": c.rowid,
            "entity": ENTITY, "civility": p.civility, "lastname": p.family, "firstname": p.given,
            "address": c.address if c.kind == "person" else None, "zip": c.zip if c.kind == "person" else None,
            "town": c.city if c.kind == "person" else None, "fk_pays": c.country, "birthday": birthday,
            "poste": job, "phone": c.phone if c.kind != "person" else None, "phone_mobile": mobile,
            "email": email, "no_email": 0, "priv": 0, "fk_user_creat": (c.rep or self.office).rowid,
            "default_lang": c.lang, "statut": 1,
        }

    # ------------------------------------------------------------------ the history
    def simulate(self, partners: list[_Customer]) -> None:
        heap: list[tuple[date, int, _Customer]] = []
        for c in partners:
            if c.role == "supplier":
                continue
            heapq.heappush(heap, (c.first, c.rowid, c))
        end = self.today
        while heap:
            d, _, c = heapq.heappop(heap)
            if d > end:
                continue
            self.emit_until(datetime.combine(d, time.min))
            self.occasion(c, d)
            nxt = self.next_occasion(c, d)
            if nxt is not None and nxt <= end:
                heapq.heappush(heap, (nxt, c.rowid, c))
        self.emit_until(None)

    def next_occasion(self, c: _Customer, d: date) -> date | None:
        rng, clock = self.rng, self.clock
        c.occasions += 1
        if c.rhythm == "prospect":
            if c.occasions >= rng.randint(1, 3):
                return None
            gap = rng.randint(40, 200)
        elif c.rhythm == "one_time":
            if c.occasions >= 2 or rng.random() < 0.75:
                return None
            gap = rng.randint(5, 40)
        elif c.rhythm == "weekly":
            gap = max(3, round(rng.gauss(7, 1.5)))
        elif c.rhythm == "monthly":
            gap = max(15, round(rng.gauss(30, 4)))
        elif c.rhythm == "quarterly":
            gap = max(45, round(rng.gauss(91, 12)))
        elif c.rhythm == "seasonal":
            gap = max(7, round(rng.gauss(20, 6)))
            nd = d + timedelta(days=gap)
            if nd.month not in c.seasons:
                nd = _season_start(nd, c.seasons, rng)
            gap = (nd - d).days
        else:  # occasional
            gap = 10 + round(rng.expovariate(1 / 110.0))
        if c.rhythm in ("weekly", "monthly", "quarterly", "occasional") and c.trend != "steady":
            p = clock.progress(d)
            factor = 1.5 - 0.9 * p if c.trend == "growing" else 0.7 + 1.1 * p
            gap = max(3, round(gap * factor))
        nxt = d + timedelta(days=gap)
        if c.kind != "person":
            nxt = _business_day(nxt)
        elif nxt.weekday() == 6:
            nxt += timedelta(days=1)
        if c.stop is not None and nxt > c.stop:
            return None
        return nxt

    def amount_factor(self, c: _Customer, d: date) -> float:
        if c.trend == "steady":
            return c.size
        p = self.clock.progress(d)
        return c.size * ((0.5 + 1.5 * p) if c.trend == "growing" else (1.8 - 1.4 * p))

    def basket(self, c: _Customer, d: date, *, big: bool = False) -> list[_Line]:
        rng = self.rng
        available = self.sellable(d)
        boost = SEASON_BOOST.get(d.month, {})
        lines: list[_Line] = []
        years = self.clock.years_passed(d)
        chosen: list[Item] = []
        n = rng.randint(2, 5) if big else rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
        favs = [i for i in c.favourites if i in available]
        for _ in range(n):
            if favs and rng.random() < 0.7:
                item = rng.choice(favs)
            else:
                cats = list(c.taste)
                weights = [c.taste[k] * boost.get(k, 1.0) for k in cats]
                cat = rng.choices(cats, weights=weights)[0]
                options = [i for i in available if i.category == cat and i.ref not in SUBSCRIPTIONS]
                if not options:
                    continue
                item = rng.choice(options)
            if item in chosen:
                continue
            chosen.append(item)
        if big and not any(i.type == SERVICE for i in chosen):
            chosen.append(next(i for i in ITEMS if i.ref == "SZ-TELEP-H"))
        factor = self.amount_factor(c, d)
        for item in chosen:
            lo, hi = item.unit_qty
            if c.kind == "person":
                qty = 1 if hi <= 3 else rng.randint(1, max(1, min(3, hi)))
            else:
                qty = max(lo, min(hi * 3, round(rng.uniform(lo, hi) * factor * (1.6 if big else 1.0))))
            lines.append(self.line(c, item, float(qty), years))
        return lines

    def line(self, c: _Customer, item: Item, qty: float, years: float) -> _Line:
        vat = 0.0 if c.vat_exempt else item.vat
        return _Line(item, qty, _price(item.price, years), vat, c.discount if c.kind != "person" else 0.0)

    # ------------------------------------------------------------------ one buying occasion
    def occasion(self, c: _Customer, d: date) -> None:
        rng, clock = self.rng, self.clock
        author = (c.rep.on(d) if c.rep else self.office)
        if c.rhythm == "prospect":
            self.quote_flow(c, d, author, can_sign=False)
            return
        if c.kind == "person":
            lines = self.basket(c, d)
            if not lines:
                return
            when = clock.at(d, 9, 19)
            if rng.random() < 0.2:  # ordered in the web shop, invoiced when shipped
                order = _Order(when, c, lines, author, customer_ref=None)
                inv_day = d + timedelta(days=rng.randint(0, 3))
                inv = self.invoice(c, inv_day, [*lines], author, order=order)
                self.finish_order(order, inv)
                self.schedule(order)
            else:
                self.invoice(c, d, lines, author)
            self.maybe_ticket(c, d)
            return
        first = c.occasions == 0
        if first and c.refuse_first:
            self.quote_flow(c, d, author, can_sign=False)
            return
        p_quote = 0.8 if first else (0.12 if c.rhythm in ("weekly", "monthly") else 0.4)
        if rng.random() < p_quote:
            self.quote_flow(c, d, author, can_sign=True)
        else:
            lines = self.basket(c, d)
            lines += [self.line(c, s, 1.0, clock.years_passed(d)) for s in c.subscriptions
                      if c.rhythm == "monthly" or d.day <= 7]
            if not lines:
                return
            if rng.random() < 0.8:
                when = clock.at(d)
                order = _Order(when, c, lines, author,
                               customer_ref=f"PO-{d.year}-{rng.randint(1, 9999):04d}" if c.typent in (TE_GROUP, TE_ADMIN) and rng.random() < 0.6 else None)
                self.order_flow(order)
            else:
                self.invoice(c, d, lines, author)
        self.maybe_ticket(c, d)

    def quote_flow(self, c: _Customer, d: date, author: _User, *, can_sign: bool) -> None:
        rng, clock = self.rng, self.clock
        lines = self.basket(c, d, big=True)
        if not lines:
            return
        when = clock.at(d)
        q = _Quote(when, c, lines, author, valid_until=d + timedelta(days=30))
        roll = rng.random()
        p_sign = 0.6 if c.quotes_refused == 0 else 0.7
        decision_day = _business_day(d + timedelta(days=rng.randint(2, 25)))
        if can_sign and roll < p_sign:
            if decision_day > self.today:
                q.status = 1
            else:
                q.status, q.decided = 2, clock.at(decision_day)
                order = _Order(clock.later(q.decided), c, [*lines], author, quote=q,
                               customer_ref=f"PO-{decision_day.year}-{rng.randint(1, 9999):04d}" if c.typent in (TE_GROUP, TE_ADMIN) else None)
                self.order_flow(order)
                if order.billed:
                    q.status = 4
        elif roll < p_sign + 0.3 or not can_sign:
            if decision_day <= self.today and rng.random() < (0.75 if can_sign else 0.6):
                q.status, q.decided = 3, clock.at(decision_day)
                c.quotes_refused += 1
            else:
                q.status = 1  # no answer; it simply expires
        else:
            q.status = 1
        if q.status == 1 and (self.today - d).days < 10 and rng.random() < 0.3:
            q.status = 0  # still being written
        self.schedule(q)

    def order_flow(self, order: _Order) -> None:
        rng = self.rng
        d = order.when.date()
        if rng.random() < 0.03:
            order.status, order.closed = -1, self.clock.later(order.when, (60, 60 * 24 * 5))
            self.schedule(order)
            return
        lead = rng.choice((0, 1, 2, 3, 5, 7, 10, 14)) if any(ln.item.type != SERVICE for ln in order.lines) else rng.randint(0, 20)
        inv_day = _business_day(d + timedelta(days=lead))
        inv = self.invoice(order.cust, inv_day, [*order.lines], order.author, order=order)
        self.finish_order(order, inv)
        self.schedule(order)

    def finish_order(self, order: _Order, inv: _Invoice | None) -> None:
        rng = self.rng
        if inv is not None and inv.status != 0:
            order.status, order.billed, order.closed = 3, True, inv.when
        else:
            order.status = rng.choice((1, 1, 2))
            if (self.today - order.when.date()).days < 5 and rng.random() < 0.25:
                order.status = 0

    # ------------------------------------------------------------------ invoices, payments
    def invoice(self, c: _Customer, d: date, lines: list[_Line], author: _User,
                *, order: _Order | None = None) -> _Invoice | None:
        rng, clock = self.rng, self.clock
        if d > self.today:
            return None
        when = clock.at(d, 8, 18)
        if order is not None and when < order.when:
            when = clock.later(order.when)
        inv = _Invoice(when, c, lines, author, order=order)
        inv.cond = 1 if c.term_days == 0 else 2
        inv.mode = c.pay_mode
        inv.due = d + timedelta(days=c.term_days)
        if (self.today - d).days <= 3 and rng.random() < 0.1:
            inv.status = 0  # draft, not yet validated
            self.schedule(inv)
            return inv
        self.plan_payment(inv)
        self.schedule(inv)
        self.maybe_credit_note(inv)
        return inv

    def plan_payment(self, inv: _Invoice) -> None:
        rng, c = self.rng, inv.cust
        total = inv.total
        d = inv.when.date()
        lapsing_soon = c.stop is not None and (c.stop - d).days < 60
        if c.payer == "immediate":
            pay_day = d if inv.mode in (PAY_CARD, PAY_CASH) else d + timedelta(days=rng.randint(0, 6))
            self.pay(inv, pay_day, total)
            return
        if c.payer == "bad" and rng.random() < 0.4 or lapsing_soon and rng.random() < 0.25:
            if (self.today - inv.due).days > 365 and rng.random() < 0.5:
                inv.status, inv.close_code = 3, "badcustomer"
                inv.closed = self.clock.at(inv.due + timedelta(days=rng.randint(200, 360)))
            return  # never paid
        if c.payer == "late":
            pay_day = inv.due + timedelta(days=rng.randint(3, 60))
        elif c.payer == "bad":
            pay_day = inv.due + timedelta(days=rng.randint(20, 120))
        else:
            pay_day = inv.due + timedelta(days=rng.randint(-5, 2))
        pay_day = max(pay_day, d)
        if c.settle_day is not None and c.payer != "bad":
            nd = pay_day.replace(day=1) + timedelta(days=32)
            candidate = pay_day.replace(day=c.settle_day) if pay_day.day <= c.settle_day else nd.replace(day=c.settle_day)
            pay_day = candidate
        pay_day = _business_day(pay_day)
        if c.payer == "partial" and rng.random() < 0.5 and total > 10_000:
            first = _money(total * rng.choice((0.3, 0.5, 0.6)))
            self.pay(inv, pay_day, first)
            self.pay(inv, _business_day(pay_day + timedelta(days=rng.randint(10, 45))), total - first, merge=False)
        else:
            self.pay(inv, pay_day, total)

    def pay(self, inv: _Invoice, day: date, amount: int, *, merge: bool = True) -> None:
        if day > self.today:
            return
        key = (inv.cust.rowid, day)
        p = self.open_payments.get(key) if merge and inv.cust.settle_day is not None else None
        if p is None:
            when = self.clock.at(day, 9, 16)
            if when < inv.when:
                when = self.clock.later(inv.when, (1, 120))
            p = _Payment(when, inv.cust, inv.mode)
            if merge and inv.cust.settle_day is not None:
                self.open_payments[key] = p
            self.schedule(p)
        elif p.when < inv.when:
            # a settlement cannot pay an invoice issued after it; pay separately
            p = _Payment(self.clock.later(inv.when, (1, 120)), inv.cust, inv.mode)
            self.schedule(p)
        p.parts.append((inv, amount))
        inv.paid += amount
        if inv.paid >= inv.total and inv.status == 1:
            inv.status, inv.closed = 2, p.when

    def maybe_credit_note(self, inv: _Invoice, *, complaint: bool = False, after: date | None = None) -> None:
        rng, clock = self.rng, self.clock
        if inv.type != 0 or inv.status == 0 or (not complaint and rng.random() > 0.03):
            return
        d = inv.when.date() + timedelta(days=rng.randint(3, 40))
        if after is not None:
            d = max(d, after + timedelta(days=rng.randint(1, 10)))
        d = _business_day(d)
        if d > self.today:
            return
        if rng.random() < 0.4 or len(inv.lines) == 1 and inv.lines[0].qty <= 1:
            lines = [ln.negated() for ln in inv.lines]
        else:
            ln = rng.choice(inv.lines)
            lines = [ln.negated(qty=max(1.0, float(int(ln.qty * rng.choice((0.25, 0.5, 1.0))))))]
        cn = _Invoice(clock.at(d), inv.cust, lines, inv.author, type=2, source=inv)
        cn.cond, cn.mode, cn.due = 1, inv.mode, d
        cn.status, cn.closed = 2, clock.later(cn.when)  # converted into a discount, or refunded
        cn.paid = cn.total
        self.schedule(cn)
        if inv.status == 2 and inv.closed is not None and rng.random() < 0.5:  # paid: money goes back
            base = max(cn.when, inv.closed)
            refund = _Payment(clock.later(base, (60, 60 * 24 * 3)), inv.cust, PAY_CASH if inv.mode == PAY_CASH else PAY_TRANSFER)
            refund.parts.append((cn, cn.total))
            if refund.when.date() <= self.today:
                cn.closed = refund.when
                self.schedule(refund)

    def maybe_ticket(self, c: _Customer, d: date) -> None:
        rng, clock = self.rng, self.clock
        roll = rng.random()
        lapsing = c.stop is not None and 0 <= (c.stop - d).days < 50
        p_complaint = 0.35 if lapsing else 0.02
        if roll < p_complaint and self._last_invoice.get(c.rowid):
            inv = self._last_invoice[c.rowid]
            subject, text = rng.choice(COMPLAINTS)
            when = clock.at(_business_day(max(inv.when.date() + timedelta(days=rng.randint(1, 10)), d)))
            if when.date() > self.today:
                return
            t = _Ticket(when, c, rng.choice(("ISSUE", "ISSUE", "PROBLEM")), subject, lambda inv=inv, text=text: text.format(ref=inv.ref),
                        rng.choice(("NORMAL", "HIGH", "HIGH", "BLOCKING")), (c.rep.on(when.date()) if c.rep else self.office), 0, None)
            self.close_ticket(t, quick=not lapsing)
            self.schedule(t)
            if rng.random() < 0.45:
                self.maybe_credit_note(inv, complaint=True, after=when.date())
        elif roll > 0.985 - (0.01 if c.kind != "person" else 0):
            type_code, subject, text = rng.choice(QUESTIONS)
            when = clock.at(d)
            t = _Ticket(when, c, type_code, subject, text, rng.choice(("LOW", "NORMAL", "NORMAL")),
                        (c.rep.on(d) if c.rep else self.office), 0, None)
            self.close_ticket(t, quick=True)
            self.schedule(t)

    def close_ticket(self, t: _Ticket, *, quick: bool) -> None:
        rng, clock = self.rng, self.clock
        days = rng.randint(0, 5) if quick else rng.randint(3, 30)
        closed = clock.later(t.when, (30, 60 * 24 * max(days, 1)))
        if closed.date() >= self.today or rng.random() < 0.04:
            t.status = rng.choice((0, 1, 3, 5, 7))
        else:
            t.status, t.closed = (8 if rng.random() < 0.9 else 9), closed

    # ------------------------------------------------------------------ writing documents
    def _doc_lines(self, table: str, fk: str, parent_id: int, lines: list[_Line], *, invoice: bool = False) -> None:
        for rang, ln in enumerate(lines, start=1):
            net, tax = ln.net, ln.tax
            row: dict[str, Any] = {
                "rowid": self.next_id(table), fk: parent_id, "fk_product": self.product_ids[ln.item.ref],
                "label": None, "description": ln.item.label, "vat_src_code": "",
                "tva_tx": float(ln.vat), "qty": ln.qty, "remise_percent": float(ln.discount),
                "subprice": float(ln.price), "total_ht": float(net), "total_tva": float(tax),
                "total_ttc": float(net + tax), "product_type": ln.item.type, "info_bits": 0,
                "buy_price_ht": float(_money(ln.item.price * 0.72)) if ln.item.type != SERVICE else 0.0,
                "special_code": 0, "rang": rang,
                "multicurrency_subprice": float(ln.price), "multicurrency_total_ht": float(net),
                "multicurrency_total_tva": float(tax), "multicurrency_total_ttc": float(net + tax),
            }
            if invoice:
                row["fk_code_ventilation"] = 0
            self.w.add(table, row)

    def _number(self, doc: _Doc, table: str, prefix: str) -> date:
        """Give `doc` its rowid and its reference: (PROVn) while a draft, then PREFIXyymm-nnnn."""
        doc.rowid = self.next_id(table)
        d = doc.when.date()
        doc.ref = f"(PROV{doc.rowid})" if getattr(doc, "status", 1) == 0 else self.numbers.next(prefix, d)
        return d

    def write_quote(self, q: _Quote) -> None:
        d = self._number(q, "llx_propal", "PR")
        validated = q.when if q.status != 0 else None
        signed = q.decided if q.status in (2, 4) else None
        closed = q.decided if q.status in (2, 3, 4) else None
        self.w.add("llx_propal", {
            "rowid": q.rowid, "ref": q.ref, "entity": ENTITY, "ref_client": None, "fk_soc": q.cust.rowid,
            "tms": q.decided or q.when, "datec": q.when, "datep": d,
            "fin_validite": datetime.combine(q.valid_until, time(0, 0)), "date_valid": validated,
            "date_signature": signed, "date_cloture": closed,
            "fk_user_author": q.author.rowid, "fk_user_valid": q.author.rowid if validated else None,
            "fk_user_signature": q.author.rowid if signed else None,
            "fk_user_cloture": q.author.rowid if closed else None, "fk_statut": q.status,
            "fk_cond_reglement": 1 if q.cust.term_days == 0 else 2, "fk_mode_reglement": q.cust.pay_mode,
            "note_public": "Az ajánlat 30 napig érvényes.", **_amounts(q.lines),
        })
        self._doc_lines("llx_propaldet", "fk_propal", q.rowid, q.lines)

    def write_order(self, o: _Order) -> None:
        d = self._number(o, "llx_commande", "CO")
        validated = o.when if o.status != 0 else None
        self.w.add("llx_commande", {
            "rowid": o.rowid, "ref": o.ref, "entity": ENTITY, "ref_client": o.customer_ref, "fk_soc": o.cust.rowid,
            "tms": o.closed or o.when, "date_creation": o.when, "date_valid": validated,
            "date_cloture": o.closed, "date_commande": d, "fk_user_author": o.author.rowid,
            "fk_user_valid": o.author.rowid if validated else None,
            "fk_user_cloture": o.author.rowid if o.closed else None, "source": 0 if o.quote is None else 1,
            "fk_statut": o.status, "facture": 1 if o.billed else 0,
            "fk_cond_reglement": 1 if o.cust.term_days == 0 else 2, "fk_mode_reglement": o.cust.pay_mode,
            **_amounts(o.lines),
        })
        self._doc_lines("llx_commandedet", "fk_commande", o.rowid, o.lines)
        if o.quote is not None and o.quote.rowid:
            self._link(o.quote.rowid, "propal", o.rowid, "commande")

    def _link(self, src: int, srctype: str, target: int, targettype: str) -> None:
        self.w.add("llx_element_element", {"rowid": self.next_id("llx_element_element"), "fk_source": src,
                                           "sourcetype": srctype, "fk_target": target, "targettype": targettype})

    def write_invoice(self, inv: _Invoice) -> None:
        d = self._number(inv, "llx_facture", "AV" if inv.type == 2 else "FA")
        validated = d if inv.status != 0 else None
        paid = 1 if inv.status == 2 else 0
        note = None
        if inv.cust.vat_exempt:
            note = "Közösségen belüli termékértékesítés, az Áfa tv. 89. §-a alapján adómentes. Fordított adózás."
        self.w.add("llx_facture", {
            "rowid": inv.rowid, "ref": inv.ref, "entity": ENTITY, "ref_client": inv.order.customer_ref if inv.order else None,
            "type": inv.type, "fk_soc": inv.cust.rowid, "datec": inv.when, "datef": d, "date_valid": validated,
            "tms": inv.closed or inv.when, "date_closing": inv.closed, "paye": paid,
            "close_code": inv.close_code, "fk_statut": inv.status, "fk_user_author": inv.author.rowid,
            "fk_user_valid": inv.author.rowid if validated else None,
            "fk_user_closing": self.office.rowid if inv.closed else None,
            "fk_facture_source": inv.source.rowid if inv.source else None,
            "fk_cond_reglement": inv.cond, "fk_mode_reglement": inv.mode, "date_lim_reglement": inv.due,
            "note_public": note, **_amounts(inv.lines),
        })
        self._doc_lines("llx_facturedet", "fk_facture", inv.rowid, inv.lines, invoice=True)
        if inv.order is not None and inv.order.rowid:
            self._link(inv.order.rowid, "commande", inv.rowid, "facture")
        if inv.type == 0 and inv.status != 0:
            self._last_invoice[inv.cust.rowid] = inv

    def write_payment(self, p: _Payment) -> None:
        parts = [(inv, amount) for inv, amount in p.parts if inv.rowid]
        if not parts:
            return
        p.rowid = self.next_id("llx_paiement")
        d = p.when.date()
        total = sum(a for _, a in parts)
        ref = self.numbers.next("PAY", d)
        bank_ref = None
        if p.mode == PAY_TRANSFER:
            bank_ref = f"{self.rng.choice(('OTP', 'K&H', 'MBH', 'Erste', 'Raiffeisen', 'UniCredit'))} {self.rng.randint(10**7, 10**8 - 1)}"
        self.w.add("llx_paiement", {
            "rowid": p.rowid, "ref": ref, "entity": ENTITY, "datec": p.when, "tms": p.when, "datep": p.when,
            "amount": float(total), "multicurrency_amount": float(total), "fk_paiement": p.mode,
            "num_paiement": bank_ref, "note": None, "fk_bank": 0, "fk_user_creat": self.office.rowid,
            "statut": 1 if (self.today - d).days > 60 else 0, "fk_export_compta": 0,
        })
        for inv, amount in parts:
            self.w.add("llx_paiement_facture", {
                "rowid": self.next_id("llx_paiement_facture"), "fk_paiement": p.rowid, "fk_facture": inv.rowid,
                "amount": float(amount), "multicurrency_code": "HUF", "multicurrency_tx": 1.0,
                "multicurrency_amount": float(amount),
            })
        if p.cust.settle_day is not None:
            self.open_payments.pop((p.cust.rowid, d), None)

    def write_ticket(self, t: _Ticket) -> None:
        t.rowid = self.next_id("llx_ticket")
        d = t.when.date()
        track = "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=16))
        while track in self.track_ids:
            track = "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=16))
        self.track_ids.add(track)
        message = t.message() if callable(t.message) else t.message
        read = self.clock.later(t.when, (10, 600)) if t.status != 0 else None
        self.w.add("llx_ticket", {
            "rowid": t.rowid, "entity": ENTITY, "ref": self.numbers.next("TS", d), "track_id": track,
            "fk_soc": t.cust.rowid, "origin_email": t.cust.email, "fk_user_create": t.assignee.rowid,
            "fk_user_assign": t.assignee.rowid if t.status not in (0, 1) else None,
            "subject": t.subject, "message": message, "fk_statut": t.status,
            "resolution": None, "progress": 100 if t.status == 8 else 0, "type_code": t.type_code,
            "category_code": "OTHER", "severity_code": t.severity, "datec": t.when, "date_read": read,
            "date_close": t.closed, "tms": t.closed or read or t.when,
        })


def _open(target: Any) -> tuple[Connection, Callable[[], None], bool]:
    """A connection for `target` (URL, path, Engine or Connection), a closer, and whether to commit."""
    if isinstance(target, Connection):
        return target, lambda: None, not target.in_transaction()
    if isinstance(target, Engine):
        conn = target.connect()
        return conn, conn.close, True
    if isinstance(target, Path) or (isinstance(target, str) and "://" not in target):
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path}")
    else:
        engine = create_engine(str(target))
    conn = engine.connect()

    def close() -> None:
        conn.close()
        engine.dispose()

    return conn, close, True


def _advance_sequences(conn: Connection) -> None:
    """Rows were written with explicit ids: move PostgreSQL's serial sequences past them."""
    for table in TABLES.values():
        for col in table.columns:
            if col.auto_increment:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                    f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"
                )


def build_demo_erp(
    url_or_connection: Any,
    *,
    customers: int = 400,
    years: int = 3,
    seed: int = 42,
    today: date | None = None,
) -> dict[str, int]:
    """Create the Dolibarr tables at `url_or_connection` and fill them; return rows per table.

    `url_or_connection` is a SQLAlchemy URL, a path to an SQLite file, an Engine or a
    Connection (whose open transaction is left for the caller to commit).  Existing
    demo tables are dropped first.  The result is the same for the same `customers`,
    `years`, `seed` and `today`; `today` defaults to the current date.  The history
    covers `years` up to the end of the day before `today`; only deadlines (a
    proposal's validity, an invoice's due date) may lie later.
    """
    today = today or date.today()
    conn, close, commit = _open(url_or_connection)
    try:
        dialect = dialect_of(conn)
        if dialect == "mysql":
            # Dolibarr's dictionaries have rows with id 0 (TE_UNKNOWN) in AUTO_INCREMENT columns
            conn.exec_driver_sql("SET @erp_crm_sql_mode = @@SESSION.sql_mode")
            conn.exec_driver_sql(
                "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_AUTO_VALUE_ON_ZERO')"
            )
        create_schema(conn, drop=True)
        # The history closes at the end of yesterday: no timestamp can be later than the
        # moment the demo is built, so an incremental sync after a change today sees it.
        gen = _Generator(conn, customers, years, seed, today - timedelta(days=1))
        counts = gen.run()
        if dialect == "mysql":
            conn.exec_driver_sql("SET SESSION sql_mode = @erp_crm_sql_mode")
        elif dialect == "postgresql":
            _advance_sequences(conn)
        if commit:
            conn.commit()
        return counts
    except BaseException:
        if commit:
            conn.rollback()
        raise
    finally:
        close()
