"""Who the demo company deals with: partner records, and the habits that no ERP records.

Each `Customer` pairs the `Partner` an ERP keeps (name, address, identifiers, terms)
with how it behaves (buying rhythm, trend, taste, how it pays, when it stops buying):
the simulation acts on the habits, a writer only ever sees the partner.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from erp_crm.demo import hungarian as hu
from erp_crm.demo.catalog import INDUSTRY_TASTE, ITEMS, PRIVATE_TASTE, SUBSCRIPTIONS, Item
from erp_crm.demo.clock import Clock, business_day, season_start
from erp_crm.demo.records import Contact, Partner, PartnerKind, PartnerType, PaymentMode, Potential, User
from erp_crm.demo.staff import Staff

COMPANY, PERSON, GOVERNMENT = PartnerKind.COMPANY, PartnerKind.PERSON, PartnerKind.GOVERNMENT

FOREIGN_PLACES = (
    ("AT", "Wien", ("1010", "1030", "1100", "1120"), ("Mariahilfer Straße", "Landstraßer Hauptstraße", "Favoritenstraße"), "de_AT"),
    ("AT", "Graz", ("8010", "8020"), ("Annenstraße", "Herrengasse"), "de_AT"),
    ("DE", "München", ("80331", "80335", "81369"), ("Leopoldstraße", "Landsberger Straße"), "de_DE"),
)


@dataclass(eq=False, slots=True)
class Customer:
    """A partner and its habits (prospects and suppliers too: their habits are to buy little or nothing)."""

    partner: Partner
    person: hu.Person | None = None  # a private customer
    domain: str | None = None  # of a business's web site and e-mail addresses
    rhythm: str = "occasional"  # weekly | monthly | quarterly | seasonal | occasional | one_time | prospect | none
    trend: str = "steady"  # steady | growing | shrinking
    seasons: tuple[int, ...] = ()  # months of a seasonal buyer
    first: date = date(2000, 1, 1)  # first buying occasion
    stop: date | None = None  # stops buying after this day
    size: float = 1.0  # scales quantities
    taste: dict[str, float] = field(default_factory=dict)  # category weights
    favourites: list[Item] = field(default_factory=list)
    subscriptions: list[Item] = field(default_factory=list)
    rep: User | None = None  # the salesperson whose portfolio it is in
    payer: str = "prompt"  # prompt | late | partial | bad | immediate
    settle_day: int | None = None  # pays everything open on this day of the month
    vat_exempt: bool = False  # an EU business: reverse charge
    occasions: int = 0
    quotes_refused: int = 0
    refuse_first: bool = False  # a prospect first, who refused a quote before buying


class PartnerMaker:
    """Makes the partners and their contacts; keeps names unique across all of them."""

    def __init__(self, rng: random.Random, clock: Clock, staff: Staff) -> None:
        self.rng = rng
        self.clock = clock
        self.staff = staff
        self.taken_names: set[str] = set()

    def partners(self, customers: int) -> list[Customer]:
        """`customers` customers, 1 prospect in 20 and a few suppliers, in the order they were created."""
        rng = self.rng
        out: list[Customer] = []
        for _ in range(customers):
            roll = rng.random()
            kind = PERSON if roll < 0.36 else (GOVERNMENT if roll < 0.375 else COMPANY)
            out.append(self._customer(kind))
        for _ in range(max(3, customers // 20)):
            out.append(self._prospect())
        for _ in range(max(2, customers // 80)):
            out.append(self._supplier())
        out.sort(key=lambda c: c.partner.created)
        return out

    def register(self, c: Customer, number: int) -> None:
        """Complete the partner record as it is handed over: its id and what is decided last."""
        p, rng = c.partner, self.rng
        p.id = number
        if p.customer and rng.random() < 0.03:
            p.supplier = True
        if p.prospect and not p.customer:
            p.potential = rng.choice((Potential.LOW, Potential.MEDIUM, Potential.HIGH))
        p.created_by = c.rep.on(p.created.date()) if c.rep else self.staff.clerk
        p.account_manager = c.rep.on(self.clock.today) if c.rep else None

    def contacts(self, c: Customer) -> list[Contact]:
        """A private customer's own record, or a business's 1-3 people (and now and then one who left)."""
        rng, p = self.rng, c.partner
        if p.kind is PERSON:
            assert c.person is not None
            birthday = date(c.person.birth_year, rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.4 else None
            return [self._contact(c, c.person, None, p.email, p.mobile, p.created, birthday=birthday)]
        count = 1 if p.country != "HU" else rng.choices((1, 2, 3), weights=(55, 33, 12))[0]
        out = []
        for i in range(count):
            who = hu.person(rng, min_age=23, max_age=64, year=self.clock.start.year)
            job = hu.JOB_TITLES[0] if i == 0 and p.kind is COMPANY else rng.choice(hu.JOB_TITLES[1:])
            if p.kind is GOVERNMENT:
                job = rng.choice(("jegyző", "gazdasági vezető", "informatikus", "titkárság"))
            email = hu.work_email(who, c.domain or "example.hu") if rng.random() < 0.85 else None
            mobile = hu.mobile(rng) if rng.random() < 0.6 else None
            out.append(self._contact(c, who, job, email, mobile, p.created + timedelta(minutes=rng.randint(1, 600))))
        if rng.random() < 0.06:  # somebody left the company; the record stays, inactive
            who = hu.person(rng, min_age=23, max_age=64, year=self.clock.start.year)
            out.append(self._contact(c, who, rng.choice(hu.JOB_TITLES[1:]), None, None, p.created, active=False))
        return out

    def _contact(self, c: Customer, who: hu.Person, job: str | None, email: str | None, mobile: str | None,
                 created: datetime, *, birthday: date | None = None, active: bool = True) -> Contact:
        p = c.partner
        home = p.kind is PERSON
        return Contact(
            p, who, job, email, mobile, phone=None if home else p.phone,
            address=p.address if home else None, zip=p.zip if home else None, city=p.city if home else None,
            created=min(created, datetime.combine(self.clock.today, time(12, 0))),
            created_by=c.rep or self.staff.clerk, birthday=birthday, active=active,
        )

    def _place(self, p: Partner, *, company: bool) -> hu.City:
        city = hu.pick_city(self.rng)
        p.city, p.zip = city.name, hu.zip_code(self.rng, city)
        p.address = hu.street_address(self.rng, company=company)
        return city

    def _customer(self, kind: PartnerKind) -> Customer:
        rng, clock = self.rng, self.clock
        p = Partner(kind)
        c = Customer(p)
        if kind is PERSON:
            who = hu.person(rng, year=clock.start.year)
            c.person, p.name, p.type = who, who.display, PartnerType.PRIVATE_PERSON
            self._place(p, company=False)
            p.mobile = hu.mobile(rng) if rng.random() < 0.75 else None
            p.phone = p.mobile if p.mobile and rng.random() < 0.3 else None
            p.email = hu.private_email(rng, who) if rng.random() < 0.85 else None
            c.rhythm = rng.choices(("one_time", "occasional", "seasonal", "monthly"), weights=(50, 33, 12, 5))[0]
            c.size = rng.lognormvariate(-0.3, 0.5)
            c.taste = dict(PRIVATE_TASTE)
            c.payer = "immediate"
            p.pay_mode = rng.choices((PaymentMode.CARD, PaymentMode.CASH, PaymentMode.TRANSFER), weights=(60, 25, 15))[0]
            p.term_days = 0
        else:
            if kind is GOVERNMENT:
                self._government(c)
            elif rng.random() < 0.02:
                self._foreign_company(c)
            else:
                self._company(c)
            p.email = f"{rng.choice(('info', 'iroda', 'office', 'szamlazas'))}@{c.domain}"
            p.url = f"www.{c.domain}" if rng.random() < 0.7 else None
            c.rhythm = rng.choices(("weekly", "monthly", "quarterly", "seasonal", "occasional", "one_time"),
                                   weights=(6, 26, 20, 9, 26, 13))[0]
            c.taste = dict(INDUSTRY_TASTE.get(p.industry or "", PRIVATE_TASTE))
            if kind is not GOVERNMENT:
                c.payer = rng.choices(("prompt", "late", "partial", "bad"), weights=(68, 22, 7, 3))[0]
            p.pay_mode = PaymentMode.TRANSFER
            p.term_days = rng.choice((8, 15, 15, 30, 30, 30)) if kind is not GOVERNMENT else 30
            if rng.random() < 0.25:
                c.settle_day = rng.choice((5, 10, 15, 20))
            p.discount = rng.choice((0, 0, 0, 0, 3, 5, 5, 10)) if c.size > 1.2 else 0.0
            if c.rhythm in ("monthly", "weekly") and rng.random() < 0.45:
                c.subscriptions = [next(i for i in ITEMS if i.ref == r) for r in rng.sample(SUBSCRIPTIONS, rng.randint(1, 2))]
                if rng.random() < 0.5:
                    p.pay_mode = PaymentMode.DIRECT_DEBIT
            p.credit_limit = float(rng.choice((500_000, 1_000_000, 2_000_000, 5_000_000))) if rng.random() < 0.3 else None
        c.trend = rng.choices(("steady", "growing", "shrinking"), weights=(70, 15, 15))[0]
        if c.rhythm == "seasonal":
            c.seasons = rng.choice(((8, 9), (11, 12), (1, 2), (3, 4, 5)))
        # when they became a customer: half were already buying at the start of the history
        if rng.random() < 0.5:
            c.first = clock.start + timedelta(days=rng.randint(0, 45))
            p.created = clock.at(clock.start - timedelta(days=rng.randint(60, 2500)))
        else:
            c.first = clock.start + timedelta(days=rng.randint(30, clock.span_days - 5))
            p.created = clock.at(c.first - timedelta(days=rng.randint(0, 20)))
        if c.seasons and c.first.month not in c.seasons:
            c.first = season_start(c.first, c.seasons, rng)
        if kind is not PERSON:
            c.first = business_day(c.first)
        # some companies were prospects first: a refused proposal before the first order
        if kind is COMPANY and c.first > clock.start + timedelta(days=60) and rng.random() < 0.15:
            p.prospect, c.refuse_first = True, True
        # a good share of repeat customers stop buying at some point
        if c.rhythm != "one_time" and rng.random() < 0.27:
            lo = max(c.first, clock.start + timedelta(days=int(clock.span_days * 0.2)))
            hi = clock.start + timedelta(days=int(clock.span_days * 0.85))
            if lo < hi:
                c.stop = lo + timedelta(days=rng.randint(0, (hi - lo).days))
        c.favourites = self._favourites(c)
        p.modified = p.created
        if rng.random() < 0.3:
            p.modified = min(p.created + timedelta(days=rng.randint(1, 900)),
                             datetime.combine(clock.today, time(12, 0)))
        p.modified = max(p.modified, p.created)
        c.rep = rng.choice(self.staff.salespeople) if kind is not PERSON or rng.random() < 0.1 else None
        return c

    def _government(self, c: Customer) -> None:
        """A town's council or one of its institutions: late payers, or prompt ones, never bad."""
        rng, p = self.rng, c.partner
        city = hu.pick_city(rng)
        while city is hu.BUDAPEST:
            city = hu.pick_city(rng)
        p.city, p.zip = city.name, hu.zip_code(rng, city)
        p.address = f"{rng.choice(('Szabadság tér', 'Fő tér', 'Városház tér', 'Kossuth Lajos tér'))} {rng.randint(1, 12)}."
        institutions = ("Város Önkormányzata", "Városi Könyvtár", "Városi Sportközpont",
                        "Városi Múzeum", "Városi Egészségügyi Központ")
        names = [f"{city.name} {i}" for i in institutions] + [f"{city.name} Városi Intézmény {n}" for n in range(2, 99)]
        p.name = next(name for name in names if name not in self.taken_names)
        self.taken_names.add(p.name)
        first7 = "15" + "".join(str(rng.randint(0, 9)) for _ in range(5))
        base = first7 + str(hu.tax_check_digit(first7))
        p.tax, p.eu_vat, p.registration = f"{base}-2-{city.county if city.county != '01' else '41'}", None, None
        p.type, p.headcount_band, p.industry = PartnerType.GOVERNMENT, 4, "Közigazgatás"
        c.domain = hu.slug(city.name) + ".hu"
        p.phone = hu.landline(rng, city)
        c.size = rng.lognormvariate(0.6, 0.4)
        c.payer = "late" if rng.random() < 0.5 else "prompt"

    def _foreign_company(self, c: Customer) -> None:
        """An Austrian or German reseller: intra-community supply, so no Hungarian VAT."""
        rng, p = self.rng, c.partner
        country, town, zips, streets, lang = rng.choice(FOREIGN_PLACES)
        p.country, p.lang, p.city, p.zip = country, lang, town, rng.choice(zips)
        p.address = f"{rng.choice(streets)} {rng.randint(1, 90)}"
        family = rng.choice(("Huber", "Gruber", "Bauer", "Wagner", "Müller", "Schmid", "Weber"))
        p.name = f"{family} {rng.choice(('Bürotechnik', 'IT-Service', 'Handels'))} GmbH"
        while p.name in self.taken_names:
            p.name = p.name.replace(" GmbH", " & Co GmbH")
        self.taken_names.add(p.name)
        austrian = country == "AT"
        digits = "".join(str(rng.randint(0, 9)) for _ in range(8 if austrian else 9))
        p.tax = p.eu_vat = ("ATU" if austrian else "DE") + digits
        p.registration = f"FN {rng.randint(100000, 599999)} {rng.choice('abdfimptvwx')}" if austrian else f"HRB {rng.randint(10000, 259999)}"
        p.type, p.headcount_band, p.industry = PartnerType.SMALL_COMPANY, rng.randint(2, 4), "Kereskedelem"
        c.domain = hu.slug(family + p.name.split()[1]) + (".at" if austrian else ".de")
        p.phone = f"+{'43' if austrian else '49'} {rng.randint(1, 89)} {rng.randint(100000, 9999999)}"
        c.size = rng.lognormvariate(0.4, 0.5)
        c.vat_exempt = True

    def _company(self, c: Customer) -> None:
        """A Hungarian business; its legal form says how big it is and how much it buys."""
        rng, p = self.rng, c.partner
        city = self._place(p, company=True)
        co = hu.company(rng, city, self.taken_names)
        p.name, p.tax, p.registration, p.industry, c.domain = co.name, co.tax_number, co.registration_number, co.industry, co.domain
        p.eu_vat = co.eu_vat_number if rng.random() < 0.35 else None
        p.phone = hu.landline(rng, city)
        p.mobile = hu.mobile(rng) if rng.random() < 0.4 else None
        if co.form in ("Zrt.", "Nyrt."):
            p.type, p.headcount_band = PartnerType.LARGE_COMPANY, rng.randint(4, 6)
            c.size = rng.lognormvariate(1.0, 0.5)
        elif co.form == "Bt.":
            p.type, p.headcount_band = PartnerType.SMALL_COMPANY, rng.randint(1, 2)
            c.size = rng.lognormvariate(-0.4, 0.4)
        else:
            big = rng.random() < 0.25
            if big:
                p.type, p.headcount_band = PartnerType.MEDIUM_COMPANY, rng.randint(3, 5)
            else:
                p.type, p.headcount_band = PartnerType.SMALL_COMPANY, rng.randint(1, 3)
            c.size = rng.lognormvariate(0.4 if big else 0.0, 0.5)
        if p.industry == "Kereskedelem" and rng.random() < 0.3:
            p.type = PartnerType.RESELLER

    def _favourites(self, c: Customer) -> list[Item]:
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

    def _prospect(self) -> Customer:
        """A company the salespeople court, which never orders during the history."""
        c = self._customer(COMPANY)
        p = c.partner
        p.customer, p.prospect = False, True
        c.rhythm = "prospect"
        c.stop = None
        c.first = business_day(self.clock.start + timedelta(days=self.rng.randint(10, self.clock.span_days - 3)))
        p.created = self.clock.at(c.first - timedelta(days=self.rng.randint(0, 30)))
        p.modified = p.created
        c.rep = self.rng.choice(self.staff.salespeople)
        return c

    def _supplier(self) -> Customer:
        rng = self.rng
        p = Partner(COMPANY, customer=False, supplier=True)
        c = Customer(p, rhythm="none")
        city = self._place(p, company=True)
        co = hu.company(rng, city, self.taken_names)
        p.name, p.tax, p.registration, p.industry, c.domain = co.name, co.tax_number, co.registration_number, "Kereskedelem", co.domain
        p.eu_vat = co.eu_vat_number
        p.type, p.headcount_band = PartnerType.MEDIUM_COMPANY, rng.randint(3, 5)
        p.phone, p.email, p.url = hu.landline(rng, city), f"info@{co.domain}", f"www.{co.domain}"
        p.created = self.clock.at(self.clock.start - timedelta(days=rng.randint(100, 2000)))
        p.modified = p.created
        return c
