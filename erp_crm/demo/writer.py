"""What the business simulation needs from a database layout: the `DemoErpWriter` interface.

The simulation (:mod:`erp_crm.demo.simulation`) decides everything that happens; a writer
only records it in one ERP's layout (:mod:`erp_crm.demo.dolibarr_writer` for Dolibarr).
A second layout is a second writer, and it gets the same history.

Records arrive in the order they happen, and everything a record refers to has arrived
before it (the users before the partners they created, a quote before the order it
became, an invoice before the payments and credit notes that refer to it), so a writer
can resolve every reference the moment a record arrives and keep nothing but the keys
it needs.  A writer must not draw random numbers: every draw belongs to the simulation.
"""

from __future__ import annotations

from typing import Protocol

from erp_crm.demo.records import Category, Contact, Invoice, Order, Partner, Payment, Product, Quote, Ticket, User


class DemoErpWriter(Protocol):
    def user(self, user: User) -> None:
        """A member of staff, or the ERP's administrator account (whose `person` is None)."""

    def category(self, category: Category) -> None:
        """A catalogue group or a partner tag, before the products and partners in it."""

    def product(self, product: Product) -> None:
        """A catalogue item, in its category, before any line that sells it."""

    def partner(self, partner: Partner) -> None:
        """A customer, prospect or supplier, before its contacts and documents."""

    def contact(self, contact: Contact) -> None: ...

    def quote(self, quote: Quote) -> None: ...

    def order(self, order: Order) -> None:
        """An order, linked to the quote it came from when it has one."""

    def invoice(self, invoice: Invoice) -> str:
        """An invoice or credit note; returns the number it got, which complaints quote."""

    def payment(self, payment: Payment) -> None: ...

    def ticket(self, ticket: Ticket) -> None: ...

    def finish(self) -> dict[str, int]:
        """Write what is still buffered; return the rows written per table."""
