"""A Dolibarr that keeps working: new orders, invoices and payments in the demo ERP over time, written as Dolibarr writes them.

The demo builds a finished history (erp_crm/demo); a test of what runs unattended
needs an ERP that moves while it runs. `DolibarrActivity` adds one business event at a
time to a demo ERP file, each in its own transaction, the way Dolibarr's own classes
leave the rows (see docs/demo-erp.md for the codes):

- an order (`llx_commande`, validated, status 1) with its lines, numbered `COyymm-nnnn`;
- the invoice of an order (`Commande::createFromOrder`): lines copied, the documents
  linked in `llx_element_element`, the order closed and marked billed;
- a counter sale: an invoice paid at once, with its payment (`llx_paiement` and
  `llx_paiement_facture`);
- a payment of an open invoice, which classifies it paid;
- a changed quantity on an open order (`Commande::updateline`: the line's totals, then
  the header's, and `tms`);
- a deletion: an order never billed (`Commande::delete`: its lines, its links, the
  header), or the newest invoice while nothing is paid on it (Dolibarr lets only the last
  number go). Nothing shows a deletion but the missing row, so only a reconciliation
  finds it.

Row ids come from a high-water mark, never reused after a delete, as MariaDB's
AUTO_INCREMENT does. Times are the company's wall clock (Europe/Budapest), as the demo
history's are. `ledger()` reads back what a sync must bring, key by key with amounts.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Budapest")
ENTITY = 1
_VALIDATED, _CLOSED = 1, 3  # llx_commande.fk_statut
_OPEN, _PAID = 1, 2  # llx_facture.fk_statut
_TRANSFER, _CARD = 2, 6  # llx_c_paiement.id

# what a sync brings per entity: key → amount, counted by Dolibarr's rules (demo/expected.py)
LEDGER_SQL = {
    "order": "SELECT rowid, total_ttc FROM llx_commande WHERE entity = 1",
    "order_line": "SELECT d.rowid, d.total_ht FROM llx_commandedet d JOIN llx_commande h ON h.rowid = d.fk_commande WHERE h.entity = 1",
    "invoice": "SELECT rowid, total_ttc FROM llx_facture WHERE entity = 1 AND fk_statut > 0",
    "invoice_line": "SELECT d.rowid, d.total_ht FROM llx_facturedet d JOIN llx_facture h ON h.rowid = d.fk_facture WHERE h.entity = 1 AND h.fk_statut > 0",
    "payment": "SELECT pf.rowid, pf.amount FROM llx_paiement_facture pf JOIN llx_paiement p ON p.rowid = pf.fk_paiement WHERE p.entity = 1",
}
_LINE_COLUMNS = (
    "fk_product, label, description, vat_src_code, tva_tx, qty, remise_percent, subprice, total_ht, total_tva, total_ttc, product_type,"
    " info_bits, buy_price_ht, special_code, rang, multicurrency_subprice, multicurrency_total_ht, multicurrency_total_tva, multicurrency_total_ttc"
)


def ledger(conn: sqlite3.Connection) -> dict[str, dict[str, Decimal]]:
    """Per entity, each ERP key with its amount (whole forints): what the overlay must hold when it is up to date."""
    return {entity: {str(key): _forints(amount) for key, amount in conn.execute(sql)} for entity, sql in LEDGER_SQL.items()}


def _forints(amount: float) -> Decimal:
    return Decimal(str(amount)).quantize(Decimal(1))


def _now() -> str:
    return dt.datetime.now(ZONE).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")


@dataclass(frozen=True)
class _Product:
    rowid: int
    label: str
    price: float
    vat: float
    kind: int
    cost: float


class DolibarrActivity:
    """Business events in a demo ERP (SQLite file), one transaction each; `done` counts them by kind."""

    def __init__(self, path: Path, seed: int = 7) -> None:
        self.path = path
        self.random = random.Random(seed)
        self.done: Counter[str] = Counter()
        with self._begin() as db:
            self.customers = [row[0] for row in db.execute("SELECT rowid FROM llx_societe WHERE client IN (1, 3) AND entity = 1 AND email IS NOT NULL")]
            self.authors = [row[0] for row in db.execute("SELECT rowid FROM llx_user WHERE employee = 1 AND statut = 1")]
            self.products = [_Product(*row) for row in db.execute("SELECT rowid, label, price, tva_tx, fk_product_type, pmp FROM llx_product WHERE tosell = 1")]
            tables = ("llx_commande", "llx_commandedet", "llx_facture", "llx_facturedet", "llx_paiement", "llx_paiement_facture", "llx_element_element")
            self.high = {table: db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0] for table in tables}
        assert self.customers and self.authors and self.products, "not a demo ERP with customers, staff and products"
        self.events: list[tuple[Callable[[sqlite3.Connection], bool], int]] = [
            (self.add_order, 5), (self.bill_order, 4), (self.counter_sale, 3), (self.pay_invoice, 2), (self.change_order, 2), (self.delete_document, 1),
        ]  # fmt: skip

    def _begin(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        return db

    def step(self) -> str:
        """One business event, chosen at random (an event with nothing to act on gives way to a new order); its name."""
        events, weights = zip(*self.events, strict=True)
        event = self.random.choices(events, weights)[0]
        db = self._begin()
        try:
            if not event(db):
                event = self.add_order
                event(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()
        self.done[event.__name__] += 1
        return event.__name__

    def _id(self, table: str) -> int:
        self.high[table] += 1
        return int(self.high[table])

    def _number(self, db: sqlite3.Connection, table: str, prefix: str) -> str:
        """Dolibarr's default numbering: PREFIX + yymm + '-' + a counter that never resets."""
        last = db.execute(f"SELECT MAX(CAST(substr(ref, 8) AS INTEGER)) FROM {table} WHERE ref LIKE ?", (f"{prefix}____-%",)).fetchone()[0]
        return f"{prefix}{dt.datetime.now(ZONE):%y%m}-{(last or 0) + 1:04d}"

    def _lines(self) -> list[tuple[_Product, int]]:
        return [(self.random.choice(self.products), self.random.randint(1, 5)) for _ in range(self.random.randint(1, 4))]

    def _write_lines(self, db: sqlite3.Connection, table: str, parent: str, parent_id: int, lines: list[tuple[_Product, int]]) -> tuple[float, float]:
        net_sum = tax_sum = 0.0
        for rang, (product, qty) in enumerate(lines, start=1):
            net = round(product.price * qty)
            tax = round(net * product.vat / 100)
            values = (
                product.rowid,
                None,
                product.label,
                "",
                product.vat,
                qty,
                0.0,
                product.price,
                net,
                tax,
                net + tax,
                product.kind,
                0,
                product.cost,
                0,
                rang,
                product.price,
                net,
                tax,
                net + tax,
            )
            extra = ", fk_code_ventilation" if table == "llx_facturedet" else ""
            marks = ", ".join("?" * (len(values) + 2 + bool(extra)))
            db.execute(
                f"INSERT INTO {table} (rowid, {parent}, {_LINE_COLUMNS}{extra}) VALUES ({marks})",
                (self._id(table), parent_id, *values, *((0,) if extra else ())),
            )
            net_sum, tax_sum = net_sum + net, tax_sum + tax
        return net_sum, tax_sum

    @staticmethod
    def _totals(net: float, tax: float) -> dict[str, float | str]:
        return {"total_ht": net, "total_tva": tax, "total_ttc": net + tax, "multicurrency_code": "HUF", "multicurrency_tx": 1.0,
                "multicurrency_total_ht": net, "multicurrency_total_tva": tax, "multicurrency_total_ttc": net + tax}  # fmt: skip

    @staticmethod
    def _insert(db: sqlite3.Connection, table: str, row: dict[str, object]) -> None:
        db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    # -- the events: each returns False when there was nothing to act on ------------------------------

    def add_order(self, db: sqlite3.Connection) -> bool:
        now, author = _now(), self.random.choice(self.authors)
        order_id = self._id("llx_commande")
        net, tax = self._write_lines(db, "llx_commandedet", "fk_commande", order_id, self._lines())
        self._insert(db, "llx_commande", {
            "rowid": order_id, "ref": self._number(db, "llx_commande", "CO"), "entity": ENTITY, "fk_soc": self.random.choice(self.customers),
            "tms": now, "date_creation": now, "date_valid": now, "date_commande": now[:10], "fk_user_author": author, "fk_user_valid": author,
            "source": 0, "fk_statut": _VALIDATED, "facture": 0, "fk_cond_reglement": 2, "fk_mode_reglement": _TRANSFER, **self._totals(net, tax),
        })  # fmt: skip
        return True

    def bill_order(self, db: sqlite3.Connection) -> bool:
        """The invoice of a validated, unbilled order: its lines copied, the documents linked, the order closed."""
        found = db.execute(
            "SELECT rowid, fk_soc, fk_user_author FROM llx_commande WHERE fk_statut = ? AND facture = 0 ORDER BY rowid DESC LIMIT 1", (_VALIDATED,)
        ).fetchone()
        if found is None:
            return False
        order_id, partner, author = found
        now, invoice_id = _now(), self._id("llx_facture")
        lines = db.execute(f"SELECT {_LINE_COLUMNS} FROM llx_commandedet WHERE fk_commande = ? ORDER BY rang", (order_id,)).fetchall()
        for line in lines:
            db.execute(f"INSERT INTO llx_facturedet (rowid, fk_facture, {_LINE_COLUMNS}, fk_code_ventilation) VALUES ({', '.join('?' * (len(line) + 3))})",
                       (self._id("llx_facturedet"), invoice_id, *line, 0))  # fmt: skip
        net, tax = sum(line[8] for line in lines), sum(line[9] for line in lines)
        self._invoice(db, invoice_id, partner, author, now, net, tax, paid=False)
        self._insert(
            db,
            "llx_element_element",
            {"rowid": self._id("llx_element_element"), "fk_source": order_id, "sourcetype": "commande", "fk_target": invoice_id, "targettype": "facture"},
        )
        db.execute(
            "UPDATE llx_commande SET fk_statut = ?, facture = 1, date_cloture = ?, fk_user_cloture = ?, tms = ? WHERE rowid = ?",
            (_CLOSED, now, author, now, order_id),
        )
        return True

    def counter_sale(self, db: sqlite3.Connection) -> bool:
        """An invoice paid on the spot by card."""
        now, author, invoice_id = _now(), self.random.choice(self.authors), self._id("llx_facture")
        net, tax = self._write_lines(db, "llx_facturedet", "fk_facture", invoice_id, self._lines())
        self._invoice(db, invoice_id, self.random.choice(self.customers), author, now, net, tax, paid=True)
        self._payment(db, invoice_id, net + tax, now, _CARD)
        return True

    def pay_invoice(self, db: sqlite3.Connection) -> bool:
        """An open invoice paid in full by transfer: classified paid."""
        open_invoice = (
            "SELECT f.rowid, f.total_ttc - COALESCE((SELECT SUM(amount) FROM llx_paiement_facture WHERE fk_facture = f.rowid), 0)"
            " FROM llx_facture f WHERE f.fk_statut = ? AND f.type = 0 ORDER BY f.rowid DESC LIMIT 1"
        )
        if (found := db.execute(open_invoice, (_OPEN,)).fetchone()) is None:
            return False
        invoice_id, due, now = *found, _now()
        self._payment(db, invoice_id, due, now, _TRANSFER)
        db.execute("UPDATE llx_facture SET fk_statut = ?, paye = 1, date_closing = ?, tms = ? WHERE rowid = ?", (_PAID, now, now, invoice_id))
        return True

    def change_order(self, db: sqlite3.Connection) -> bool:
        """One more of a line's product on an open order: the line's totals, then the header's, and its tms."""
        open_line = (
            "SELECT d.rowid, d.fk_commande, d.qty, d.subprice, d.tva_tx FROM llx_commandedet d JOIN llx_commande h ON h.rowid = d.fk_commande"
            " WHERE h.fk_statut = ? AND h.facture = 0 ORDER BY d.rowid DESC LIMIT 1"
        )
        if (found := db.execute(open_line, (_VALIDATED,)).fetchone()) is None:
            return False
        line_id, order_id, qty, price, vat = found
        net = round(price * (qty + 1))
        tax = round(net * vat / 100)
        db.execute("UPDATE llx_commandedet SET qty = ?, total_ht = ?, total_tva = ?, total_ttc = ?, multicurrency_total_ht = ?, multicurrency_total_tva = ?,"
                   " multicurrency_total_ttc = ? WHERE rowid = ?", (qty + 1, net, tax, net + tax, net, tax, net + tax, line_id))  # fmt: skip
        net_sum, tax_sum = db.execute("SELECT SUM(total_ht), SUM(total_tva) FROM llx_commandedet WHERE fk_commande = ?", (order_id,)).fetchone()
        totals = self._totals(net_sum, tax_sum)
        assignments = ", ".join(f"{column} = ?" for column in totals)
        db.execute(f"UPDATE llx_commande SET {assignments}, tms = ? WHERE rowid = ?", (*totals.values(), _now(), order_id))
        return True

    def delete_document(self, db: sqlite3.Connection) -> bool:
        """An unbilled order, or else the newest invoice while nothing is paid on it, deleted with its lines and links."""
        found = db.execute("SELECT rowid FROM llx_commande WHERE fk_statut = ? AND facture = 0 ORDER BY rowid LIMIT 1", (_VALIDATED,)).fetchone()
        if found is not None:
            db.execute("DELETE FROM llx_commandedet WHERE fk_commande = ?", found)
            db.execute(
                "DELETE FROM llx_element_element WHERE (fk_source = ? AND sourcetype = 'commande') OR (fk_target = ? AND targettype = 'commande')", found * 2
            )
            db.execute("DELETE FROM llx_commande WHERE rowid = ?", found)
            return True
        found = db.execute(
            "SELECT rowid FROM llx_facture WHERE rowid = (SELECT MAX(rowid) FROM llx_facture) AND fk_statut = ?"
            " AND NOT EXISTS (SELECT 1 FROM llx_paiement_facture WHERE fk_facture = llx_facture.rowid)", (_OPEN,)
        ).fetchone()  # fmt: skip
        if found is None:
            return False
        db.execute("DELETE FROM llx_facturedet WHERE fk_facture = ?", found)
        db.execute("UPDATE llx_commande SET facture = 0, fk_statut = ?, date_cloture = NULL, tms = ? WHERE rowid IN"
                   " (SELECT fk_source FROM llx_element_element WHERE fk_target = ? AND targettype = 'facture' AND sourcetype = 'commande')", (_VALIDATED, _now(), *found))  # fmt: skip
        db.execute("DELETE FROM llx_element_element WHERE fk_target = ? AND targettype = 'facture'", found)
        db.execute("DELETE FROM llx_facture WHERE rowid = ?", found)
        return True

    def _invoice(self, db: sqlite3.Connection, invoice_id: int, partner: int, author: int, now: str, net: float, tax: float, *, paid: bool) -> None:
        due = (dt.date.fromisoformat(now[:10]) + dt.timedelta(days=0 if paid else 30)).isoformat()
        self._insert(db, "llx_facture", {
            "rowid": invoice_id, "ref": self._number(db, "llx_facture", "FA"), "entity": ENTITY, "type": 0, "fk_soc": partner, "datec": now, "datef": now[:10],
            "date_valid": now[:10], "tms": now, "date_closing": now if paid else None, "paye": int(paid), "fk_statut": _PAID if paid else _OPEN,
            "fk_user_author": author, "fk_user_valid": author, "fk_user_closing": author if paid else None, "fk_cond_reglement": 1 if paid else 2,
            "fk_mode_reglement": _CARD if paid else _TRANSFER, "date_lim_reglement": due, **self._totals(net, tax),
        })  # fmt: skip

    def _payment(self, db: sqlite3.Connection, invoice_id: int, amount: float, now: str, mode: int) -> None:
        payment_id = self._id("llx_paiement")
        self._insert(db, "llx_paiement", {
            "rowid": payment_id, "ref": self._number(db, "llx_paiement", "PAY"), "entity": ENTITY, "datec": now, "tms": now, "datep": now,
            "amount": amount, "multicurrency_amount": amount, "fk_paiement": mode, "num_paiement": None, "note": None, "fk_bank": 0,
            "fk_user_creat": self.random.choice(self.authors), "statut": 0, "fk_export_compta": 0,
        })  # fmt: skip
        self._insert(db, "llx_paiement_facture", {
            "rowid": self._id("llx_paiement_facture"), "fk_paiement": payment_id, "fk_facture": invoice_id, "amount": amount,
            "multicurrency_code": "HUF", "multicurrency_tx": 1.0, "multicurrency_amount": amount,
        })  # fmt: skip


class KeepWorking(threading.Thread):
    """`activity.step()` every `every` seconds until `stop()`; an event that fails is kept and ends the thread."""

    def __init__(self, activity: DolibarrActivity, every: float) -> None:
        super().__init__(name="dolibarr-activity", daemon=True)
        self.activity = activity
        self.every = every
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.every):
                self.activity.step()
        except BaseException as exc:  # noqa: BLE001  (handed to the test by stop())
            self.error = exc

    def stop(self) -> Counter[str]:
        """Stop after the event in hand; the events done by kind (raises what ended the thread early)."""
        self.stopping.set()
        self.join(timeout=120)
        if self.error is not None:
            raise AssertionError(f"the ERP activity failed after {sum(self.activity.done.values())} events") from self.error
        return self.activity.done
