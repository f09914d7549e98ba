"""Lays the simulated business out as Dolibarr does: its llx_ tables, codes, numbering and links.

Everything Dolibarr-specific about the demo is here: the dictionaries a fresh Dolibarr
installs (countries, company types, payment modes, ticket types), the status and type
codes, the default numbering modules (``PR2407-0001``, drafts ``(PROV12)``), the
payment terms, the links between documents in ``llx_element_element``.  Rows are
buffered per table and written with ``executemany`` in batches, so memory holds a
batch, not the history.  The tables are :mod:`erp_crm.demo.dolibarr_schema`'s.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.engine import Connection

from erp_crm.demo.catalog import GOODS, SERVICE, SUBSCRIPTIONS
from erp_crm.demo.dolibarr_schema import TABLES, create_schema, dialect_of
from erp_crm.demo.money import forints
from erp_crm.demo.records import (
    Category,
    CategoryKind,
    Contact,
    Invoice,
    InvoiceState,
    Line,
    Order,
    OrderState,
    Partner,
    PartnerKind,
    PartnerType,
    Payment,
    PaymentMode,
    Potential,
    Product,
    Quote,
    QuoteState,
    Severity,
    Ticket,
    TicketKind,
    TicketState,
    User,
    totals,
    unit_cost,
)

ENTITY = 1
BATCH = 2000
ADMINISTRATOR_NAME = ("Rendszergazda", "Dolibarr")  # lastname, firstname of the installation's own account

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

# the simulation's terms in Dolibarr's codes (docs/demo-erp.md says where each is defined)
_COUNTRY_ID = {code: rowid for rowid, code, _, _, _ in COUNTRIES}
_TYPENT_ID = {
    PartnerType.LARGE_COMPANY: 2, PartnerType.MEDIUM_COMPANY: 3, PartnerType.SMALL_COMPANY: 4,
    PartnerType.GOVERNMENT: 5, PartnerType.RESELLER: 7, PartnerType.PRIVATE_PERSON: 8,
}
_PAYMENT_MODE_ID = {PaymentMode.TRANSFER: 2, PaymentMode.DIRECT_DEBIT: 3, PaymentMode.CASH: 4, PaymentMode.CARD: 6}
_PROSPECT_LEVEL = {Potential.LOW: "PL_LOW", Potential.MEDIUM: "PL_MEDIUM", Potential.HIGH: "PL_HIGH"}
_CATEGORY_TYPE = {CategoryKind.PRODUCT: 0, CategoryKind.PARTNER: 2}
_PRODUCT_TYPE = {GOODS: 0, SERVICE: 1}
_QUOTE_STATUS = {QuoteState.DRAFT: 0, QuoteState.SENT: 1, QuoteState.SIGNED: 2, QuoteState.REFUSED: 3, QuoteState.BILLED: 4}
_ORDER_STATUS = {
    OrderState.CANCELLED: -1, OrderState.DRAFT: 0, OrderState.CONFIRMED: 1, OrderState.IN_PROGRESS: 2, OrderState.CLOSED: 3,
}
_INVOICE_STATUS = {InvoiceState.DRAFT: 0, InvoiceState.OPEN: 1, InvoiceState.PAID: 2, InvoiceState.WRITTEN_OFF: 3}
_TICKET_STATUS = {
    TicketState.NEW: 0, TicketState.READ: 1, TicketState.IN_PROGRESS: 3, TicketState.WAITING: 5,
    TicketState.ON_HOLD: 7, TicketState.SOLVED: 8, TicketState.CANCELLED: 9,
}
_TICKET_TYPE = {
    TicketKind.QUESTION: "COM", TicketKind.HELP: "HELP", TicketKind.ISSUE: "ISSUE", TicketKind.PROBLEM: "PROBLEM",
    TicketKind.REQUEST: "REQUEST", TicketKind.OTHER: "OTHER",
}
_SEVERITY = {Severity.LOW: "LOW", Severity.NORMAL: "NORMAL", Severity.HIGH: "HIGH", Severity.BLOCKING: "BLOCKING"}


def _terms(on_receipt: bool) -> int:
    """llx_c_payment_term: 1 due on receipt, 2 within 30 days."""
    return 1 if on_receipt else 2


def _user_id(user: User | None) -> int | None:
    return user.id if user is not None else None


def _amounts(lines: list[Line]) -> dict[str, Any]:
    """A document header's totals, in the company currency and in the document's (both HUF)."""
    net, tax, total = totals(lines)
    return {
        "total_ht": float(net), "total_tva": float(tax), "total_ttc": float(total),
        "multicurrency_code": "HUF", "multicurrency_tx": 1.0, "multicurrency_total_ht": float(net),
        "multicurrency_total_tva": float(tax), "multicurrency_total_ttc": float(total),
    }


class _Numbering:
    """Dolibarr's default numbering: PREFIX + yymm + '-' + a counter that never resets."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def next(self, prefix: str, d: date, width: int = 4) -> str:
        self.counters[prefix] += 1
        return f"{prefix}{d:%y%m}-{self.counters[prefix]:0{width}d}"


class _BatchInserter:
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
    """SQLite stores dates as text; Python 3.12 deprecated the sqlite3 module doing it implicitly."""
    out = list(row)
    for i in idx:
        v = out[i]
        if isinstance(v, datetime):
            out[i] = v.isoformat(sep=" ")
        elif isinstance(v, date):
            out[i] = v.isoformat()
    return tuple(out)


class DolibarrWriter:
    """A `DemoErpWriter` for Dolibarr's layout, on MariaDB/MySQL, SQLite or PostgreSQL.

    Creating it drops and recreates the demo tables at `conn` and fills Dolibarr's
    dictionaries; `finish()` writes what is buffered and leaves the database as a
    Dolibarr installation would be.  The caller commits.  The simulation's ids become
    the row ids of the documents' tables (they number them in the same order);
    everything else gets its row id here.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = dialect_of(conn)
        if self.dialect == "mysql":
            # Dolibarr's dictionaries have rows with id 0 (TE_UNKNOWN) in AUTO_INCREMENT columns
            conn.exec_driver_sql("SET @erp_crm_sql_mode = @@SESSION.sql_mode")
            conn.exec_driver_sql(
                "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_AUTO_VALUE_ON_ZERO')"
            )
        create_schema(conn, drop=True)
        self.rows = _BatchInserter(conn)
        self.ids: Counter[str] = Counter()
        self.numbers = _Numbering()
        self.category_ids: dict[tuple[CategoryKind, str], int] = {}
        self.products: dict[str, tuple[int, int, float]] = {}  # by ref: what every line of it repeats
        self._dictionaries()

    def _next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _dictionaries(self) -> None:
        add = self.rows.add
        for rowid, code, iso, label, eec in COUNTRIES:
            add("llx_c_country", {"rowid": rowid, "code": code, "code_iso": iso, "label": label,
                                  "eec": eec, "active": 1, "favorite": 1 if code == "HU" else 0})
        for i, (tid, code, label, active) in enumerate(TYPENT):
            add("llx_c_typent", {"id": tid, "code": code, "libelle": label, "fk_country": None,
                                 "active": active, "module": None, "position": i})
        for pid, code, label, typ, active in PAYMENT_MODES:
            add("llx_c_paiement", {"id": pid, "entity": ENTITY, "code": code, "libelle": label,
                                   "type": typ, "active": active, "position": 0})
        for i, (code, pos, label, active, default) in enumerate(TICKET_TYPES, start=1):
            add("llx_c_ticket_type", {"rowid": i, "entity": ENTITY, "code": code, "pos": pos,
                                      "label": label, "active": active, "use_default": default,
                                      "description": None})

    # ------------------------------------------------------------------ the company
    def user(self, user: User) -> None:
        p = user.person
        lastname, firstname = (p.family, p.given) if p is not None else ADMINISTRATOR_NAME
        self.rows.add("llx_user", {
            "rowid": user.id, "entity": ENTITY, "ref_employee": f"E{user.id:03d}" if p is not None else None,
            "employee": 1 if p is not None else 0, "datec": user.created, "tms": user.modified,
            "login": user.login, "gender": p.gender if p is not None else None,
            "civility": p.civility if p is not None else None,
            "lastname": lastname, "firstname": firstname, "job": user.job,
            "office_phone": user.office_phone, "user_mobile": user.mobile,
            "email": user.email, "admin": 0 if p is not None else 1,
            "statut": 0 if user.end else 1, "lang": user.lang,
            "dateemployment": user.start, "dateemploymentend": user.end,
        })

    def category(self, category: Category) -> None:
        cid = self._next_id("llx_categorie")
        self.category_ids[category.kind, category.label] = cid
        self.rows.add("llx_categorie", {
            "rowid": cid, "entity": ENTITY, "fk_parent": 0, "label": category.label,
            "type": _CATEGORY_TYPE[category.kind], "description": None, "visible": 1,
            "date_creation": category.created, "tms": category.created, "fk_user_creat": category.created_by.id,
        })

    def product(self, product: Product) -> None:
        item, price = product.item, product.price
        pid = self._next_id("llx_product")
        cost = float(unit_cost(item))
        self.products[item.ref] = (pid, _PRODUCT_TYPE[item.type], cost)
        service = item.type == SERVICE
        self.rows.add("llx_product", {
            "rowid": pid, "ref": item.ref, "entity": ENTITY, "datec": product.created, "tms": product.modified,
            "label": item.label, "description": None, "price": float(price),
            "price_ttc": float(forints(price * (1 + item.vat / 100.0))), "price_base_type": "HT",
            "tva_tx": float(item.vat), "fk_user_author": product.created_by.id,
            "tosell": 1 if product.on_sale else 0, "tobuy": 0 if service else 1,
            "fk_product_type": _PRODUCT_TYPE[item.type], "duration": "1m" if item.ref in SUBSCRIPTIONS else None,
            "stock": product.stock, "pmp": cost, "finished": None if service else 1,
        })
        self.rows.add("llx_categorie_product", {
            "fk_categorie": self.category_ids[CategoryKind.PRODUCT, item.category], "fk_product": pid,
        })

    # ------------------------------------------------------------------ partners
    def partner(self, partner: Partner) -> None:
        p = partner
        client = (1 if p.customer else 0) + (2 if p.prospect else 0)  # 1 customer, 2 prospect, 3 both
        code_client = self.numbers.next("CU", p.created, width=5) if client else None
        code_supplier = self.numbers.next("SU", p.created, width=5) if p.supplier else None
        self.rows.add("llx_societe", {
            "rowid": p.id, "nom": p.name, "name_alias": None, "entity": ENTITY, "status": 1,
            "code_client": code_client, "code_fournisseur": code_supplier,
            "address": p.address, "zip": p.zip, "town": p.city, "fk_pays": _COUNTRY_ID[p.country],
            "phone": p.phone, "phone_mobile": p.mobile, "url": p.url, "email": p.email,
            "fk_effectif": p.headcount_band, "fk_typent": _TYPENT_ID[p.type],
            "siren": p.registration, "siret": p.eu_vat, "tva_intra": p.tax,
            "fk_stcomm": 0 if client == 1 else 2, "client": client, "fournisseur": 1 if p.supplier else 0,
            "fk_prospectlevel": _PROSPECT_LEVEL[p.potential] if p.potential else None,
            "remise_client": float(p.discount), "mode_reglement": _PAYMENT_MODE_ID[p.pay_mode] if client else None,
            "cond_reglement": _terms(p.term_days == 0) if client else None,
            "tva_assuj": 0 if p.kind is PartnerKind.PERSON else 1, "outstanding_limit": p.credit_limit,
            "default_lang": p.lang, "tms": p.modified, "datec": p.created,
            "fk_user_creat": _user_id(p.created_by), "fk_user_modif": None, "multicurrency_code": "HUF",
        })
        if p.account_manager is not None:
            self.rows.add("llx_societe_commerciaux", {"rowid": self._next_id("llx_societe_commerciaux"),
                                                      "fk_soc": p.id, "fk_user": p.account_manager.id})
        if p.industry and client:  # tags of type 2 are for customers and prospects
            self.rows.add("llx_categorie_societe", {
                "fk_categorie": self.category_ids[CategoryKind.PARTNER, p.industry], "fk_soc": p.id,
            })

    def contact(self, contact: Contact) -> None:
        c, p = contact, contact.person
        self.rows.add("llx_socpeople", {
            "rowid": self._next_id("llx_socpeople"), "datec": c.created, "tms": c.created, "fk_soc": c.partner.id,
            "entity": ENTITY, "civility": p.civility, "lastname": p.family, "firstname": p.given,
            "address": c.address, "zip": c.zip, "town": c.city, "fk_pays": _COUNTRY_ID[c.partner.country],
            "birthday": c.birthday, "poste": c.job, "phone": c.phone, "phone_mobile": c.mobile,
            "email": c.email, "no_email": 0, "priv": 0, "fk_user_creat": c.created_by.id,
            "default_lang": c.partner.lang, "statut": 1 if c.active else 0,
        })

    # ------------------------------------------------------------------ documents
    def _reference(self, doc_id: int, draft: bool, prefix: str, d: date) -> str:
        """(PROVn) while a draft, then PREFIXyymm-nnnn."""
        return f"(PROV{doc_id})" if draft else self.numbers.next(prefix, d)

    def _lines(self, table: str, fk: str, parent_id: int, lines: list[Line], *, invoice: bool = False) -> None:
        for rang, ln in enumerate(lines, start=1):
            net, tax = ln.net, ln.tax
            product_id, product_type, cost = self.products[ln.item.ref]
            row: dict[str, Any] = {
                "rowid": self._next_id(table), fk: parent_id, "fk_product": product_id,
                "label": None, "description": ln.item.label, "vat_src_code": "",
                "tva_tx": float(ln.vat), "qty": ln.qty, "remise_percent": float(ln.discount),
                "subprice": float(ln.price), "total_ht": float(net), "total_tva": float(tax),
                "total_ttc": float(net + tax), "product_type": product_type, "info_bits": 0,
                "buy_price_ht": cost, "special_code": 0, "rang": rang,
                "multicurrency_subprice": float(ln.price), "multicurrency_total_ht": float(net),
                "multicurrency_total_tva": float(tax), "multicurrency_total_ttc": float(net + tax),
            }
            if invoice:
                row["fk_code_ventilation"] = 0
            self.rows.add(table, row)

    def _link(self, src: int, srctype: str, target: int, targettype: str) -> None:
        self.rows.add("llx_element_element", {"rowid": self._next_id("llx_element_element"), "fk_source": src,
                                              "sourcetype": srctype, "fk_target": target, "targettype": targettype})

    def quote(self, quote: Quote) -> None:
        q, author = quote, quote.author.id
        d = q.when.date()
        draft = q.state is QuoteState.DRAFT
        signed = q.decided if q.state in (QuoteState.SIGNED, QuoteState.BILLED) else None
        closed = q.decided if q.state in (QuoteState.SIGNED, QuoteState.REFUSED, QuoteState.BILLED) else None
        self.rows.add("llx_propal", {
            "rowid": q.id, "ref": self._reference(q.id, draft, "PR", d), "entity": ENTITY, "ref_client": None,
            "fk_soc": q.partner.id, "tms": q.decided or q.when, "datec": q.when, "datep": d,
            "fin_validite": datetime.combine(q.valid_until, time(0, 0)), "date_valid": None if draft else q.when,
            "date_signature": signed, "date_cloture": closed,
            "fk_user_author": author, "fk_user_valid": None if draft else author,
            "fk_user_signature": author if signed else None,
            "fk_user_cloture": author if closed else None, "fk_statut": _QUOTE_STATUS[q.state],
            "fk_cond_reglement": _terms(q.partner.term_days == 0), "fk_mode_reglement": _PAYMENT_MODE_ID[q.partner.pay_mode],
            "note_public": q.note, **_amounts(q.lines),
        })
        self._lines("llx_propaldet", "fk_propal", q.id, q.lines)

    def order(self, order: Order) -> None:
        o, author = order, order.author.id
        d = o.when.date()
        draft = o.state is OrderState.DRAFT
        self.rows.add("llx_commande", {
            "rowid": o.id, "ref": self._reference(o.id, draft, "CO", d), "entity": ENTITY,
            "ref_client": o.customer_ref, "fk_soc": o.partner.id,
            "tms": o.closed or o.when, "date_creation": o.when, "date_valid": None if draft else o.when,
            "date_cloture": o.closed, "date_commande": d, "fk_user_author": author,
            "fk_user_valid": None if draft else author,
            "fk_user_cloture": author if o.closed else None, "source": 0 if o.quote is None else 1,
            "fk_statut": _ORDER_STATUS[o.state], "facture": 1 if o.billed else 0,
            "fk_cond_reglement": _terms(o.partner.term_days == 0), "fk_mode_reglement": _PAYMENT_MODE_ID[o.partner.pay_mode],
            **_amounts(o.lines),
        })
        self._lines("llx_commandedet", "fk_commande", o.id, o.lines)
        if o.quote is not None:
            self._link(o.quote.id, "propal", o.id, "commande")

    def invoice(self, invoice: Invoice) -> str:
        inv, author = invoice, invoice.author.id
        d = inv.when.date()
        draft = inv.state is InvoiceState.DRAFT
        ref = self._reference(inv.id, draft, "AV" if inv.is_credit_note else "FA", d)
        self.rows.add("llx_facture", {
            "rowid": inv.id, "ref": ref, "entity": ENTITY,
            "ref_client": inv.order.customer_ref if inv.order else None,
            "type": 2 if inv.is_credit_note else 0, "fk_soc": inv.partner.id, "datec": inv.when, "datef": d,
            "date_valid": None if draft else d, "tms": inv.closed or inv.when, "date_closing": inv.closed,
            "paye": 1 if inv.state is InvoiceState.PAID else 0,
            "close_code": "badcustomer" if inv.state is InvoiceState.WRITTEN_OFF else None,
            "fk_statut": _INVOICE_STATUS[inv.state], "fk_user_author": author,
            "fk_user_valid": None if draft else author, "fk_user_closing": _user_id(inv.closed_by),
            "fk_facture_source": inv.credited.id if inv.credited else None,
            "fk_cond_reglement": _terms(inv.on_receipt), "fk_mode_reglement": _PAYMENT_MODE_ID[inv.mode],
            "date_lim_reglement": inv.due, "note_public": inv.note, **_amounts(inv.lines),
        })
        self._lines("llx_facturedet", "fk_facture", inv.id, inv.lines, invoice=True)
        if inv.order is not None:
            self._link(inv.order.id, "commande", inv.id, "facture")
        return ref

    def payment(self, payment: Payment) -> None:
        p = payment
        total = sum(amount for _, amount in p.parts)
        self.rows.add("llx_paiement", {
            "rowid": p.id, "ref": self.numbers.next("PAY", p.when.date()), "entity": ENTITY, "datec": p.when,
            "tms": p.when, "datep": p.when, "amount": float(total), "multicurrency_amount": float(total),
            "fk_paiement": _PAYMENT_MODE_ID[p.mode], "num_paiement": p.bank_reference, "note": None, "fk_bank": 0,
            "fk_user_creat": p.recorded_by.id, "statut": 1 if p.reconciled else 0, "fk_export_compta": 0,
        })
        for inv, amount in p.parts:
            self.rows.add("llx_paiement_facture", {
                "rowid": self._next_id("llx_paiement_facture"), "fk_paiement": p.id, "fk_facture": inv.id,
                "amount": float(amount), "multicurrency_code": "HUF", "multicurrency_tx": 1.0,
                "multicurrency_amount": float(amount),
            })

    def ticket(self, ticket: Ticket) -> None:
        t = ticket
        self.rows.add("llx_ticket", {
            "rowid": t.id, "entity": ENTITY, "ref": self.numbers.next("TS", t.when.date()), "track_id": t.tracking_id,
            "fk_soc": t.partner.id, "origin_email": t.partner.email, "fk_user_create": t.assignee.id,
            "fk_user_assign": None if t.state in (TicketState.NEW, TicketState.READ) else t.assignee.id,
            "subject": t.subject, "message": t.message, "fk_statut": _TICKET_STATUS[t.state],
            "resolution": None, "progress": 100 if t.state is TicketState.SOLVED else 0,
            "type_code": _TICKET_TYPE[t.kind], "category_code": "OTHER", "severity_code": _SEVERITY[t.severity],
            "datec": t.when, "date_read": t.read, "date_close": t.closed, "tms": t.closed or t.read or t.when,
        })

    def finish(self) -> dict[str, int]:
        self.rows.flush()
        if self.dialect == "mysql":
            self.conn.exec_driver_sql("SET SESSION sql_mode = @erp_crm_sql_mode")
        elif self.dialect == "postgresql":
            self._advance_sequences()
        return {name: self.rows.counts.get(name, 0) for name in TABLES}

    def _advance_sequences(self) -> None:
        """Rows were written with explicit ids: move PostgreSQL's serial sequences past them."""
        for table in TABLES.values():
            for col in table.columns:
                if col.auto_increment:
                    self.conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                        f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"
                    )
