"""SAP Business One: the tables and columns connectors/sap_b1.yaml reads.

Business One runs on SQL Server (or SAP HANA). SQL Server is not available where these
tests run, so the layout is built in PostgreSQL with the same table and column names,
quoted to keep B1's capitals ("OCRD"."CardCode"), and read through pyodbc and the
PostgreSQL ODBC driver, which exercises the same portable SQL the definition sends to
SQL Server. Types are the PostgreSQL counterparts of B1's: nvarchar(n) → varchar(n),
int/smallint → int4/int2, numeric(19,6) for amounts, quantities and prices, datetime →
timestamp (B1 keeps dates as datetime at midnight), char(1) Y/N flags → char(1).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from tests.erp_layouts import Expected, insert, run_ddl

DIALECT = "postgresql"

_NUM = "numeric(19,6)"
_DOC_HEAD = f"""
    "DocEntry" int4 NOT NULL PRIMARY KEY, "DocNum" int4 NOT NULL, "DocType" char(1) NOT NULL DEFAULT 'I',
    "CANCELED" char(1) NOT NULL DEFAULT 'N', "DocStatus" char(1) NOT NULL DEFAULT 'O',
    "ObjType" varchar(20) NOT NULL, "DocDate" timestamp, "DocDueDate" timestamp, "TaxDate" timestamp,
    "CardCode" varchar(15), "CardName" varchar(100), "NumAtCard" varchar(100),
    "VatSum" {_NUM}, "VatSumFC" {_NUM} NOT NULL DEFAULT 0, "DiscPrcnt" {_NUM}, "DocCur" varchar(3),
    "DocRate" {_NUM}, "DocTotal" {_NUM}, "DocTotalFC" {_NUM} NOT NULL DEFAULT 0,
    "PaidToDate" {_NUM}, "Comments" varchar(254), "SlpCode" int4 NOT NULL DEFAULT -1, "Series" int4,
    "CreateDate" timestamp, "CreateTS" int4, "UpdateDate" timestamp, "UpdateTS" int4, "UserSign" int2"""
_DOC_LINE = f"""
    "DocEntry" int4 NOT NULL, "LineNum" int4 NOT NULL, "TargetType" int4 NOT NULL DEFAULT -1,
    "TrgetEntry" int4, "BaseRef" varchar(16), "BaseType" int4 NOT NULL DEFAULT -1, "BaseEntry" int4,
    "BaseLine" int4, "LineStatus" char(1) NOT NULL DEFAULT 'O', "ItemCode" varchar(50),
    "Dscription" varchar(200), "Quantity" {_NUM}, "Price" {_NUM}, "Currency" varchar(3),
    "DiscPrcnt" {_NUM}, "LineTotal" {_NUM}, "TotalFrgn" {_NUM} NOT NULL DEFAULT 0, "WhsCode" varchar(8),
    "SlpCode" int4 NOT NULL DEFAULT -1, "VatGroup" varchar(8), "PriceBefDi" {_NUM}, "VatSum" {_NUM},
    "ObjType" varchar(20) NOT NULL, PRIMARY KEY ("DocEntry", "LineNum")"""

DDL = [
    f"""CREATE TABLE "OSLP" ("SlpCode" int4 NOT NULL PRIMARY KEY, "SlpName" varchar(155) NOT NULL,
        "Memo" varchar(50), "Commission" {_NUM}, "GroupCode" int2, "Locked" char(1) NOT NULL DEFAULT 'N',
        "EmplID" int4, "Active" char(1) NOT NULL DEFAULT 'Y', "Telephone" varchar(20), "Mobil" varchar(50),
        "Fax" varchar(20), "Email" varchar(100))""",
    """CREATE TABLE "OCRG" ("GroupCode" int2 NOT NULL PRIMARY KEY, "GroupName" varchar(100) NOT NULL,
        "GroupType" char(1) NOT NULL DEFAULT 'C', "Locked" char(1) NOT NULL DEFAULT 'N')""",
    f"""CREATE TABLE "OCRD" ("CardCode" varchar(15) NOT NULL PRIMARY KEY, "CardName" varchar(100),
        "CardType" char(1) NOT NULL DEFAULT 'C', "GroupCode" int2, "CmpPrivate" char(1) NOT NULL DEFAULT 'C',
        "Address" varchar(100), "ZipCode" varchar(20), "MailAddres" varchar(100), "MailZipCod" varchar(20),
        "Phone1" varchar(20), "Phone2" varchar(20), "Fax" varchar(20), "CntctPrsn" varchar(90),
        "Notes" varchar(100), "Balance" {_NUM}, "CreditLine" {_NUM}, "DebtLine" {_NUM},
        "LicTradNum" varchar(32), "VatStatus" char(1), "Currency" varchar(3), "Cellular" varchar(50),
        "City" varchar(100), "County" varchar(100), "Country" varchar(3), "E_Mail" varchar(100),
        "IntrntSite" varchar(100), "SlpCode" int4 NOT NULL DEFAULT -1, "GroupNum" int2, "ListNum" int2,
        "validFor" char(1) NOT NULL DEFAULT 'N', "frozenFor" char(1) NOT NULL DEFAULT 'N',
        "CreateDate" timestamp, "CreateTS" int4, "UpdateDate" timestamp, "UpdateTS" int4, "UserSign" int2)""",
    """CREATE TABLE "OCPR" ("CntctCode" int4 NOT NULL PRIMARY KEY, "CardCode" varchar(15) NOT NULL,
        "Name" varchar(50) NOT NULL, "Position" varchar(90), "Address" varchar(100), "Tel1" varchar(20),
        "Tel2" varchar(20), "Cellolar" varchar(50), "Fax" varchar(20), "E_MailL" varchar(100),
        "Notes1" varchar(100), "Title" varchar(10), "Active" char(1) NOT NULL DEFAULT 'Y',
        "FirstName" varchar(50), "MiddleName" varchar(50), "LastName" varchar(50))""",
    """CREATE TABLE "OITB" ("ItmsGrpCod" int2 NOT NULL PRIMARY KEY, "ItmsGrpNam" varchar(20) NOT NULL,
        "Locked" char(1) NOT NULL DEFAULT 'N')""",
    f"""CREATE TABLE "OITM" ("ItemCode" varchar(50) NOT NULL PRIMARY KEY, "ItemName" varchar(200),
        "FrgnName" varchar(200), "ItmsGrpCod" int2 NOT NULL DEFAULT 100, "ItemType" char(1) NOT NULL DEFAULT 'I',
        "InvntItem" char(1) NOT NULL DEFAULT 'Y', "SellItem" char(1) NOT NULL DEFAULT 'Y',
        "PrchseItem" char(1) NOT NULL DEFAULT 'Y', "OnHand" {_NUM}, "CodeBars" varchar(254),
        "validFor" char(1) NOT NULL DEFAULT 'N', "frozenFor" char(1) NOT NULL DEFAULT 'N',
        "CreateDate" timestamp, "UpdateDate" timestamp, "UserSign" int2)""",
    f"""CREATE TABLE "ITM1" ("ItemCode" varchar(50) NOT NULL, "PriceList" int2 NOT NULL, "Price" {_NUM},
        "Currency" varchar(3), "Factor" {_NUM}, PRIMARY KEY ("ItemCode", "PriceList"))""",
    f'CREATE TABLE "OQUT" ({_DOC_HEAD})',
    f'CREATE TABLE "QUT1" ({_DOC_LINE})',
    f'CREATE TABLE "ORDR" ({_DOC_HEAD})',
    f'CREATE TABLE "RDR1" ({_DOC_LINE})',
    f'CREATE TABLE "OINV" ({_DOC_HEAD})',
    f'CREATE TABLE "INV1" ({_DOC_LINE})',
    f'CREATE TABLE "ORIN" ({_DOC_HEAD})',
    f'CREATE TABLE "RIN1" ({_DOC_LINE})',
    f"""CREATE TABLE "ORCT" ("DocEntry" int4 NOT NULL PRIMARY KEY, "DocNum" int4 NOT NULL,
        "DocType" char(1) NOT NULL DEFAULT 'C', "Canceled" char(1) NOT NULL DEFAULT 'N',
        "DocDate" timestamp, "DocDueDate" timestamp, "CardCode" varchar(15), "CardName" varchar(100),
        "DocCurr" varchar(3), "DocRate" {_NUM}, "DocTotal" {_NUM}, "DocTotalFC" {_NUM} NOT NULL DEFAULT 0,
        "CashSum" {_NUM} NOT NULL DEFAULT 0, "CreditSum" {_NUM} NOT NULL DEFAULT 0,
        "CheckSum" {_NUM} NOT NULL DEFAULT 0, "TrsfrSum" {_NUM} NOT NULL DEFAULT 0,
        "NoDocSum" {_NUM} NOT NULL DEFAULT 0, "Comments" varchar(254), "JrnlMemo" varchar(50),
        "ObjType" varchar(20) NOT NULL DEFAULT '24', "CreateDate" timestamp, "UpdateDate" timestamp)""",
    f"""CREATE TABLE "RCT2" ("DocNum" int4 NOT NULL, "InvoiceId" int4 NOT NULL, "DocEntry" int4 NOT NULL,
        "SumApplied" {_NUM}, "AppliedFC" {_NUM}, "InvType" varchar(20) NOT NULL DEFAULT '13',
        "InstId" int4, "DocTransId" int4, "DocLine" int4, PRIMARY KEY ("DocNum", "InvoiceId"))""",
]

D0 = datetime(2024, 1, 10)
D1 = datetime(2024, 3, 1)
D2 = datetime(2024, 3, 5)


def _head(obj_type: str, entry: int, card: str, total: str, vat: str, **kw) -> dict:
    row = {"DocEntry": entry, "DocNum": entry, "DocType": "I", "CANCELED": "N", "DocStatus": "O",
           "ObjType": obj_type, "DocDate": D1, "DocDueDate": datetime(2024, 3, 31), "TaxDate": D1,
           "CardCode": card, "CardName": card, "VatSum": Decimal(vat), "DiscPrcnt": Decimal(0),
           "DocCur": "HUF", "DocRate": Decimal(1), "DocTotal": Decimal(total), "PaidToDate": Decimal(0),
           "SlpCode": 1, "Series": 1, "CreateDate": D1, "CreateTS": 101500, "UpdateDate": D2,
           "UpdateTS": 143000, "UserSign": 1}
    row.update(kw)
    return row


def _line(obj_type: str, entry: int, num: int, item: str | None, text: str, qty: str, price: str, **kw) -> dict:
    q, p = Decimal(qty), Decimal(price)
    row = {"DocEntry": entry, "LineNum": num, "ItemCode": item, "Dscription": text, "Quantity": q,
           "Price": p, "PriceBefDi": p, "Currency": "HUF", "DiscPrcnt": Decimal(0), "LineTotal": q * p,
           "VatSum": q * p * Decimal("0.27"), "VatGroup": "A27", "WhsCode": "01", "SlpCode": 1,
           "ObjType": obj_type}
    row.update(kw)
    return row


def fill(conn: sa.Connection) -> Expected:
    insert(conn, "OSLP", [
        {"SlpCode": -1, "SlpName": "-No Sales Employee-", "Active": "Y"},
        {"SlpCode": 1, "SlpName": "Kovács Béla", "Active": "Y", "Email": "bela.kovacs@vevokapu.hu",
         "Mobil": "+36 30 111 2222"},
        {"SlpCode": 2, "SlpName": "Fekete Zsuzsa", "Active": "N"},
    ])
    insert(conn, "OCRG", [
        {"GroupCode": 100, "GroupName": "Nagykereskedelem", "GroupType": "C"},
        {"GroupCode": 101, "GroupName": "Kiskereskedelem", "GroupType": "C"},
        {"GroupCode": 102, "GroupName": "Beszállítók", "GroupType": "S"},
    ])

    def bp(code: str, name: str, card_type: str, group: int, **kw) -> dict:
        row = {"CardCode": code, "CardName": name, "CardType": card_type, "GroupCode": group,
               "Country": "HU", "Currency": "HUF", "SlpCode": -1, "validFor": "N", "frozenFor": "N",
               "CreateDate": D0, "CreateTS": 90000, "UpdateDate": None, "UpdateTS": None, "UserSign": 1}
        row.update(kw)
        return row

    insert(conn, "OCRD", [
        bp("C0001", "Alföldi Gépgyártó Zrt.", "C", 100, LicTradNum="12345676-2-03", E_Mail="info@alfoldigep.hu",
           Phone1="+36 76 123 456", Address="Ipari út 12.", ZipCode="6000", City="Kecskemét", SlpCode=1,
           CreditLine=Decimal(5000000), UpdateDate=D2, UpdateTS=143000),
        bp("C0002", "Balaton Vendéglátó Kft.", "C", 100, LicTradNum="23456789-2-19", City="Balatonfüred", SlpCode=2),
        bp("C0003", "Szabó Éva", "C", 101, CmpPrivate="I", Cellular="+36 30 555 1234", City="Budapest"),
        bp("L0001", "Dunai Logisztika Bt.", "L", 100, City="Győr"),
        bp("S0001", "Papír Beszállító Kft.", "S", 102, Country="AT"),
        bp("C0004", "Régi Ügyfél Kft.", "C", 100, validFor="N", frozenFor="Y", City="Szeged"),
    ])
    insert(conn, "OCPR", [
        {"CntctCode": 1, "CardCode": "C0001", "Name": "Tóth Gábor", "FirstName": "Gábor", "LastName": "Tóth",
         "Position": "beszerzési vezető", "Tel1": "+36 76 123 457", "E_MailL": "toth.gabor@alfoldigep.hu",
         "Active": "Y"},
        {"CntctCode": 2, "CardCode": "C0002", "Name": "Horváth Judit", "FirstName": "Judit", "LastName": "Horváth",
         "Cellolar": "+36 20 333 4444", "Active": "Y"},
        {"CntctCode": 3, "CardCode": "S0001", "Name": "Béla Beszállító", "Active": "Y"},
    ])
    insert(conn, "OITB", [
        {"ItmsGrpCod": 100, "ItmsGrpNam": "Szivattyúk"},
        {"ItmsGrpCod": 101, "ItmsGrpNam": "Szolgáltatások"},
        {"ItmsGrpCod": 102, "ItmsGrpNam": "Fogyóeszközök"},
    ])
    insert(conn, "OITM", [
        {"ItemCode": "SZIV-100", "ItemName": "Ipari szivattyú", "ItmsGrpCod": 100, "InvntItem": "Y",
         "CreateDate": D0, "UpdateDate": D0},
        {"ItemCode": "TELEP", "ItemName": "Telepítés", "ItmsGrpCod": 101, "InvntItem": "N", "CreateDate": D0},
        {"ItemCode": "KARB", "ItemName": "Karbantartási csomag", "ItmsGrpCod": 101, "InvntItem": "N",
         "CreateDate": D0},
        {"ItemCode": "CSAV-01", "ItemName": "Csavarkészlet", "ItmsGrpCod": 102, "InvntItem": "Y",
         "frozenFor": "Y", "CreateDate": D0},
    ])
    insert(conn, "ITM1", [
        {"ItemCode": code, "PriceList": plist, "Price": Decimal(price), "Currency": "HUF", "Factor": Decimal(1)}
        for code, plist, price in [("SZIV-100", 1, "450000"), ("SZIV-100", 2, "420000"), ("TELEP", 1, "60000"),
                                   ("KARB", 1, "35000"), ("CSAV-01", 1, "2500")]
    ])

    insert(conn, "OQUT", [
        _head("23", 1, "C0001", "1219200", "259200", DocStatus="C", DocDate=D0, DocDueDate=datetime(2024, 2, 9)),
        _head("23", 2, "C0002", "76200", "16200", DocDate=D0, DocDueDate=datetime(2024, 2, 9)),
        _head("23", 3, "C0003", "44450", "9450", CANCELED="Y", DocStatus="C"),
    ])
    insert(conn, "QUT1", [
        _line("23", 1, 0, "SZIV-100", "Ipari szivattyú", "2", "450000", LineStatus="C", TargetType=17, TrgetEntry=1),
        _line("23", 1, 1, "TELEP", "Telepítés", "1", "60000", LineStatus="C", TargetType=17, TrgetEntry=1),
        _line("23", 2, 0, "TELEP", "Telepítés", "1", "60000"),
        _line("23", 3, 0, "KARB", "Karbantartási csomag", "1", "35000", LineStatus="C"),
    ])
    insert(conn, "ORDR", [
        _head("17", 1, "C0001", "1219200", "259200", DocStatus="C"),
        _head("17", 2, "C0002", "44450", "9450", CANCELED="Y", DocStatus="C"),
    ])
    insert(conn, "RDR1", [
        _line("17", 1, 0, "SZIV-100", "Ipari szivattyú", "2", "450000", BaseType=23, BaseEntry=1, BaseLine=0),
        _line("17", 1, 1, "TELEP", "Telepítés", "1", "60000", BaseType=23, BaseEntry=1, BaseLine=1),
        _line("17", 2, 0, "KARB", "Karbantartási csomag", "1", "35000"),
    ])
    insert(conn, "OINV", [
        _head("13", 1, "C0001", "127000", "27000", DocStatus="C", PaidToDate=Decimal(127000)),
        # in euros: DocTotal and VatSum in forints (local currency), the FC columns in euros
        _head("13", 2, "C0002", "63500", "13500", DocCur="EUR", DocRate=Decimal("396.85"),
              DocTotalFC=Decimal("160.02"), VatSumFC=Decimal("34.02")),
        # a cancelled invoice and the cancellation document B1 adds for it
        _head("13", 3, "C0003", "44450", "9450", CANCELED="Y", DocStatus="C"),
        _head("13", 4, "C0003", "44450", "9450", CANCELED="C", DocStatus="C"),
    ])
    insert(conn, "INV1", [
        _line("13", 1, 0, "SZIV-100", "Ipari szivattyú (előleg)", "1", "40000", BaseType=17, BaseEntry=1, BaseLine=0),
        _line("13", 1, 1, "TELEP", "Telepítés", "1", "60000", BaseType=17, BaseEntry=1, BaseLine=1),
        _line("13", 2, 0, "KARB", "Karbantartási csomag", "1", "126", Currency="EUR", LineTotal=Decimal(50000),
              TotalFrgn=Decimal(126)),
        _line("13", 3, 0, "KARB", "Karbantartási csomag", "1", "35000"),
        _line("13", 4, 0, "KARB", "Karbantartási csomag", "1", "35000"),
    ])
    # A/R credit memo 1: its DocEntry is the same number as invoice 1's
    insert(conn, "ORIN", [_head("14", 1, "C0001", "25400", "5400", DocStatus="C")])
    insert(conn, "RIN1", [_line("14", 1, 0, "TELEP", "Telepítés (jóváírás)", "1", "20000",
                                BaseType=13, BaseEntry=1, BaseLine=1)])
    insert(conn, "ORCT", [
        {"DocEntry": 1, "DocNum": 1, "DocType": "C", "Canceled": "N", "DocDate": datetime(2024, 3, 20),
         "CardCode": "C0001", "CardName": "Alföldi Gépgyártó Zrt.", "DocCurr": "HUF", "DocRate": Decimal(1),
         "DocTotal": Decimal(127000), "TrsfrSum": Decimal(127000), "CreateDate": datetime(2024, 3, 20),
         "UpdateDate": datetime(2024, 3, 20)},
        {"DocEntry": 2, "DocNum": 2, "DocType": "C", "Canceled": "Y", "DocDate": datetime(2024, 3, 21),
         "CardCode": "C0002", "DocCurr": "HUF", "DocTotal": Decimal(63500), "CashSum": Decimal(63500),
         "CreateDate": datetime(2024, 3, 21), "UpdateDate": datetime(2024, 3, 22)},
    ])
    insert(conn, "RCT2", [
        {"DocNum": 1, "InvoiceId": 0, "DocEntry": 1, "SumApplied": Decimal(127000), "InvType": "13"},
        {"DocNum": 2, "InvoiceId": 0, "DocEntry": 2, "SumApplied": Decimal(63500), "InvType": "13"},
    ])
    return Expected(
        counts={
            "user": 2,  # not the built-in SlpCode -1
            "partner": 5,  # customers and the lead; not the vendor
            "contact": 2,  # not the vendor's contact person
            "product": 4,
            "quote": 2,  # not the cancelled one
            "quote_line": 3,
            "order": 1,
            "order_line": 2,
            "invoice": 3,  # invoices 1 and 2 and credit memo 1; not the cancelled pair
            "invoice_line": 4,
            "payment": 1,
            "ticket": 0,
        },
        credit_note_key="14-1",
        credit_note_total=Decimal(-25400),
        excluded={"invoice": ["13-3", "13-4"], "partner": ["S0001"], "payment": ["2"]},
    )


def build(engine: sa.Engine) -> Expected:
    with engine.begin() as conn:
        run_ddl(conn, DDL)
        return fill(conn)
