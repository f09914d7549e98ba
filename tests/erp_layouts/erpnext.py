"""ERPNext 14–15 on MariaDB: the tables and columns connectors/erpnext.yaml reads.

Tables are made the way frappe/database/mariadb/schema.py makes them: `name varchar(140)
primary key`, creation and modified `datetime(6)`, modified_by, owner, `docstatus int(1)
not null default '0'`, `idx int(8) not null default '0'`; child tables add parent,
parentfield and parenttype; InnoDB, utf8mb4_unicode_ci. Field types follow frappe's type
map: Data, Link, Select, Read Only → varchar(140); Check → int(1) NOT NULL DEFAULT 0;
Currency, Float, Percent → decimal(21,9) NOT NULL DEFAULT 0; Int → int(11) NOT NULL
DEFAULT 0; Date → date; Datetime → datetime(6); Time → time(6); Text, Small Text,
Text Editor → text / longtext.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from tests.erp_layouts import Expected, insert, run_ddl

DIALECT = "mysql"

_STD = """name varchar(140) NOT NULL PRIMARY KEY,
        creation datetime(6), modified datetime(6), modified_by varchar(140), owner varchar(140),
        docstatus int(1) NOT NULL DEFAULT 0, idx int(8) NOT NULL DEFAULT 0"""
_PARENT = "_user_tags text, _comments text, _assign text, _liked_by text, INDEX creation (creation)"
_CHILD = "parent varchar(140), parentfield varchar(140), parenttype varchar(140), INDEX parent (parent)"
_TAIL = "ENGINE=InnoDB ROW_FORMAT=DYNAMIC CHARACTER SET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
_CUR = "decimal(21,9) NOT NULL DEFAULT 0"
_CHECK = "int(1) NOT NULL DEFAULT 0"
_V = "varchar(140)"


def _doctype(table: str, columns: str, child: bool = False) -> str:
    return f"CREATE TABLE `{table}` ({_STD},\n        {columns},\n        {_CHILD if child else _PARENT}) {_TAIL}"


DDL = [
    _doctype("tabCountry", f"country_name {_V}, date_format {_V}, time_format {_V}, time_zones text, code {_V}"),
    _doctype("tabEmployee", f"""employee {_V}, naming_series {_V}, first_name {_V}, last_name {_V},
        employee_name {_V}, gender {_V}, date_of_birth date, date_of_joining date, status {_V},
        user_id {_V}, company {_V}, department {_V}, designation {_V}, cell_number {_V},
        personal_email {_V}, company_email {_V}, prefered_contact_email {_V}, prefered_email {_V}"""),
    _doctype("tabSales Person", f"""sales_person_name {_V}, parent_sales_person {_V},
        commission_rate {_V}, is_group {_CHECK}, enabled int(1) NOT NULL DEFAULT 1, employee {_V},
        department {_V}, lft int(11) NOT NULL DEFAULT 0, rgt int(11) NOT NULL DEFAULT 0, old_parent {_V}"""),
    _doctype("tabAddress", f"""address_title {_V}, address_type {_V}, address_line1 {_V},
        address_line2 {_V}, city {_V}, county {_V}, state {_V}, country {_V}, pincode {_V},
        email_id {_V}, phone {_V}, is_primary_address {_CHECK}, is_shipping_address {_CHECK},
        disabled {_CHECK}"""),
    _doctype("tabCustomer", f"""naming_series {_V}, salutation {_V}, customer_name {_V},
        customer_type {_V}, customer_group {_V}, territory {_V}, gender {_V}, lead_name {_V},
        opportunity_name {_V}, account_manager {_V}, image text, default_price_list {_V},
        default_currency {_V}, is_internal_customer {_CHECK}, market_segment {_V}, industry {_V},
        website {_V}, language {_V}, customer_details text, customer_primary_contact {_V},
        mobile_no {_V}, email_id {_V}, customer_primary_address {_V}, primary_address text,
        tax_id {_V}, tax_category {_V}, payment_terms {_V}, is_frozen {_CHECK}, disabled {_CHECK},
        INDEX customer_name (customer_name), INDEX customer_group (customer_group)"""),
    _doctype("tabCustomer Credit Limit", f"company {_V}, credit_limit {_CUR}, bypass_credit_limit_check {_CHECK}",
             child=True),
    _doctype("tabSales Team", f"""sales_person {_V}, contact_no {_V}, allocated_percentage {_CUR},
        allocated_amount {_CUR}, commission_rate {_V}, incentives {_CUR}""", child=True),
    _doctype("tabContact", f"""first_name {_V}, middle_name {_V}, last_name {_V}, full_name {_V},
        email_id {_V}, user {_V}, address {_V}, status {_V}, salutation {_V}, designation {_V},
        gender {_V}, phone {_V}, mobile_no {_V}, company_name {_V}, image text,
        is_primary_contact {_CHECK}, department {_V}, unsubscribed {_CHECK}"""),
    _doctype("tabDynamic Link", f"link_doctype {_V}, link_name {_V}, link_title {_V}", child=True),
    _doctype("tabItem", f"""naming_series {_V}, item_code {_V}, item_name {_V}, item_group {_V},
        stock_uom {_V}, opening_stock {_CUR}, valuation_rate {_CUR}, standard_rate {_CUR},
        disabled {_CHECK}, is_stock_item int(1) NOT NULL DEFAULT 1, has_variants {_CHECK},
        variant_of {_V}, is_fixed_asset {_CHECK}, description longtext, brand {_V},
        is_sales_item int(1) NOT NULL DEFAULT 1, UNIQUE KEY item_code (item_code)"""),
    _doctype("tabQuotation", f"""title {_V}, naming_series {_V}, quotation_to {_V}, party_name {_V},
        customer_name {_V}, amended_from {_V}, company {_V}, transaction_date date, valid_till date,
        order_type {_V}, customer_group {_V}, territory {_V}, currency {_V}, conversion_rate decimal(21,9) NOT NULL DEFAULT 0,
        selling_price_list {_V}, price_list_currency {_V}, plc_conversion_rate decimal(21,9) NOT NULL DEFAULT 0,
        total_qty {_CUR}, base_total {_CUR}, base_net_total {_CUR}, total {_CUR}, net_total {_CUR},
        base_total_taxes_and_charges {_CUR}, total_taxes_and_charges {_CUR}, base_grand_total {_CUR},
        grand_total {_CUR}, rounded_total {_CUR}, status {_V}, order_lost_reason text, opportunity {_V}"""),
    _doctype("tabQuotation Item", f"""item_code {_V}, item_name {_V}, description longtext,
        item_group {_V}, qty {_CUR}, stock_uom {_V}, uom {_V}, price_list_rate {_CUR},
        discount_percentage {_CUR}, discount_amount {_CUR}, rate {_CUR}, amount {_CUR},
        net_rate {_CUR}, net_amount {_CUR}, base_rate {_CUR}, base_amount {_CUR}""", child=True),
    _doctype("tabSales Order", f"""title {_V}, naming_series {_V}, customer {_V}, customer_name {_V},
        order_type {_V}, amended_from {_V}, company {_V}, transaction_date date, delivery_date date,
        po_no {_V}, currency {_V}, conversion_rate decimal(21,9) NOT NULL DEFAULT 0, selling_price_list {_V},
        total_qty {_CUR}, total {_CUR}, net_total {_CUR}, total_taxes_and_charges {_CUR},
        grand_total {_CUR}, rounded_total {_CUR}, advance_paid {_CUR}, status {_V},
        delivery_status {_V}, per_delivered {_CUR}, per_billed {_CUR}, billing_status {_V},
        sales_partner {_V}"""),
    _doctype("tabSales Order Item", f"""item_code {_V}, item_name {_V}, description longtext,
        item_group {_V}, delivery_date date, qty {_CUR}, stock_uom {_V}, uom {_V},
        price_list_rate {_CUR}, discount_percentage {_CUR}, rate {_CUR}, amount {_CUR},
        net_rate {_CUR}, net_amount {_CUR}, warehouse {_V}, prevdoc_docname {_V},
        quotation_item {_V}, delivered_qty {_CUR}, billed_amt {_CUR}""", child=True),
    _doctype("tabSales Invoice", f"""title {_V}, naming_series {_V}, customer {_V}, customer_name text,
        tax_id {_V}, company {_V}, posting_date date, posting_time time(6), due_date date,
        is_pos {_CHECK}, is_return {_CHECK}, return_against {_V}, is_debit_note {_CHECK},
        amended_from {_V}, currency {_V}, conversion_rate decimal(21,9) NOT NULL DEFAULT 0,
        selling_price_list {_V}, total_qty {_CUR}, base_total {_CUR}, base_net_total {_CUR},
        total {_CUR}, net_total {_CUR}, base_total_taxes_and_charges {_CUR},
        total_taxes_and_charges {_CUR}, base_grand_total {_CUR}, grand_total {_CUR},
        rounded_total {_CUR}, outstanding_amount {_CUR}, debit_to {_V}, status {_V},
        customer_group {_V}, territory {_V}, INDEX return_against (return_against)"""),
    _doctype("tabSales Invoice Item", f"""item_code {_V}, item_name {_V}, description longtext,
        item_group {_V}, qty {_CUR}, stock_uom {_V}, uom {_V}, price_list_rate {_CUR},
        discount_percentage {_CUR}, rate {_CUR}, amount {_CUR}, net_rate {_CUR},
        net_amount {_CUR}, income_account {_V}, sales_order {_V}, so_detail {_V},
        delivery_note {_V}""", child=True),
    _doctype("tabPayment Entry", f"""naming_series {_V}, payment_type {_V}, posting_date date,
        company {_V}, mode_of_payment {_V}, party_type {_V}, party {_V}, party_name {_V},
        paid_from {_V}, paid_from_account_currency {_V}, paid_to {_V},
        paid_to_account_currency {_V}, paid_amount {_CUR}, received_amount {_CUR},
        base_received_amount {_CUR}, reference_no {_V}, reference_date date, status {_V}"""),
    _doctype("tabPayment Entry Reference", f"""reference_doctype {_V}, reference_name {_V},
        due_date date, bill_no {_V}, total_amount {_CUR}, outstanding_amount {_CUR},
        allocated_amount {_CUR}, exchange_rate decimal(21,9) NOT NULL DEFAULT 0""", child=True),
    _doctype("tabIssue", f"""naming_series {_V}, subject {_V}, customer {_V}, raised_by {_V},
        status {_V}, priority {_V}, issue_type {_V}, description longtext, lead {_V},
        contact {_V}, customer_name {_V}, project {_V}, company {_V}, resolution_details longtext,
        opening_date date, opening_time time(6), resolution_date datetime(6),
        first_responded_on datetime(6), via_customer_portal {_CHECK}"""),
]

T0 = datetime(2024, 1, 10, 9, 0, 0, 123456)
T1 = datetime(2024, 3, 5, 14, 30, 0, 654321)
ADMIN = "Administrator"


def _std(name: str, when: datetime = T0, docstatus: int = 0, **kw) -> dict:
    return {"name": name, "creation": when, "modified": when, "modified_by": ADMIN, "owner": ADMIN,
            "docstatus": docstatus, "idx": 0, **kw}


def _child(name: str, parent: str, parenttype: str, parentfield: str, idx: int, docstatus: int = 0, **kw) -> dict:
    return {"name": name, "creation": T0, "modified": T0, "modified_by": ADMIN, "owner": ADMIN,
            "docstatus": docstatus, "idx": idx, "parent": parent, "parenttype": parenttype,
            "parentfield": parentfield, **kw}


ALFOLDI = "Alföldi Gépgyártó Zrt."
BALATON = "Balaton Vendéglátó Kft."
SZABO = "Szabó Éva"
REGI = "Régi Ügyfél Kft."


def _totals(net: str, taxed: bool = True) -> dict:
    n = Decimal(net)
    tax = (n * Decimal("0.27")) if taxed else Decimal(0)
    return {"total": n, "net_total": n, "total_taxes_and_charges": tax, "grand_total": n + tax,
            "rounded_total": n + tax, "currency": "HUF", "conversion_rate": Decimal(1)}


def _item_row(name: str, parent: str, parenttype: str, idx: int, code: str, item_name: str, qty: str,
              rate: str, docstatus: int, **kw) -> dict:
    q, r = Decimal(qty), Decimal(rate)
    return _child(name, parent, parenttype, "items", idx, docstatus, item_code=code, item_name=item_name,
                  description=f"<p>{item_name}</p>", qty=q, stock_uom="Nos", uom="Nos", price_list_rate=r,
                  discount_percentage=Decimal(0), rate=r, amount=q * r, net_rate=r, net_amount=q * r, **kw)


def fill(conn: sa.Connection) -> Expected:
    insert(conn, "tabCountry", [
        _std("Hungary", country_name="Hungary", code="hu", date_format="yyyy-mm-dd"),
        _std("Austria", country_name="Austria", code="at", date_format="dd-mm-yyyy"),
    ])
    insert(conn, "tabEmployee", [
        _std("HR-EMP-00001", employee="HR-EMP-00001", naming_series="HR-EMP-", first_name="Béla",
             last_name="Kovács", employee_name="Kovács Béla", gender="Male", date_of_birth=date(1980, 5, 1),
             date_of_joining=date(2015, 2, 1), status="Active", user_id="bela.kovacs@vevokapu.hu",
             company="Vevőkapu Kft.", company_email="bela.kovacs@vevokapu.hu",
             prefered_contact_email="Company Email", prefered_email="bela.kovacs@vevokapu.hu"),
    ])
    insert(conn, "tabSales Person", [
        _std("Sales Team", sales_person_name="Sales Team", is_group=1, enabled=1, lft=1, rgt=6),
        _std("Kovács Béla", sales_person_name="Kovács Béla", parent_sales_person="Sales Team", is_group=0,
             enabled=1, employee="HR-EMP-00001", lft=2, rgt=3),
        _std("Fekete Zsuzsa", sales_person_name="Fekete Zsuzsa", parent_sales_person="Sales Team", is_group=0,
             enabled=0, lft=4, rgt=5),
    ])
    insert(conn, "tabAddress", [
        _std(f"{ALFOLDI}-Billing", address_title=ALFOLDI, address_type="Billing", address_line1="Ipari út 12.",
             city="Kecskemét", country="Hungary", pincode="6000", is_primary_address=1, when=T1),
        _std(f"{BALATON}-Billing", address_title=BALATON, address_type="Billing", address_line1="Fő utca 3.",
             city="Balatonfüred", country="Hungary", pincode="8230", is_primary_address=1),
    ])

    def customer(name: str, ctype: str, group: str, **kw) -> dict:
        return _std(name, naming_series="CUST-.YYYY.-", customer_name=name, customer_type=ctype,
                    customer_group=group, territory="Hungary", default_currency="HUF", language="hu", **kw)

    insert(conn, "tabCustomer", [
        customer(ALFOLDI, "Company", "Commercial", tax_id="12345676-2-03", industry="Manufacturing",
                 customer_primary_address=f"{ALFOLDI}-Billing", email_id="info@alfoldigep.hu",
                 website="https://alfoldigep.hu"),
        customer(BALATON, "Company", "Commercial", tax_id="23456789-2-19",
                 customer_primary_address=f"{BALATON}-Billing"),
        customer(SZABO, "Individual", "Individual", mobile_no="+36 30 555 1234", email_id="szabo.eva@example.hu"),
        customer(REGI, "Company", "Commercial", disabled=1),
    ])
    insert(conn, "tabCustomer Credit Limit", [
        _child("ccl0001", ALFOLDI, "Customer", "credit_limits", 1, company="Vevőkapu Kft.",
               credit_limit=Decimal(5000000)),
    ])
    insert(conn, "tabSales Team", [
        _child("st0001", ALFOLDI, "Customer", "sales_team", 1, sales_person="Kovács Béla",
               allocated_percentage=Decimal(100)),
        _child("st0002", "SAL-ORD-2024-00001", "Sales Order", "sales_team", 1, 1, sales_person="Kovács Béla",
               allocated_percentage=Decimal(100)),
        _child("st0003", "ACC-SINV-2024-00001", "Sales Invoice", "sales_team", 1, 1, sales_person="Kovács Béla",
               allocated_percentage=Decimal(100)),
        _child("st0004", "ACC-SINV-2024-00001", "Sales Invoice", "sales_team", 2, 1, sales_person="Fekete Zsuzsa",
               allocated_percentage=Decimal(0)),
    ])
    insert(conn, "tabContact", [
        _std(f"Tóth Gábor-{ALFOLDI}", first_name="Gábor", last_name="Tóth", full_name="Gábor Tóth",
             email_id="toth.gabor@alfoldigep.hu", status="Passive", designation="Beszerzési vezető",
             gender="Male", phone="+36 76 123 457", is_primary_contact=1),
        _std(f"Horváth Judit-{BALATON}", first_name="Judit", last_name="Horváth", full_name="Judit Horváth",
             email_id="judit@balatonvendeg.hu", status="Passive", gender="Female"),
        _std("Béla Beszállító-Papír Kft.", first_name="Béla", last_name="Beszállító", full_name="Béla Beszállító",
             status="Passive"),
    ])
    insert(conn, "tabDynamic Link", [
        _child("dl0001", f"Tóth Gábor-{ALFOLDI}", "Contact", "links", 1, link_doctype="Customer",
               link_name=ALFOLDI, link_title=ALFOLDI),
        _child("dl0002", f"Horváth Judit-{BALATON}", "Contact", "links", 1, link_doctype="Customer",
               link_name=BALATON, link_title=BALATON),
        _child("dl0003", "Béla Beszállító-Papír Kft.", "Contact", "links", 1, link_doctype="Supplier",
               link_name="Papír Kft.", link_title="Papír Kft."),
    ])

    def item(code: str, name: str, group: str, stock: int, rate: str, **kw) -> dict:
        return _std(code, item_code=code, item_name=name, item_group=group, stock_uom="Nos",
                    is_stock_item=stock, standard_rate=Decimal(rate), description=f"<p>{name}</p>", **kw)

    insert(conn, "tabItem", [
        item("SZIV-100", "Ipari szivattyú", "Products", 1, "450000"),
        item("TELEP", "Telepítés", "Services", 0, "60000"),
        item("KARB", "Karbantartási csomag", "Services", 0, "35000"),
        item("CSAV-01", "Csavarkészlet", "Consumable", 1, "2500", disabled=1),
    ])

    def quotation(name: str, party: str, docstatus: int, status: str, net: str, to: str = "Customer") -> dict:
        return _std(name, docstatus=docstatus, when=T1, title=party, naming_series="SAL-QTN-.YYYY.-",
                    quotation_to=to, party_name=party, customer_name=party, company="Vevőkapu Kft.",
                    transaction_date=date(2024, 1, 10), valid_till=date(2024, 2, 9), order_type="Sales",
                    selling_price_list="Standard Selling", price_list_currency="HUF",
                    plc_conversion_rate=Decimal(1), status=status, **_totals(net))

    insert(conn, "tabQuotation", [
        quotation("SAL-QTN-2024-00001", ALFOLDI, 1, "Ordered", "960000"),
        quotation("SAL-QTN-2024-00002", BALATON, 1, "Open", "60000"),
        quotation("SAL-QTN-2024-00003", SZABO, 0, "Draft", "35000"),
        quotation("SAL-QTN-2024-00004", "CRM-LEAD-2024-00001", 1, "Open", "35000", to="Lead"),
        quotation("SAL-QTN-2024-00005", SZABO, 2, "Cancelled", "2500"),
    ])
    insert(conn, "tabQuotation Item", [
        _item_row("qi0001", "SAL-QTN-2024-00001", "Quotation", 1, "SZIV-100", "Ipari szivattyú", "2", "450000", 1),
        _item_row("qi0002", "SAL-QTN-2024-00001", "Quotation", 2, "TELEP", "Telepítés", "1", "60000", 1),
        _item_row("qi0003", "SAL-QTN-2024-00002", "Quotation", 1, "TELEP", "Telepítés", "1", "60000", 1),
        _item_row("qi0004", "SAL-QTN-2024-00003", "Quotation", 1, "KARB", "Karbantartási csomag", "1", "35000", 0),
        _item_row("qi0005", "SAL-QTN-2024-00004", "Quotation", 1, "KARB", "Karbantartási csomag", "1", "35000", 1),
        _item_row("qi0006", "SAL-QTN-2024-00005", "Quotation", 1, "CSAV-01", "Csavarkészlet", "1", "2500", 2),
    ])

    def sales_order(name: str, customer_name: str, docstatus: int, status: str, net: str) -> dict:
        return _std(name, docstatus=docstatus, when=T1, title=customer_name, naming_series="SAL-ORD-.YYYY.-",
                    customer=customer_name, customer_name=customer_name, order_type="Sales",
                    company="Vevőkapu Kft.", transaction_date=date(2024, 1, 20), delivery_date=date(2024, 2, 20),
                    selling_price_list="Standard Selling", status=status, **_totals(net))

    insert(conn, "tabSales Order", [
        sales_order("SAL-ORD-2024-00001", ALFOLDI, 1, "To Deliver and Bill", "960000"),
        sales_order("SAL-ORD-2024-00002", BALATON, 0, "Draft", "35000"),
    ])
    insert(conn, "tabSales Order Item", [
        _item_row("soi0001", "SAL-ORD-2024-00001", "Sales Order", 1, "SZIV-100", "Ipari szivattyú", "2", "450000", 1,
                  prevdoc_docname="SAL-QTN-2024-00001", quotation_item="qi0001"),
        _item_row("soi0002", "SAL-ORD-2024-00001", "Sales Order", 2, "TELEP", "Telepítés", "1", "60000", 1,
                  prevdoc_docname="SAL-QTN-2024-00001", quotation_item="qi0002"),
        _item_row("soi0003", "SAL-ORD-2024-00002", "Sales Order", 1, "KARB", "Karbantartási csomag", "1", "35000", 0),
    ])

    def invoice(name: str, customer_name: str, docstatus: int, status: str, net: str, **kw) -> dict:
        totals = _totals(net)
        kw.setdefault("naming_series", "ACC-SINV-.YYYY.-")
        return _std(name, docstatus=docstatus, when=T1, title=customer_name,
                    customer=customer_name, customer_name=customer_name, company="Vevőkapu Kft.",
                    posting_date=date(2024, 3, 1), posting_time=time(10, 0), due_date=date(2024, 3, 31),
                    selling_price_list="Standard Selling", debit_to="Vevők - VK", status=status,
                    outstanding_amount=Decimal(0) if status == "Paid" else totals["grand_total"],
                    **totals, **kw)

    insert(conn, "tabSales Invoice", [
        invoice("ACC-SINV-2024-00001", ALFOLDI, 1, "Paid", "100000"),
        invoice("ACC-SINV-2024-00002", BALATON, 1, "Unpaid", "50000"),
        # the credit note: a return against the first invoice, negative already
        invoice("ACC-SINV-RET-2024-00001", ALFOLDI, 1, "Return", "-20000", is_return=1,
                return_against="ACC-SINV-2024-00001", naming_series="ACC-SINV-RET-.YYYY.-"),
        invoice("ACC-SINV-2024-00003", SZABO, 2, "Cancelled", "35000"),
        invoice("ACC-SINV-2024-00004", SZABO, 0, "Draft", "35000"),
    ])
    insert(conn, "tabSales Invoice Item", [
        _item_row("sii0001", "ACC-SINV-2024-00001", "Sales Invoice", 1, "SZIV-100", "Ipari szivattyú (előleg)",
                  "1", "40000", 1, sales_order="SAL-ORD-2024-00001", so_detail="soi0001"),
        _item_row("sii0002", "ACC-SINV-2024-00001", "Sales Invoice", 2, "TELEP", "Telepítés", "1", "60000", 1,
                  sales_order="SAL-ORD-2024-00001", so_detail="soi0002"),
        _item_row("sii0003", "ACC-SINV-2024-00002", "Sales Invoice", 1, "KARB", "Karbantartási csomag",
                  "1", "50000", 1),
        _item_row("sii0004", "ACC-SINV-RET-2024-00001", "Sales Invoice", 1, "TELEP", "Telepítés", "-1", "20000", 1),
        _item_row("sii0005", "ACC-SINV-2024-00003", "Sales Invoice", 1, "KARB", "Karbantartási csomag",
                  "1", "35000", 2),
        _item_row("sii0006", "ACC-SINV-2024-00004", "Sales Invoice", 1, "KARB", "Karbantartási csomag",
                  "1", "35000", 0),
    ])

    def payment(name: str, ptype: str, party_type: str, party: str, docstatus: int, amount: str) -> dict:
        a = Decimal(amount)
        return _std(name, docstatus=docstatus, when=T1, naming_series="ACC-PAY-.YYYY.-", payment_type=ptype,
                    posting_date=date(2024, 3, 20), company="Vevőkapu Kft.", mode_of_payment="Átutalás",
                    party_type=party_type, party=party, party_name=party, paid_from="Vevők - VK",
                    paid_from_account_currency="HUF", paid_to="Bank - VK", paid_to_account_currency="HUF",
                    paid_amount=a, received_amount=a, base_received_amount=a, status="Submitted")

    insert(conn, "tabPayment Entry", [
        payment("ACC-PAY-2024-00001", "Receive", "Customer", ALFOLDI, 1, "127000"),
        payment("ACC-PAY-2024-00002", "Pay", "Supplier", "Papír Kft.", 1, "101600"),
        payment("ACC-PAY-2024-00003", "Receive", "Customer", BALATON, 2, "63500"),
    ])
    insert(conn, "tabPayment Entry Reference", [
        _child("per0001", "ACC-PAY-2024-00001", "Payment Entry", "references", 1, 1,
               reference_doctype="Sales Invoice", reference_name="ACC-SINV-2024-00001",
               total_amount=Decimal(127000), allocated_amount=Decimal(127000), exchange_rate=Decimal(1)),
    ])
    insert(conn, "tabIssue", [
        _std("ISS-2024-00001", when=T1, naming_series="ISS-.YYYY.-", subject="A szivattyú szivárog",
             customer=ALFOLDI, raised_by="toth.gabor@alfoldigep.hu", status="Open", priority="High",
             issue_type="Panasz", opening_date=date(2024, 3, 10), opening_time=time(8, 15)),
        _std("ISS-2024-00002", when=T1, naming_series="ISS-.YYYY.-", subject="Számla másolat kérése",
             customer=BALATON, status="Closed", priority="Low", issue_type="Question",
             opening_date=date(2024, 3, 11), opening_time=time(9, 30),
             resolution_date=datetime(2024, 3, 12, 11, 0)),
    ])
    return Expected(
        counts={
            "user": 2,  # sales persons; the group "Sales Team" is left out
            "partner": 4,
            "contact": 2,  # the supplier's contact is left out
            "product": 4,
            "quote": 2,  # submitted, to a customer; not the draft, the lead's or the cancelled one
            "quote_line": 3,
            "order": 1,  # not the draft
            "order_line": 2,
            "invoice": 3,  # two invoices and the return; not the cancelled or the draft
            "invoice_line": 4,
            "payment": 1,  # received from a customer; not the supplier payment or the cancelled one
            "ticket": 2,
        },
        credit_note_key="ACC-SINV-RET-2024-00001",
        credit_note_total=Decimal(-25400),
        excluded={"invoice": ["ACC-SINV-2024-00003", "ACC-SINV-2024-00004"],
                  "quote": ["SAL-QTN-2024-00003", "SAL-QTN-2024-00004", "SAL-QTN-2024-00005"],
                  "payment": ["ACC-PAY-2024-00002", "ACC-PAY-2024-00003"]},
    )


def build(engine: sa.Engine) -> Expected:
    with engine.begin() as conn:
        run_ddl(conn, DDL)
        return fill(conn)
