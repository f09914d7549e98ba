"""Odoo 16–17 on PostgreSQL: the tables and columns connectors/odoo.yaml reads.

Column types follow Odoo's ORM mapping (odoo/fields.py): Char → varchar, Text/Html →
text, Boolean → bool, Integer and many2one → int4, Float with digits and Monetary →
numeric, Float without digits → float8, Date → date, Datetime → timestamp without time
zone (UTC), translatable Char (since 16) → jsonb keyed by language. Every table has the
ORM's log columns create_uid, create_date, write_uid, write_date.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from tests.erp_layouts import Expected, insert, run_ddl

DIALECT = "postgresql"

_LOG = "create_uid int4, create_date timestamp, write_uid int4, write_date timestamp"

DDL = [
    f"""CREATE TABLE res_country (
        id serial PRIMARY KEY, name jsonb NOT NULL, code varchar(2), phone_code int4, {_LOG})""",
    f"""CREATE TABLE res_currency (
        id serial PRIMARY KEY, name varchar NOT NULL, symbol varchar NOT NULL,
        rounding numeric, active bool, {_LOG})""",
    f"""CREATE TABLE res_partner_industry (
        id serial PRIMARY KEY, name jsonb, full_name jsonb, active bool, {_LOG})""",
    f"""CREATE TABLE res_company (
        id serial PRIMARY KEY, name varchar NOT NULL, partner_id int4 NOT NULL,
        currency_id int4 NOT NULL, sequence int4, {_LOG})""",
    f"""CREATE TABLE res_partner (
        id serial PRIMARY KEY, name varchar, complete_name varchar, parent_id int4,
        ref varchar, lang varchar, tz varchar, user_id int4, vat varchar,
        company_registry varchar, website varchar, comment text, active bool,
        employee bool, function varchar, type varchar, street varchar, street2 varchar,
        zip varchar, city varchar, state_id int4, country_id int4, email varchar,
        phone varchar, mobile varchar, is_company bool, industry_id int4,
        company_id int4, color int4, partner_share bool, commercial_partner_id int4,
        commercial_company_name varchar, company_name varchar,
        customer_rank int4 DEFAULT 0, supplier_rank int4 DEFAULT 0, {_LOG},
        CONSTRAINT res_partner_check_name CHECK ((type = 'contact' AND name IS NOT NULL) OR type != 'contact'))""",
    f"""CREATE TABLE res_users (
        id serial PRIMARY KEY, login varchar NOT NULL UNIQUE, password varchar,
        partner_id int4 NOT NULL, company_id int4 NOT NULL, active bool DEFAULT true,
        share bool, signature text, notification_type varchar NOT NULL DEFAULT 'email', {_LOG})""",
    f"""CREATE TABLE product_category (
        id serial PRIMARY KEY, name varchar NOT NULL, complete_name varchar,
        parent_id int4, parent_path varchar, {_LOG})""",
    f"""CREATE TABLE product_template (
        id serial PRIMARY KEY, name jsonb NOT NULL, sequence int4, description jsonb,
        description_sale jsonb, detailed_type varchar NOT NULL, type varchar,
        categ_id int4 NOT NULL, list_price numeric, volume numeric, weight numeric,
        sale_ok bool, purchase_ok bool, uom_id int4 NOT NULL, uom_po_id int4 NOT NULL,
        company_id int4, active bool, color int4, default_code varchar, priority varchar, {_LOG})""",
    f"""CREATE TABLE product_product (
        id serial PRIMARY KEY, product_tmpl_id int4 NOT NULL, default_code varchar,
        barcode varchar, active bool, combination_indices varchar, volume numeric,
        weight numeric, {_LOG})""",
    f"""CREATE TABLE sale_order (
        id serial PRIMARY KEY, name varchar NOT NULL, company_id int4 NOT NULL,
        partner_id int4 NOT NULL, state varchar, locked bool, client_order_ref varchar,
        date_order timestamp NOT NULL, validity_date date, origin varchar,
        partner_invoice_id int4 NOT NULL, partner_shipping_id int4 NOT NULL,
        pricelist_id int4, currency_id int4, currency_rate numeric, user_id int4,
        team_id int4, amount_untaxed numeric, amount_tax numeric, amount_total numeric,
        invoice_status varchar, note text, {_LOG},
        CONSTRAINT sale_order_date_order_conditional_required
            CHECK ((state = 'sale' AND date_order IS NOT NULL) OR state != 'sale'))""",
    f"""CREATE TABLE sale_order_line (
        id serial PRIMARY KEY, order_id int4 NOT NULL, sequence int4, company_id int4,
        currency_id int4, order_partner_id int4, salesman_id int4, state varchar,
        display_type varchar, is_downpayment bool, product_id int4, name text NOT NULL,
        product_uom_qty numeric NOT NULL, product_uom int4, price_unit numeric NOT NULL,
        discount numeric, price_subtotal numeric, price_tax float8, price_total numeric,
        customer_lead float8 NOT NULL, qty_delivered numeric, qty_invoiced numeric,
        invoice_status varchar, {_LOG},
        CONSTRAINT sale_order_line_accountable_required_fields
            CHECK (display_type IS NOT NULL OR (product_id IS NOT NULL AND product_uom IS NOT NULL)),
        CONSTRAINT sale_order_line_non_accountable_null_fields
            CHECK (display_type IS NULL OR (product_id IS NULL AND price_unit = 0
                   AND product_uom_qty = 0 AND product_uom IS NULL AND customer_lead = 0)))""",
    f"""CREATE TABLE account_move (
        id serial PRIMARY KEY, name varchar, ref varchar, date date NOT NULL,
        state varchar NOT NULL, move_type varchar NOT NULL, journal_id int4 NOT NULL,
        company_id int4, currency_id int4 NOT NULL, partner_id int4,
        commercial_partner_id int4, invoice_date date, invoice_date_due date,
        invoice_origin varchar, invoice_user_id int4, payment_state varchar,
        amount_untaxed numeric, amount_tax numeric, amount_total numeric,
        amount_residual numeric, amount_total_signed numeric, posted_before bool,
        auto_post varchar NOT NULL DEFAULT 'no', payment_id int4, reversed_entry_id int4, {_LOG})""",
    f"""CREATE TABLE account_move_line (
        id serial PRIMARY KEY, move_id int4 NOT NULL, journal_id int4, company_id int4,
        move_name varchar, parent_state varchar, date date, ref varchar, sequence int4,
        account_id int4, name varchar, debit numeric, credit numeric, balance numeric,
        amount_currency numeric, currency_id int4 NOT NULL, partner_id int4,
        display_type varchar NOT NULL, product_id int4, product_uom_id int4,
        quantity numeric, date_maturity date, price_unit numeric, price_subtotal numeric,
        price_total numeric, discount numeric, tax_line_id int4, {_LOG})""",
    """CREATE TABLE sale_order_line_invoice_rel (
        invoice_line_id int4 NOT NULL, order_line_id int4 NOT NULL,
        PRIMARY KEY (invoice_line_id, order_line_id))""",
    f"""CREATE TABLE account_payment_method (
        id serial PRIMARY KEY, name jsonb NOT NULL, code varchar NOT NULL,
        payment_type varchar NOT NULL, {_LOG})""",
    f"""CREATE TABLE account_payment (
        id serial PRIMARY KEY, move_id int4 NOT NULL, is_reconciled bool, is_matched bool,
        partner_bank_id int4, is_internal_transfer bool, payment_method_line_id int4,
        payment_method_id int4, amount numeric, payment_type varchar NOT NULL,
        partner_type varchar NOT NULL, payment_reference varchar, currency_id int4,
        partner_id int4, destination_account_id int4, {_LOG},
        CONSTRAINT account_payment_check_amount_not_negative CHECK (amount >= 0.0))""",
]


def _t(**names: str) -> str:
    """A translated Char value: jsonb keyed by language code."""
    return json.dumps(names, ensure_ascii=False)


T0 = datetime(2024, 1, 10, 9, 0, 0)
T1 = datetime(2024, 3, 5, 14, 30, 0)


def _log(when: datetime = T0) -> dict:
    return {"create_uid": 2, "create_date": when, "write_uid": 2, "write_date": when}


def fill(conn: sa.Connection) -> Expected:
    insert(conn, "res_country", [
        {"id": 1, "name": _t(en_US="Hungary", hu_HU="Magyarország"), "code": "HU", "phone_code": 36, **_log()},
        {"id": 2, "name": _t(en_US="Austria", hu_HU="Ausztria"), "code": "AT", "phone_code": 43, **_log()},
    ])
    insert(conn, "res_currency", [
        {"id": 1, "name": "HUF", "symbol": "Ft", "rounding": Decimal("0.01"), "active": True, **_log()},
        {"id": 2, "name": "EUR", "symbol": "€", "rounding": Decimal("0.01"), "active": True, **_log()},
    ])
    insert(conn, "res_partner_industry", [
        {"id": 1, "name": _t(en_US="Manufacturing", hu_HU="Gyártás"),
         "full_name": _t(en_US="C - Manufacturing", hu_HU="C - Feldolgozóipar"), "active": True, **_log()},
    ])

    def partner(pid: int, name: str | None, **kw) -> dict:
        row = {
            "id": pid, "name": name, "complete_name": name, "parent_id": None, "type": "contact",
            "is_company": False, "active": True, "partner_share": True, "commercial_partner_id": pid,
            "lang": "hu_HU", "country_id": 1, "customer_rank": 0, "supplier_rank": 0,
            "vat": None, "company_registry": None, "email": None, "phone": None, "mobile": None,
            "website": None, "street": None, "zip": None, "city": None, "user_id": None,
            "industry_id": None, "function": None, "company_id": None, **_log(),
        }
        row.update(kw)
        return row

    insert(conn, "res_partner", [
        # the company running the database, and the partners of its internal users
        partner(1, "Vevőkapu Kft.", is_company=True, vat="HU10000000"),
        partner(2, "Kiss Anna", partner_share=False, email="anna.kiss@vevokapu.hu"),
        partner(3, "Nagy Péter", partner_share=False, email="peter.nagy@vevokapu.hu"),
        # customers, present and past, a prospect and a vendor
        partner(10, "Alföldi Gépgyártó Zrt.", is_company=True, customer_rank=3, vat="HU12345676",
                company_registry="03-10-100123", email="info@alfoldigep.hu", phone="+36 76 123 456",
                street="Ipari út 12.", zip="6000", city="Kecskemét", user_id=2, industry_id=1,
                website="https://alfoldigep.hu"),
        partner(11, "Balaton Vendéglátó Kft.", is_company=True, customer_rank=2, vat="23456789-2-19",
                street="Fő utca 3.", zip="8230", city="Balatonfüred", user_id=3),
        partner(12, "Szabó Éva", customer_rank=1, email="szabo.eva@example.hu", mobile="+36 30 555 1234",
                street="Petőfi u. 7.", zip="1052", city="Budapest"),
        partner(13, "Dunai Logisztika Bt.", is_company=True, city="Győr", zip="9021"),
        partner(14, "Régi Ügyfél Kft.", is_company=True, customer_rank=2, active=False, city="Szeged"),
        partner(15, "Papír Beszállító Kft.", is_company=True, supplier_rank=2, country_id=2, vat="ATU12345678"),
        # people at a company, and an invoice address (not a contact)
        partner(20, "Tóth Gábor", parent_id=10, commercial_partner_id=10, function="beszerzési vezető",
                email="toth.gabor@alfoldigep.hu", phone="+36 76 123 457"),
        partner(21, "Horváth Judit", parent_id=11, commercial_partner_id=11, email="judit@balatonvendeg.hu"),
        partner(22, None, parent_id=10, commercial_partner_id=10, type="invoice", street="Pf. 55", zip="6001"),
    ])
    insert(conn, "res_company", [{"id": 1, "name": "Vevőkapu Kft.", "partner_id": 1, "currency_id": 1, **_log()}])
    insert(conn, "res_users", [
        {"id": 2, "login": "anna.kiss@vevokapu.hu", "partner_id": 2, "company_id": 1, "active": True, "share": False, **_log()},
        {"id": 3, "login": "peter.nagy@vevokapu.hu", "partner_id": 3, "company_id": 1, "active": True, "share": False, **_log()},
        {"id": 4, "login": "szabo.eva@example.hu", "partner_id": 12, "company_id": 1, "active": True, "share": True, **_log()},
    ])

    insert(conn, "product_category", [
        {"id": 1, "name": "All", "complete_name": "All", "parent_path": "1/", **_log()},
        {"id": 2, "name": "Saleable", "complete_name": "All / Saleable", "parent_id": 1, "parent_path": "1/2/", **_log()},
        {"id": 3, "name": "Szolgáltatás", "complete_name": "All / Szolgáltatás", "parent_id": 1, "parent_path": "1/3/", **_log()},
    ])

    def template(tid: int, hu: str, en: str, kind: str, categ: int, price: str, active: bool = True) -> dict:
        return {"id": tid, "name": _t(en_US=en, hu_HU=hu), "detailed_type": kind, "type": kind,
                "categ_id": categ, "list_price": Decimal(price), "sale_ok": True, "purchase_ok": True,
                "uom_id": 1, "uom_po_id": 1, "active": active, **_log()}

    insert(conn, "product_template", [
        template(1, "Ipari szivattyú", "Industrial pump", "product", 2, "450000"),
        template(2, "Telepítés", "Installation", "service", 3, "60000"),
        template(3, "Karbantartási csomag", "Maintenance package", "service", 3, "35000"),
        template(4, "Csavarkészlet", "Screw set", "consu", 2, "2500"),
        template(5, "Régi szivattyú", "Old pump", "product", 2, "300000", active=False),
    ])
    insert(conn, "product_product", [
        {"id": i, "product_tmpl_id": i, "default_code": code, "active": i != 5, **_log()}
        for i, code in enumerate(["SZIV-100", "TELEP", "KARB", "CSAV-01", "SZIV-050"], start=1)
    ])

    def order(oid: int, name: str, partner_id: int, state: str, untaxed: str, when: datetime = T0, **kw) -> dict:
        net = Decimal(untaxed)
        return {"id": oid, "name": name, "company_id": 1, "partner_id": partner_id, "state": state,
                "date_order": when, "validity_date": date(2024, 2, 10), "partner_invoice_id": partner_id,
                "partner_shipping_id": partner_id, "currency_id": 1, "user_id": 2,
                "amount_untaxed": net, "amount_tax": net * Decimal("0.27"), "amount_total": net * Decimal("1.27"),
                **_log(when), **kw}

    insert(conn, "sale_order", [
        order(1, "S00001", 20, "sale", "960000"),  # addressed to a contact person of partner 10
        order(2, "S00002", 11, "sent", "60000"),
        order(3, "S00003", 12, "draft", "35000"),
        order(4, "S00004", 13, "cancel", "2500"),
        order(5, "S00005", 11, "done", "35000", user_id=3),
    ])

    def line(lid: int, order_id: int, product: int | None, name: str, qty: str, price: str, **kw) -> dict:
        q, p = Decimal(qty), Decimal(price)
        row = {"id": lid, "order_id": order_id, "sequence": lid, "company_id": 1, "currency_id": 1,
               "display_type": None, "product_id": product, "name": name, "product_uom_qty": q,
               "product_uom": 1 if product else None, "price_unit": p, "discount": Decimal(0),
               "price_subtotal": q * p, "price_total": q * p * Decimal("1.27"), "customer_lead": 0.0, **_log()}
        row.update(kw)
        return row

    insert(conn, "sale_order_line", [
        line(1, 1, None, "Szivattyúk", "0", "0", display_type="line_section", price_subtotal=0, price_total=0),
        line(2, 1, 1, "[SZIV-100] Ipari szivattyú", "2", "450000"),
        line(3, 1, 2, "[TELEP] Telepítés", "1", "60000"),
        line(4, 2, 2, "[TELEP] Telepítés", "1", "60000"),
        line(5, 3, 3, "[KARB] Karbantartási csomag", "1", "35000"),
        line(6, 4, 4, "[CSAV-01] Csavarkészlet", "1", "2500"),
        line(7, 5, 3, "[KARB] Karbantartási csomag", "1", "35000"),
    ])

    def move(mid: int, name: str, move_type: str, state: str, partner_id: int | None, untaxed: str,
             posted_before: bool, **kw) -> dict:
        net = Decimal(untaxed)
        row = {"id": mid, "name": name, "date": date(2024, 3, 1), "state": state, "move_type": move_type,
               "journal_id": 1, "company_id": 1, "currency_id": 1, "partner_id": partner_id,
               "commercial_partner_id": partner_id, "invoice_date": date(2024, 3, 1),
               "invoice_date_due": date(2024, 3, 31), "invoice_user_id": 2, "payment_state": "not_paid",
               "amount_untaxed": net, "amount_tax": net * Decimal("0.27"), "amount_total": net * Decimal("1.27"),
               "amount_residual": net * Decimal("1.27"), "posted_before": posted_before, **_log(T1)}
        row.update(kw)
        return row

    insert(conn, "account_move", [
        move(1, "INV/2024/00001", "out_invoice", "posted", 10, "100000", True, payment_state="paid",
             amount_residual=Decimal(0), invoice_origin="S00001"),
        move(2, "INV/2024/00002", "out_invoice", "posted", 11, "50000", True),
        move(3, "RINV/2024/00001", "out_refund", "posted", 10, "20000", True, reversed_entry_id=1),
        move(4, "/", "out_invoice", "draft", 12, "35000", False, invoice_date=None),  # never posted
        move(5, "BILL/2024/03/0001", "in_invoice", "posted", 15, "80000", True, invoice_user_id=None),
        move(6, "PBNK1/2024/00001", "entry", "posted", 10, "0", True, invoice_date=None,
             invoice_user_id=None, payment_state=None),
        move(7, "INV/2024/00003", "out_invoice", "cancel", 12, "35000", True),  # posted, then cancelled
        move(8, "PBNK1/2024/00002", "entry", "posted", 15, "0", True, invoice_date=None,
             invoice_user_id=None, payment_state=None),
    ])

    def aml(lid: int, move_id: int, display_type: str, name: str, qty: str | None = None,
            price: str | None = None, product: int | None = None, subtotal: str | None = None) -> dict:
        q = Decimal(qty) if qty is not None else None
        p = Decimal(price) if price is not None else None
        sub = Decimal(subtotal) if subtotal is not None else (q * p if q is not None and p is not None else None)
        return {"id": lid, "move_id": move_id, "journal_id": 1, "company_id": 1, "name": name,
                "display_type": display_type, "product_id": product, "quantity": q, "price_unit": p,
                "discount": Decimal(0), "price_subtotal": sub, "price_total": sub, "currency_id": 1,
                "partner_id": None, "account_id": 1, **_log(T1)}

    insert(conn, "account_move_line", [
        aml(1, 1, "product", "[SZIV-100] Ipari szivattyú (előleg)", "1", "40000", 1),
        aml(2, 1, "product", "[TELEP] Telepítés", "1", "60000", 2),
        aml(3, 1, "tax", "ÁFA 27%", subtotal="27000"),
        aml(4, 1, "payment_term", "INV/2024/00001", subtotal="127000"),
        aml(5, 2, "line_section", "Karbantartás"),
        aml(6, 2, "product", "[KARB] Karbantartási csomag", "1", "50000", 3),
        aml(7, 2, "tax", "ÁFA 27%", subtotal="13500"),
        aml(8, 2, "payment_term", "INV/2024/00002", subtotal="63500"),
        aml(9, 3, "product", "[TELEP] Telepítés (jóváírás)", "1", "20000", 2),
        aml(10, 3, "tax", "ÁFA 27%", subtotal="5400"),
        aml(11, 3, "payment_term", "RINV/2024/00001", subtotal="25400"),
        aml(12, 4, "product", "[KARB] Karbantartási csomag", "1", "35000", 3),
        aml(13, 5, "product", "Irodapapír", "100", "800"),
        aml(14, 7, "product", "[KARB] Karbantartási csomag", "1", "35000", 3),
    ])
    insert(conn, "sale_order_line_invoice_rel", [
        {"invoice_line_id": 1, "order_line_id": 2},
        {"invoice_line_id": 2, "order_line_id": 3},
    ])
    insert(conn, "account_payment_method", [
        {"id": 1, "name": _t(en_US="Manual"), "code": "manual", "payment_type": "inbound", **_log()},
        {"id": 2, "name": _t(en_US="Manual"), "code": "manual", "payment_type": "outbound", **_log()},
    ])
    insert(conn, "account_payment", [
        {"id": 1, "move_id": 6, "payment_method_id": 1, "payment_method_line_id": 1, "amount": Decimal(127000),
         "payment_type": "inbound", "partner_type": "customer", "currency_id": 1, "partner_id": 10,
         "is_reconciled": True, "is_matched": False, "is_internal_transfer": False, **_log(T1)},
        {"id": 2, "move_id": 8, "payment_method_id": 2, "payment_method_line_id": 2, "amount": Decimal(101600),
         "payment_type": "outbound", "partner_type": "supplier", "currency_id": 1, "partner_id": 15,
         "is_reconciled": True, "is_matched": False, "is_internal_transfer": False, **_log(T1)},
    ])
    for table in ("res_country", "res_currency", "res_partner_industry", "res_company", "res_partner",
                  "res_users", "product_category", "product_template", "product_product", "sale_order",
                  "sale_order_line", "account_move", "account_move_line", "account_payment_method",
                  "account_payment"):
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")

    return Expected(
        counts={
            "user": 2,  # internal users; the portal user is left out
            "partner": 6,  # 10–15; the company's own partner and the users' partners are left out
            "contact": 2,  # 20, 21; the invoice address 22 is not a contact
            "product": 5,
            "quote": 5,  # every sale order is a quotation
            "quote_line": 6,  # the section line is left out
            "order": 2,  # S00001 (sale), S00005 (done)
            "order_line": 3,
            "invoice": 4,  # 1, 2, the credit note 3, the cancelled 7; not the draft 4 or the vendor bill 5
            "invoice_line": 5,  # product lines only
            "payment": 1,  # the inbound customer payment; not the vendor payment
            "ticket": 0,
        },
        credit_note_key="3",
        credit_note_total=Decimal(-25400),
        excluded={"invoice": ["4", "5", "6", "8"], "partner": ["1", "2", "3", "20", "22"], "payment": ["2"]},
    )


def build(engine: sa.Engine) -> Expected:
    with engine.begin() as conn:
        run_ddl(conn, DDL)
        return fill(conn)
