"""The demo company's history: a few years of a Hungarian office and IT supplier's trading.

Salespeople, companies and private customers, prospects, products and services;
proposals of which some are signed and become orders and invoices, direct orders,
invoices and credit notes, payments (on time, late, partial, missing) and tickets.
Customers buy to different rhythms (weekly, monthly, quarterly, seasonal, occasional,
once; growing, steady or shrinking) and a good share of them stop buying at some point.
None of this is stated in the records: it is only visible in the history, as it would
be in a real ERP.

The simulation knows no ERP.  It hands plain records (:mod:`erp_crm.demo.records`) to a
`DemoErpWriter` in the order they happen; the writer lays them out.  Everything is drawn
from one ``random.Random(seed)`` and the explicit ``today``, so the same arguments give
the same history.  Documents are simulated in date order and handed over as their
moment passes: memory holds the customers' profiles and the documents still in flight
(a few months), not the history.
"""

from __future__ import annotations

import heapq
import itertools
import random
import string
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TypeAlias

from erp_crm.demo.catalog import INDUSTRY_TASTE, ITEMS, SEASON_BOOST, SERVICE, SUBSCRIPTIONS, Item
from erp_crm.demo.clock import Clock, business_day, season_start
from erp_crm.demo.customers import Customer, PartnerMaker
from erp_crm.demo.money import forints, list_price
from erp_crm.demo.records import (
    Category,
    CategoryKind,
    Invoice,
    InvoiceState,
    Line,
    Order,
    OrderState,
    PartnerKind,
    PartnerType,
    Payment,
    PaymentMode,
    Product,
    Quote,
    QuoteState,
    Severity,
    Ticket,
    TicketKind,
    TicketState,
    User,
)
from erp_crm.demo.staff import hire_staff
from erp_crm.demo.writer import DemoErpWriter

PERSON = PartnerKind.PERSON

QUOTE_NOTE = "Az ajánlat 30 napig érvényes."
REVERSE_CHARGE_NOTE = "Közösségen belüli termékértékesítés, az Áfa tv. 89. §-a alapján adómentes. Fordított adózás."
BANKS = ("OTP", "K&H", "MBH", "Erste", "Raiffeisen", "UniCredit")
_ORDERS_BY_PO = (PartnerType.LARGE_COMPANY, PartnerType.GOVERNMENT)  # their orders carry a purchase order number

COMPLAINTS = (
    ("Hibás termék érkezett", "A {ref} számlán szereplő termék sérülten érkezett, kérjük a cseréjét vagy jóváírását."),
    ("Késedelmes szállítás", "A {ref} számlához tartozó szállítás a megbeszéltnél később érkezett."),
    ("Számlázási hiba", "A {ref} számlán a mennyiség nem egyezik a megrendeléssel."),
    ("Hiányzó tétel", "A {ref} számlán szereplő egyik tétel nem volt a csomagban."),
    ("Garanciális hiba", "A {ref} számlán vásárolt eszköz két hét után meghibásodott."),
)
QUESTIONS = (
    (TicketKind.QUESTION, "Árajánlatot kérnénk", "Kérjük, küldjenek árajánlatot irodai eszközök beszerzésére."),
    (TicketKind.QUESTION, "Mennyiségi kedvezmény", "Van lehetőség mennyiségi kedvezményre nagyobb rendelésnél?"),
    (TicketKind.HELP, "Nyomtató beállítása", "Nem sikerül hálózati nyomtatóként beállítani az új készüléket."),
    (TicketKind.HELP, "VPN-kapcsolat", "Otthonról nem csatlakozik a VPN, segítséget kérünk."),
    (TicketKind.REQUEST, "Szerződés módosítása", "Szeretnénk a támogatási szerződést két további gépre bővíteni."),
    (TicketKind.REQUEST, "Számlázási cím változása", "Kérjük, a jövőben az új székhelyünkre állítsák ki a számlákat."),
    (TicketKind.OTHER, "Szállítási időpont egyeztetése", "A jövő heti szállítást délelőttre kérnénk."),
)

Event: TypeAlias = Quote | Order | Invoice | Payment | Ticket
# which of the records of one moment is handed over first: a payment after the invoice it pays
_SAME_MOMENT_ORDER: dict[type, int] = {Quote: 0, Order: 1, Invoice: 2, Payment: 3, Ticket: 4}


def simulate(writer: DemoErpWriter, *, customers: int, years: int, seed: int, today: date) -> dict[str, int]:
    """Hand `years` of history up to the end of `today` to `writer`; return what `writer.finish()` returns."""
    return _Simulation(writer, customers, years, seed, today).run()


class _Simulation:
    """One run: the generator every draw comes from, the people, and the documents in flight."""

    def __init__(self, writer: DemoErpWriter, customers: int, years: int, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        if years < 1:
            raise ValueError("years must be at least 1")
        if customers < 1:
            raise ValueError("customers must be at least 1")
        try:
            start = today.replace(year=today.year - years)
        except ValueError:  # 29 February
            start = today.replace(year=today.year - years, day=28)
        self.clock = Clock(start, today, self.rng)
        self.today = today
        self.n_customers = customers
        self.writer = writer
        self.staff = hire_staff(self.rng, self.clock, customers)
        self.clerk = self.staff.clerk
        self.partner_maker = PartnerMaker(self.rng, self.clock, self.staff)
        self.ids: Counter[type] = Counter()
        self.pending: list[tuple[datetime, int, int, Event]] = []  # documents waiting for their moment
        self.seq = itertools.count()
        self.open_payments: dict[tuple[int, date], Payment] = {}  # settlements still taking invoices
        self.track_ids: set[str] = set()
        self.last_invoice: dict[int, Invoice] = {}  # per partner id: what a complaint is about

    def run(self) -> dict[str, int]:
        for user in self.staff.everyone:
            self.writer.user(user)
        self.catalogue()
        customers = self.partners()
        self.history(customers)
        return self.writer.finish()

    # ------------------------------------------------------------------ the company
    def catalogue(self) -> None:
        clock, rng, admin = self.clock, self.rng, self.staff.administrator
        set_up = clock.at(clock.start - timedelta(days=400))
        for label in dict.fromkeys(i.category for i in ITEMS):
            self.writer.category(Category(label, CategoryKind.PRODUCT, set_up, admin))
        for label in INDUSTRY_TASTE:
            self.writer.category(Category(label, CategoryKind.PARTNER, set_up, admin))
        for item in ITEMS:
            intro = clock.start + timedelta(days=int(clock.span_days * item.introduced))
            created = clock.at(intro - timedelta(days=rng.randint(5, 30)) if item.introduced else clock.start - timedelta(days=rng.randint(200, 900)))
            # last yearly price update, never in the future
            last_update = date(self.today.year, 1, rng.randint(2, 10))
            if last_update > self.today or last_update < created.date():
                last_update = created.date()
            modified = clock.at(last_update)
            stock = None if item.type == SERVICE else float(rng.randint(0, 60))
            price = list_price(item.price, clock.years_passed(self.today))
            self.writer.product(Product(item, created, modified, price, item.withdrawn > 1.0, stock, admin))

    def partners(self) -> list[Customer]:
        customers = self.partner_maker.partners(self.n_customers)
        for number, c in enumerate(customers, start=1):
            self.partner_maker.register(c, number)
            self.writer.partner(c.partner)
            for contact in self.partner_maker.contacts(c):
                self.writer.contact(contact)
        return customers

    def sellable(self, d: date) -> list[Item]:
        p = self.clock.progress(d)
        return [i for i in ITEMS if i.introduced <= p < i.withdrawn]

    def handler(self, c: Customer, d: date) -> User:
        """Who deals with `c` on day `d`: its salesperson's successor by then, or the office."""
        return c.rep.on(d) if c.rep else self.clerk

    # ------------------------------------------------------------------ handing over in date order
    def schedule(self, event: Event) -> None:
        if event.when.date() > self.today:
            return  # has not happened yet
        heapq.heappush(self.pending, (event.when, _SAME_MOMENT_ORDER[type(event)], next(self.seq), event))

    def hand_over_until(self, moment: datetime | None) -> None:
        """Hand the writer every document whose moment is before `moment` (None: all)."""
        while self.pending and (moment is None or self.pending[0][0] < moment):
            event = heapq.heappop(self.pending)[3]
            if isinstance(event, Quote):
                event.id = self.next_id(Quote)
                self.writer.quote(event)
            elif isinstance(event, Order):
                event.id = self.next_id(Order)
                self.writer.order(event)
            elif isinstance(event, Invoice):
                self.hand_over_invoice(event)
            elif isinstance(event, Payment):
                self.hand_over_payment(event)
            else:
                self.hand_over_ticket(event)

    def next_id(self, kind: type) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def hand_over_invoice(self, inv: Invoice) -> None:
        inv.id = self.next_id(Invoice)
        inv.number = self.writer.invoice(inv)
        if not inv.is_credit_note and inv.state is not InvoiceState.DRAFT:
            self.last_invoice[inv.partner.id] = inv

    def hand_over_payment(self, p: Payment) -> None:
        p.id = self.next_id(Payment)
        d = p.when.date()
        if p.mode is PaymentMode.TRANSFER:
            p.bank_reference = f"{self.rng.choice(BANKS)} {self.rng.randint(10**7, 10**8 - 1)}"
        p.reconciled = (self.today - d).days > 60
        self.writer.payment(p)
        self.open_payments.pop((p.partner.id, d), None)

    def hand_over_ticket(self, t: Ticket) -> None:
        t.id = self.next_id(Ticket)
        track = "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=16))
        while track in self.track_ids:
            track = "".join(self.rng.choices(string.ascii_lowercase + string.digits, k=16))
        self.track_ids.add(track)
        t.tracking_id = track
        t.read = self.clock.later(t.when, (10, 600)) if t.state is not TicketState.NEW else None
        self.writer.ticket(t)

    # ------------------------------------------------------------------ the history
    def history(self, customers: list[Customer]) -> None:
        heap = [(c.first, c.partner.id, c) for c in customers if c.partner.customer or c.partner.prospect]
        heapq.heapify(heap)
        end = self.today
        while heap:
            d, _, c = heapq.heappop(heap)
            if d > end:
                continue
            self.hand_over_until(datetime.combine(d, time.min))
            self.occasion(c, d)
            nxt = self.next_occasion(c, d)
            if nxt is not None and nxt <= end:
                heapq.heappush(heap, (nxt, c.partner.id, c))
        self.hand_over_until(None)

    def next_occasion(self, c: Customer, d: date) -> date | None:
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
                nd = season_start(nd, c.seasons, rng)
            gap = (nd - d).days
        else:  # occasional
            gap = 10 + round(rng.expovariate(1 / 110.0))
        if c.rhythm in ("weekly", "monthly", "quarterly", "occasional") and c.trend != "steady":
            p = clock.progress(d)
            factor = 1.5 - 0.9 * p if c.trend == "growing" else 0.7 + 1.1 * p
            gap = max(3, round(gap * factor))
        nxt = d + timedelta(days=gap)
        if c.partner.kind is not PERSON:
            nxt = business_day(nxt)
        elif nxt.weekday() == 6:
            nxt += timedelta(days=1)
        if c.stop is not None and nxt > c.stop:
            return None
        return nxt

    def amount_factor(self, c: Customer, d: date) -> float:
        if c.trend == "steady":
            return c.size
        p = self.clock.progress(d)
        return c.size * ((0.5 + 1.5 * p) if c.trend == "growing" else (1.8 - 1.4 * p))

    def basket(self, c: Customer, d: date, *, big: bool = False) -> list[Line]:
        rng = self.rng
        available = self.sellable(d)
        boost = SEASON_BOOST.get(d.month, {})
        lines: list[Line] = []
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
        person = c.partner.kind is PERSON
        for item in chosen:
            lo, hi = item.unit_qty
            if person:
                qty = 1 if hi <= 3 else rng.randint(1, max(1, min(3, hi)))
            else:
                qty = max(lo, min(hi * 3, round(rng.uniform(lo, hi) * factor * (1.6 if big else 1.0))))
            lines.append(self.line(c, item, float(qty), years))
        return lines

    def line(self, c: Customer, item: Item, qty: float, years: float) -> Line:
        vat = 0.0 if c.vat_exempt else item.vat
        return Line(item, qty, list_price(item.price, years), vat, c.partner.discount if c.partner.kind is not PERSON else 0.0)

    # ------------------------------------------------------------------ one buying occasion
    def occasion(self, c: Customer, d: date) -> None:
        rng, clock, partner = self.rng, self.clock, c.partner
        author = self.handler(c, d)
        if c.rhythm == "prospect":
            self.quote_flow(c, d, author, can_sign=False)
            return
        if partner.kind is PERSON:
            lines = self.basket(c, d)
            if not lines:
                return
            when = clock.at(d, 9, 19)
            if rng.random() < 0.2:  # ordered in the web shop, invoiced when shipped
                order = Order(when, partner, lines, author, customer_ref=None)
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
                order = Order(when, partner, lines, author,
                              customer_ref=f"PO-{d.year}-{rng.randint(1, 9999):04d}" if partner.type in _ORDERS_BY_PO and rng.random() < 0.6 else None)
                self.order_flow(c, order)
            else:
                self.invoice(c, d, lines, author)
        self.maybe_ticket(c, d)

    def quote_flow(self, c: Customer, d: date, author: User, *, can_sign: bool) -> None:
        rng, clock, partner = self.rng, self.clock, c.partner
        lines = self.basket(c, d, big=True)
        if not lines:
            return
        when = clock.at(d)
        q = Quote(when, partner, lines, author, valid_until=d + timedelta(days=30), note=QUOTE_NOTE)
        roll = rng.random()
        p_sign = 0.6 if c.quotes_refused == 0 else 0.7
        decision_day = business_day(d + timedelta(days=rng.randint(2, 25)))
        if can_sign and roll < p_sign:
            if decision_day > self.today:
                q.state = QuoteState.SENT
            else:
                q.state, q.decided = QuoteState.SIGNED, clock.at(decision_day)
                order = Order(clock.later(q.decided), partner, [*lines], author, quote=q,
                              customer_ref=f"PO-{decision_day.year}-{rng.randint(1, 9999):04d}" if partner.type in _ORDERS_BY_PO else None)
                self.order_flow(c, order)
                if order.billed:
                    q.state = QuoteState.BILLED
        elif roll < p_sign + 0.3 or not can_sign:
            if decision_day <= self.today and rng.random() < (0.75 if can_sign else 0.6):
                q.state, q.decided = QuoteState.REFUSED, clock.at(decision_day)
                c.quotes_refused += 1
            else:
                q.state = QuoteState.SENT  # no answer; it simply expires
        else:
            q.state = QuoteState.SENT
        if q.state is QuoteState.SENT and (self.today - d).days < 10 and rng.random() < 0.3:
            q.state = QuoteState.DRAFT  # still being written
        self.schedule(q)

    def order_flow(self, c: Customer, order: Order) -> None:
        rng = self.rng
        d = order.when.date()
        if rng.random() < 0.03:
            order.state, order.closed = OrderState.CANCELLED, self.clock.later(order.when, (60, 60 * 24 * 5))
            self.schedule(order)
            return
        lead = rng.choice((0, 1, 2, 3, 5, 7, 10, 14)) if any(ln.item.type != SERVICE for ln in order.lines) else rng.randint(0, 20)
        inv_day = business_day(d + timedelta(days=lead))
        inv = self.invoice(c, inv_day, [*order.lines], order.author, order=order)
        self.finish_order(order, inv)
        self.schedule(order)

    def finish_order(self, order: Order, inv: Invoice | None) -> None:
        rng = self.rng
        if inv is not None and inv.state is not InvoiceState.DRAFT:
            order.state, order.billed, order.closed = OrderState.CLOSED, True, inv.when
        else:
            order.state = rng.choice((OrderState.CONFIRMED, OrderState.CONFIRMED, OrderState.IN_PROGRESS))
            if (self.today - order.when.date()).days < 5 and rng.random() < 0.25:
                order.state = OrderState.DRAFT

    # ------------------------------------------------------------------ invoices, payments
    def invoice(self, c: Customer, d: date, lines: list[Line], author: User,
                *, order: Order | None = None) -> Invoice | None:
        rng, clock, partner = self.rng, self.clock, c.partner
        if d > self.today:
            return None
        when = clock.at(d, 8, 18)
        if order is not None and when < order.when:
            when = clock.later(order.when)
        inv = Invoice(when, partner, lines, author, order=order, due=d + timedelta(days=partner.term_days),
                      on_receipt=partner.term_days == 0, mode=partner.pay_mode,
                      note=REVERSE_CHARGE_NOTE if c.vat_exempt else None)
        if (self.today - d).days <= 3 and rng.random() < 0.1:
            inv.state = InvoiceState.DRAFT  # not yet validated
            self.schedule(inv)
            return inv
        self.plan_payment(c, inv)
        self.schedule(inv)
        self.maybe_credit_note(c, inv)
        return inv

    def close(self, inv: Invoice, state: InvoiceState, when: datetime) -> None:
        """Paid or written off: the clerk closes the invoice."""
        inv.state, inv.closed, inv.closed_by = state, when, self.clerk

    def plan_payment(self, c: Customer, inv: Invoice) -> None:
        rng = self.rng
        total = inv.total
        d = inv.when.date()
        lapsing_soon = c.stop is not None and (c.stop - d).days < 60
        if c.payer == "immediate":
            pay_day = d if inv.mode in (PaymentMode.CARD, PaymentMode.CASH) else d + timedelta(days=rng.randint(0, 6))
            self.pay(c, inv, pay_day, total)
            return
        if (c.payer == "bad" and rng.random() < 0.4) or (lapsing_soon and rng.random() < 0.25):
            if (self.today - inv.due).days > 365 and rng.random() < 0.5:
                self.close(inv, InvoiceState.WRITTEN_OFF, self.clock.at(inv.due + timedelta(days=rng.randint(200, 360))))
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
            pay_day = pay_day.replace(day=c.settle_day) if pay_day.day <= c.settle_day else nd.replace(day=c.settle_day)
        pay_day = business_day(pay_day)
        if c.payer == "partial" and rng.random() < 0.5 and total > 10_000:
            first = forints(total * rng.choice((0.3, 0.5, 0.6)))
            self.pay(c, inv, pay_day, first)
            self.pay(c, inv, business_day(pay_day + timedelta(days=rng.randint(10, 45))), total - first, merge=False)
        else:
            self.pay(c, inv, pay_day, total)

    def pay(self, c: Customer, inv: Invoice, day: date, amount: int, *, merge: bool = True) -> None:
        """Pay `amount` of `inv` on `day`; a customer with a settlement day pays all that is due in one payment."""
        if day > self.today:
            return
        key = (c.partner.id, day)
        settles = merge and c.settle_day is not None
        p = self.open_payments.get(key) if settles else None
        if p is None:
            when = self.clock.at(day, 9, 16)
            if when < inv.when:
                when = self.clock.later(inv.when, (1, 120))
            p = Payment(when, c.partner, inv.mode, self.clerk)
            if settles:
                self.open_payments[key] = p
            self.schedule(p)
        elif p.when < inv.when:
            # a settlement cannot pay an invoice issued after it; pay separately
            p = Payment(self.clock.later(inv.when, (1, 120)), c.partner, inv.mode, self.clerk)
            self.schedule(p)
        p.parts.append((inv, amount))
        inv.paid += amount
        if inv.paid >= inv.total and inv.state is InvoiceState.OPEN:
            self.close(inv, InvoiceState.PAID, p.when)

    def maybe_credit_note(self, c: Customer, inv: Invoice, *, complaint: bool = False, after: date | None = None) -> None:
        """Now and then (more often after a complaint) a validated invoice is credited, wholly or in part."""
        rng, clock = self.rng, self.clock
        if not complaint and rng.random() > 0.03:
            return
        d = inv.when.date() + timedelta(days=rng.randint(3, 40))
        if after is not None:
            d = max(d, after + timedelta(days=rng.randint(1, 10)))
        d = business_day(d)
        if d > self.today:
            return
        if rng.random() < 0.4 or (len(inv.lines) == 1 and inv.lines[0].qty <= 1):
            lines = [ln.negated() for ln in inv.lines]
        else:
            ln = rng.choice(inv.lines)
            lines = [ln.negated(qty=max(1.0, float(int(ln.qty * rng.choice((0.25, 0.5, 1.0))))))]
        cn = Invoice(clock.at(d), c.partner, lines, inv.author, credited=inv, due=d, on_receipt=True,
                     mode=inv.mode, note=inv.note)
        self.close(cn, InvoiceState.PAID, clock.later(cn.when))  # converted into a discount, or refunded
        cn.paid = cn.total
        self.schedule(cn)
        if inv.state is InvoiceState.PAID and inv.closed is not None and rng.random() < 0.5:  # paid: money goes back
            base = max(cn.when, inv.closed)
            mode = PaymentMode.CASH if inv.mode is PaymentMode.CASH else PaymentMode.TRANSFER
            refund = Payment(clock.later(base, (60, 60 * 24 * 3)), c.partner, mode, self.clerk)
            refund.parts.append((cn, cn.total))
            if refund.when.date() <= self.today:
                cn.closed = refund.when
                self.schedule(refund)

    # ------------------------------------------------------------------ tickets
    def maybe_ticket(self, c: Customer, d: date) -> None:
        """Complaints about the last invoice (often before a customer lapses), questions and requests."""
        rng, clock = self.rng, self.clock
        roll = rng.random()
        lapsing = c.stop is not None and 0 <= (c.stop - d).days < 50
        p_complaint = 0.35 if lapsing else 0.02
        inv = self.last_invoice.get(c.partner.id)
        if roll < p_complaint and inv is not None:
            subject, text = rng.choice(COMPLAINTS)
            when = clock.at(business_day(max(inv.when.date() + timedelta(days=rng.randint(1, 10)), d)))
            if when.date() > self.today:
                return
            t = Ticket(when, c.partner, rng.choice((TicketKind.ISSUE, TicketKind.ISSUE, TicketKind.PROBLEM)), subject,
                       text.format(ref=inv.number), rng.choice((Severity.NORMAL, Severity.HIGH, Severity.HIGH, Severity.BLOCKING)),
                       self.handler(c, when.date()))
            self.close_ticket(t, quick=not lapsing)
            self.schedule(t)
            if rng.random() < 0.45:
                self.maybe_credit_note(c, inv, complaint=True, after=when.date())
        elif roll > 0.985 - (0.01 if c.partner.kind is not PERSON else 0):
            kind, subject, text = rng.choice(QUESTIONS)
            when = clock.at(d)
            t = Ticket(when, c.partner, kind, subject, text, rng.choice((Severity.LOW, Severity.NORMAL, Severity.NORMAL)),
                       self.handler(c, d))
            self.close_ticket(t, quick=True)
            self.schedule(t)

    def close_ticket(self, t: Ticket, *, quick: bool) -> None:
        rng = self.rng
        days = rng.randint(0, 5) if quick else rng.randint(3, 30)
        closed = self.clock.later(t.when, (30, 60 * 24 * max(days, 1)))
        if closed.date() >= self.today or rng.random() < 0.04:
            t.state = rng.choice((TicketState.NEW, TicketState.READ, TicketState.IN_PROGRESS,
                                  TicketState.WAITING, TicketState.ON_HOLD))
        else:
            t.state, t.closed = (TicketState.SOLVED if rng.random() < 0.9 else TicketState.CANCELLED), closed
