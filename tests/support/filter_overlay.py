"""The handmade overlay the segment-filter tests select from, and the filters checked on it.

`fill` writes the rows below into an overlay that has the real tables and the stand-ins
of tests.support.filter_registry. `CASES` pairs filters with the partners they select,
worked out by hand from these rows with today = 2024-06-30; `YAML_FORMS` pairs a text
filter with the same filter in YAML form; `INJECTIONS` are values that must select nobody.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.synced import SYNCED
from tests.support.filter_registry import consents, metrics, tags

SYNCED_AT = datetime(2024, 6, 30, 6, 0)

ARVIZTURO = "ÁRVÍZTŰRŐ Tükörfúrógép Kft."
PARTNERS = [  # id, name, city, zip, kind, is_customer, email, created_at
    (1, "Kovács és Társa Kft.", "Budapest", "1051", "company", True, "info@kovacs.hu", datetime(2015, 3, 1, 8, 0)),
    (2, "Győri Fémáru Zrt.", "Győr", "9021", "company", True, None, datetime(2018, 6, 1)),
    (3, "Szabó Péter", "budapest", "1117", "person", True, "peter@szabo.hu", datetime(2024, 5, 10, 14, 30)),
    (4, "Debreceni Építő Bt.", "Debrecen", "4025", "company", True, "", datetime(2019, 2, 2)),
    (5, "Pécsi Kereskedőház Kft.", None, None, "company", False, None, datetime(2024, 6, 1)),
    (6, "Nagy Anna", "Budapest", "1239", "person", True, "anna.nagy@example.hu", datetime(2010, 1, 1)),
    (7, ARVIZTURO, "SZÉKESFEHÉRVÁR", "8000", "company", True, "info@arvizturo.hu", datetime(2020, 9, 9)),
]
PROFILES = [  # partner, key_account, custom
    (1, False, {"branch": "építőipar", "employees": 12}),
    (2, True, {"branch": "fémipar", "employees": 250}),
    (4, False, {"employees": 40}),
    (6, False, {}),
]
METRICS = [  # partner, revenue_12m, last_purchase, rfm_group, lapsed_rule, lapse_score, p_alive
    (1, 800_000, date(2024, 2, 1), "at_risk", False, 0.70, 0.40),
    (2, 1_200_000, date(2023, 11, 15), "hibernating", False, 0.80, 0.30),
    (3, 300_000, date(2024, 6, 20), "champions", False, 0.05, 0.95),
    (4, 600_000, date(2024, 1, 10), "at_risk", False, 0.60, 0.50),
    (6, 0, date(2022, 3, 1), "lost", True, 0.99, 0.02),
    (7, 500_000, date(2024, 6, 30), "loyal", False, 0.20, 0.85),
]
PRODUCTS = [  # id, code, name, category, kind
    (1, "CS-100", "Facsavar 4x40", "Csavarok", "goods"),
    (2, "SZ-200", "Csavarhúzó készlet", "Szerszámok", "goods"),
    (3, "SRV-1", "Helyszíni szerelés", "Szolgáltatás", "service"),
]
INVOICES = [  # id, partner, date, status, kind, deleted, products
    (1, 1, date(2024, 2, 1), "posted", "invoice", False, [1]),
    (2, 2, date(2023, 11, 15), "paid", "invoice", False, [1]),
    (3, 3, date(2024, 6, 20), "posted", "invoice", False, [2]),
    (4, 3, date(2024, 5, 1), "posted", "credit_note", False, [1]),  # a credit note is no purchase
    (5, 4, date(2024, 1, 10), "cancelled", "invoice", False, [1]),  # nor a cancelled invoice
    (6, 4, date(2024, 1, 10), "posted", "invoice", False, [2]),
    (7, 6, date(2022, 3, 1), "paid", "invoice", False, [1]),  # long ago
    (8, 6, date(2024, 3, 1), "posted", "invoice", True, [1]),  # deleted in the ERP
    (9, 6, date(2024, 8, 1), "posted", "invoice", False, [1]),  # future-dated
    (10, 7, date(2024, 6, 30), "posted", "invoice", False, [1, 3]),  # today
    (11, 1, date(2024, 4, 1), "draft", "invoice", False, [3]),  # a draft
]
QUOTES = [  # id, partner, date, status, valid_until, deleted, products
    (1, 2, date(2024, 6, 1), "sent", date(2024, 7, 31), False, [2]),  # open
    (2, 1, date(2024, 1, 5), "sent", date(2024, 2, 5), False, [1]),  # expired
    (3, 5, date(2024, 6, 15), "draft", None, False, [3]),  # open: being written
    (4, 4, date(2024, 6, 10), "refused", None, False, [2]),
    (5, 6, date(2024, 6, 20), "sent", date(2024, 7, 20), True, [1]),  # deleted
]
TICKETS = [  # id, partner, category, opened_at
    (1, 1, "complaint", datetime(2024, 3, 10, 10, 0)),
    (2, 1, "complaint", datetime(2024, 6, 29, 15, 30)),
    (3, 3, "complaint", datetime(2024, 5, 5, 9, 0)),
    (4, 4, "complaint", datetime(2023, 10, 1, 12, 0)),  # before the last 180 days (from 2024-01-02)
    (5, 4, "complaint", datetime(2024, 2, 1, 8, 0)),
    (6, 4, "complaint", datetime(2024, 6, 30, 23, 59)),  # today, late
    (7, 4, "question", datetime(2024, 4, 1, 8, 0)),
    (8, 1, "complaint", datetime(2024, 7, 15, 8, 0)),  # future-dated
]
TAGS = [(1, "vip"), (2, "VIP"), (2, "export"), (6, "hírlevél")]
CONSENTS = [(1, "email", True), (2, "email", False), (3, "email", True), (3, "sms", True), (6, "sms", True)]


def synced(id_: int, **values: Any) -> dict[str, Any]:
    return {"id": id_, "source": "erp", "erp_key": str(id_), "row_hash": "-", "synced_at": SYNCED_AT, **values}


def documents(rows: list[tuple[Any, ...]], fields: tuple[str, ...], entity: str) -> tuple[list[Any], list[Any]]:
    """Header rows (`fields`, then `deleted` and the product list) and their lines."""
    headers, lines = [], []
    for i, *values, deleted, products in rows:
        headers.append(synced(i, **dict(zip(fields, values)), erp_deleted_at=SYNCED_AT if deleted else None))
        lines += [synced(i * 10 + n, **{f"{entity}_id": i, "product_id": p}) for n, p in enumerate(products)]
    return headers, lines


def fill(conn: sa.Connection) -> None:
    """Write the rows above; the overlay tables and the stand-ins must exist."""
    t = SYNCED
    conn.execute(t["user"].insert(), [synced(1, name="Kovács Ildikó", login="kovacsi")])
    columns = ("name", "city", "zip", "kind", "is_customer", "email", "created_at")
    partners = [synced(i, **dict(zip(columns, rest)), salesperson_id=1 if i < 3 else None) for i, *rest in PARTNERS]
    conn.execute(t["partner"].insert(), partners)
    profiles = [{"partner_id": p, "key_account": k, "custom": c, "updated_at": SYNCED_AT} for p, k, c in PROFILES]
    conn.execute(partner_profile.insert(), profiles)
    products = [synced(i, code=c, name=n, category=cat, kind=k) for i, c, n, cat, k in PRODUCTS]
    conn.execute(t["product"].insert(), products)
    for entity, rows, fields in (
        ("invoice", INVOICES, ("partner_id", "date", "status", "kind")),
        ("quote", QUOTES, ("partner_id", "date", "status", "valid_until")),
    ):
        headers, lines = documents(rows, fields, entity)
        conn.execute(t[entity].insert(), headers)
        conn.execute(t[f"{entity}_line"].insert(), lines)
    conn.execute(t["ticket"].insert(), [synced(i, partner_id=p, category=c, opened_at=at) for i, p, c, at in TICKETS])
    conn.execute(metrics.insert(), [dict(zip([c.name for c in metrics.c], row)) for row in METRICS])
    conn.execute(tags.insert(), [{"partner_id": p, "tag": g} for p, g in TAGS])
    conn.execute(consents.insert(), [{"partner_id": p, "channel": c, "granted": g} for p, c, g in CONSENTS])


# ---------------------------------------------------------------- filters and what they select

THE_ISSUES_EXAMPLE = """
rfm_group in ("at_risk", "hibernating") and not key_account
  and last_purchase before 90 days ago
  and revenue_12m >= 500_000
  and (city = "Budapest" or zip between "1000" and "1239")
"""

CASES = [
    # the issue's example: 1 and 4 are at risk, no key accounts, silent since before 04-01, with ≥500k;
    # only 1 is in Budapest
    (THE_ISSUES_EXAMPLE, {1}),
    ("rfm_group in ('at_risk', 'hibernating') and not key_account and last_purchase before 90 days ago", {1, 4}),
    # precedence: and binds tighter than or; `budapest` matches any case
    ('city = "budapest" or city = "Győr" and kind = "person"', {1, 3, 6}),
    ('(city = "budapest" or city = "Győr") and kind = "person"', {3, 6}),
    # not binds tighter than and; partner 5 has no city, and `not` counts it
    ('not city = "Budapest" and kind = "company"', {2, 4, 5, 7}),
    ('city != "Budapest"', {2, 4, 5, 7}),
    ("city is null", {5}),
    ("email is null", {2, 4, 5}),  # "" counts as empty
    ("email is not null", {1, 3, 6, 7}),
    # ranges and lists; the metrics-less partner 5 is outside both, and inside their negations
    ("revenue_12m between 500000 and 1000000", {1, 4, 7}),
    ("revenue_12m not between 500000 and 1000000", {2, 3, 5, 6}),
    ("rfm_group in (at_risk, lost)", {1, 4, 6}),
    ("rfm_group not in ('at_risk', 'lost')", {2, 3, 5, 7}),
    ("key_account = false", {1, 4, 6}),
    # relative and absolute dates; created_at is a datetime column, compared by whole days
    ("last_purchase within last 90 days", {3, 7}),
    ("last_purchase after 2024-01-31", {1, 3, 7}),
    ("last_purchase = 2024-02-01", {1}),
    ("created_at >= 60 days ago", {3, 5}),
    ("created_at = 2024-05-10", {3}),
    ("created_at in last 2 months", {3, 5}),
    # purchases: credit notes, cancelled, deleted, draft and future-dated invoices do not count
    ('bought(category: "csavarok", within: 365 days)', {1, 2, 7}),
    ('bought(product: "CS-100")', {1, 2, 6, 7}),
    ("bought(within: 30 days)", {3, 7}),
    ('bought(product: "helyszini szereles")', {7}),
    ("bought(within: 2024-06-01)", {3, 7}),
    ('quoted(category: "Szerszámok") and not bought(category: "Szerszámok")', {2}),
    # complaints in the last 180 days (from 2024-01-02): the question and the future ticket do not count
    ("complaints(within: 180 days) >= 2", {1, 4}),
    ("complaints = 0", {2, 5, 6, 7}),
    # open quotes: sent and still valid, or draft; expired, refused and deleted ones are not
    ("has_open_quote", {2, 5}),
    ("not has_open_quote and is_customer", {1, 3, 4, 6, 7}),
    ('has_open_quote(category: "Szerszámok")', {2}),
    # Hungarian connectives
    ('nem key_account és (city = "Budapest" vagy city = "Győr")', {1, 3, 6}),
    ("NEM has_open_quote ÉS rfm_group = at_risk", {1, 4}),
    # tags and consent
    ('tag "vip" and consent(email)', {1}),
    ('tag("VIP") or consent(sms)', {1, 2, 3, 6}),
    # text: case and accents ignored; LIKE wildcards in values are plain characters
    ('name contains "kft"', {1, 5, 7}),
    ('city = "szekesfehervar"', {7}),
    ('name starts with "árvíztűrő"', {7}),
    ('name ends with "RT."', {2}),
    ('name contains "_" or name contains "%"', set()),
    ('salesperson starts with "kovacs"', {1, 2}),
    # custom fields, metrics and the profile
    ('custom.branch = "Építőipar"', {1}),
    ("custom.employees > 20", {2, 4}),
    ("lapsed_rule or p_alive < 0.35", {2, 6}),
    ('kind = "person"', {3, 6}),
    ("""# lapsed big customers, comments allowed
        lapse_score >= 0.6   # the combined score
        and revenue_12m >= 600000""", {1, 2, 4}),
]


YAML_FORMS = [
    (
        THE_ISSUES_EXAMPLE,
        """
        all:
          - {field: rfm_group, in: [at_risk, hibernating]}
          - not: {field: key_account}
          - {field: last_purchase, before: 90 days ago}
          - {field: revenue_12m, ">=": 500000}
          - any:
              - {field: city, "=": Budapest}
              - {field: zip, between: ["1000", "1239"]}
        """,
    ),
    (
        'bought(category: "Csavarok", within: 365 days) and not has_open_quote'
        ' and complaints(within: 180 days) >= 2 and tag "vip" and consent(email)',
        """
        all:
          - bought: {category: Csavarok, within: 365 days}
          - not: has_open_quote
          - {complaints: {within: 180 days}, ">=": 2}
          - tag: vip
          - consent: email
        """,
    ),
    (
        'last_purchase within 12 months and email is not null and custom.branch != "fémipar"',
        """
        and:
          - {field: last_purchase, within: 12 months}
          - {field: email, is not: null}
          - {field: custom.branch, "!=": fémipar}
        """,
    ),
    ("created_at between 2024-01-01 and today", "{field: created_at, between: [2024-01-01, today]}"),
    ('name = "today"', """{field: name, "=": '"today"'}"""),  # text that reads as a date is quoted inside
]


INJECTIONS = [
    "'; DROP TABLE crm_partner; --",
    '" OR 1=1 --',
    "Robert'); DROP TABLE crm_partner;--",
    "\\' OR '1'='1",
    "%' OR name LIKE '%",
    "ő\"' \\ ) OR (1=1",
]
