"""What the business simulation hands a writer: plain, typed records of the demo company.

The records speak the business's language (a quote is signed or refused, an invoice is
open, paid or written off, a payment is a transfer) and no ERP's: a writer maps them
onto its own tables, codes and numbering, so the simulation serves every layout.

Ids are the simulation's: each kind of record is numbered 1, 2, 3... in the order its
records are handed over, which is the order they happen.  A layout that numbers its
rows the same way uses them as they are; any other keeps its own keys beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, auto

from erp_crm.demo import hungarian as hu
from erp_crm.demo.catalog import SERVICE, Item
from erp_crm.demo.money import forints

# Records are compared by identity (eq=False): two invoices with the same lines are two
# invoices.  They have slots: thousands of documents are in flight at any time.


class PaymentMode(Enum):
    TRANSFER = auto()
    DIRECT_DEBIT = auto()
    CASH = auto()
    CARD = auto()


class PartnerKind(Enum):
    """How the simulation treats a partner: private persons buy at the counter, not by order."""

    COMPANY = auto()
    PERSON = auto()
    GOVERNMENT = auto()


class PartnerType(Enum):
    """The classification ERPs keep for a partner (size, public body, reseller, private)."""

    LARGE_COMPANY = auto()
    MEDIUM_COMPANY = auto()
    SMALL_COMPANY = auto()
    GOVERNMENT = auto()
    RESELLER = auto()
    PRIVATE_PERSON = auto()


class Potential(Enum):
    """How promising a prospect looks to the salesperson."""

    LOW = auto()
    MEDIUM = auto()
    HIGH = auto()


class CategoryKind(Enum):
    PRODUCT = auto()  # a group of the catalogue
    PARTNER = auto()  # a tag on customers (their industry)


class QuoteState(Enum):
    DRAFT = auto()
    SENT = auto()  # validated and sent, unanswered (or expired)
    SIGNED = auto()
    REFUSED = auto()
    BILLED = auto()  # signed, and the order it became is invoiced


class OrderState(Enum):
    CANCELLED = auto()
    DRAFT = auto()
    CONFIRMED = auto()
    IN_PROGRESS = auto()  # being delivered
    CLOSED = auto()  # delivered and invoiced


class InvoiceState(Enum):
    DRAFT = auto()
    OPEN = auto()  # validated, not (fully) paid
    PAID = auto()  # for a credit note: settled, as a discount or refunded
    WRITTEN_OFF = auto()  # abandoned as bad debt


class TicketKind(Enum):
    QUESTION = auto()  # a commercial question
    HELP = auto()
    ISSUE = auto()  # a complaint about goods or an invoice
    PROBLEM = auto()  # a complaint about a recurring fault
    REQUEST = auto()  # a change the customer asks for
    OTHER = auto()


class Severity(Enum):
    LOW = auto()
    NORMAL = auto()
    HIGH = auto()
    BLOCKING = auto()


class TicketState(Enum):
    NEW = auto()  # not read yet
    READ = auto()
    IN_PROGRESS = auto()
    WAITING = auto()  # for the customer
    ON_HOLD = auto()
    SOLVED = auto()
    CANCELLED = auto()  # closed without a solution


@dataclass(eq=False, slots=True)
class User:
    """A member of staff; `person` is None for the ERP's own administrator account."""

    id: int
    login: str
    person: hu.Person | None
    job: str
    start: date
    end: date | None = None
    successor: User | None = None  # takes the portfolio over after `end`
    # completed once everyone is hired
    created: datetime = datetime.min
    modified: datetime = datetime.min
    email: str = ""
    office_phone: str = ""
    mobile: str | None = None
    lang: str = "hu_HU"

    def on(self, d: date) -> User:
        """Who holds this portfolio on day `d` (a leaver hands over to a successor)."""
        if self.end is not None and d > self.end and self.successor is not None:
            return self.successor.on(d)
        return self


@dataclass(eq=False, slots=True)
class Partner:
    """A customer, prospect or supplier as the ERP knows it (its habits stay in the simulation)."""

    kind: PartnerKind = PartnerKind.COMPANY
    id: int = 0
    name: str = ""
    customer: bool = True
    prospect: bool = False  # with `customer`: a prospect who became a customer
    supplier: bool = False
    potential: Potential | None = None  # of a prospect that has not bought
    country: str = "HU"  # ISO 3166 code
    lang: str = "hu_HU"
    city: str = ""
    zip: str = ""
    address: str = ""
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    url: str | None = None
    tax: str | None = None  # Hungarian tax number (adószám), or a foreign VAT id
    eu_vat: str | None = None  # EU VAT number (közösségi adószám)
    registration: str | None = None  # company registration number (cégjegyzékszám)
    type: PartnerType = PartnerType.SMALL_COMPANY
    headcount_band: int = 0  # 0 unknown, 1 up to 5 people ... 6 over 500
    industry: str | None = None
    created: datetime = datetime(2000, 1, 1)
    modified: datetime = datetime(2000, 1, 1)
    credit_limit: float | None = None
    discount: float = 0.0  # percent, on every line
    pay_mode: PaymentMode = PaymentMode.TRANSFER
    term_days: int = 30  # 0: pays on receipt
    # known when the partner is handed over
    created_by: User | None = None
    account_manager: User | None = None  # today's holder of the portfolio


@dataclass(eq=False, slots=True)
class Contact:
    """A person at a partner; a private customer is their own contact, at their home address."""

    partner: Partner
    person: hu.Person
    job: str | None
    email: str | None
    mobile: str | None
    phone: str | None
    address: str | None
    zip: str | None
    city: str | None
    created: datetime
    created_by: User
    birthday: date | None = None
    active: bool = True


@dataclass(eq=False, slots=True)
class Category:
    label: str
    kind: CategoryKind
    created: datetime
    created_by: User


@dataclass(eq=False, slots=True)
class Product:
    """A catalogue item as it stands today."""

    item: Item
    created: datetime
    modified: datetime  # the last yearly price update
    price: int  # today's net list price
    on_sale: bool
    stock: float | None  # None for services
    created_by: User


def unit_cost(item: Item) -> int:
    """What the company pays for one unit: 72 % of the first list price; services are not bought in."""
    return forints(item.price * 0.72) if item.type != SERVICE else 0


@dataclass(eq=False, slots=True)
class Line:
    item: Item
    qty: float
    price: int  # net unit price (negative on credit notes)
    vat: float
    discount: float = 0.0

    @property
    def net(self) -> int:
        return forints(self.qty * self.price * (1 - self.discount / 100.0))

    @property
    def tax(self) -> int:
        return forints(self.net * self.vat / 100.0)

    def negated(self, qty: float | None = None) -> Line:
        """The line a credit note carries: the price negated, the quantity positive (all or part)."""
        return Line(self.item, self.qty if qty is None else qty, -self.price, self.vat, self.discount)


def totals(lines: list[Line]) -> tuple[int, int, int]:
    """Net, tax and gross of a document: each line rounded to the forint, then summed."""
    net = sum(ln.net for ln in lines)
    tax = sum(ln.tax for ln in lines)
    return net, tax, net + tax


@dataclass(eq=False, slots=True)
class Document:
    when: datetime
    partner: Partner
    lines: list[Line]
    author: User
    id: int = 0  # given when handed over


@dataclass(eq=False, slots=True)
class Quote(Document):
    valid_until: date = date(2000, 1, 1)
    state: QuoteState = QuoteState.SENT
    decided: datetime | None = None  # signed or refused
    note: str | None = None


@dataclass(eq=False, slots=True)
class Order(Document):
    quote: Quote | None = None  # the signed quote it came from
    state: OrderState = OrderState.CONFIRMED
    closed: datetime | None = None
    billed: bool = False
    customer_ref: str | None = None  # the customer's purchase order number


@dataclass(eq=False, slots=True)
class Invoice(Document):
    order: Order | None = None
    credited: Invoice | None = None  # on a credit note: the invoice it corrects
    due: date = date(2000, 1, 1)
    on_receipt: bool = False  # payable on receipt rather than within a term
    mode: PaymentMode = PaymentMode.TRANSFER
    state: InvoiceState = InvoiceState.OPEN
    closed: datetime | None = None
    closed_by: User | None = None
    paid: int = 0
    note: str | None = None
    number: str = ""  # the number the writer gave it, which customers quote back

    @property
    def is_credit_note(self) -> bool:
        return self.credited is not None

    @property
    def total(self) -> int:
        return totals(self.lines)[2]


@dataclass(eq=False, slots=True)
class Payment:
    """Money received (or, negative, refunded), split over the invoices it settles."""

    when: datetime
    partner: Partner
    mode: PaymentMode
    recorded_by: User
    parts: list[tuple[Invoice, int]] = field(default_factory=list)
    id: int = 0
    bank_reference: str | None = None
    reconciled: bool = False  # matched with the bank statement


@dataclass(eq=False, slots=True)
class Ticket:
    when: datetime
    partner: Partner
    kind: TicketKind
    subject: str
    message: str
    severity: Severity
    assignee: User
    state: TicketState = TicketState.NEW
    closed: datetime | None = None
    id: int = 0
    tracking_id: str = ""  # the public token the customer follows the ticket by
    read: datetime | None = None
