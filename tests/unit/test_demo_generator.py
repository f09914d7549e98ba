"""The demo ERP generator: deterministic, consistent, believable, fast."""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.demo import build_demo_erp
from erp_crm.demo import hungarian as hu
from erp_crm.demo.dolibarr_schema import TABLES
from erp_crm.demo.expected import dolibarr_entity_counts
from erp_crm.demo.records import Category, Contact, Invoice, Order, Partner, Payment, Product, Quote, Ticket, User
from erp_crm.demo.simulation import simulate

TODAY = date(2024, 5, 15)
ARGS = dict(customers=90, years=2, seed=3, today=TODAY)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[sa.Engine, dict[str, int]]:
    path = tmp_path_factory.mktemp("demo") / "erp.sqlite"
    counts = build_demo_erp(path, **ARGS)
    engine = sa.create_engine(f"sqlite:///{path}")
    yield engine, counts
    engine.dispose()


def rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def checksum(engine: sa.Engine, table: str) -> str:
    digest = hashlib.sha256()
    for row in rows(engine, f"SELECT * FROM {table} ORDER BY 1"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def test_counts_are_reported_for_every_table(demo) -> None:
    engine, counts = demo
    assert set(counts) == set(TABLES)
    for table, n in counts.items():
        assert rows(engine, f"SELECT COUNT(*) FROM {table}")[0][0] == n, table
    assert counts["llx_facture"] > 500 and counts["llx_facturedet"] > counts["llx_facture"]


def test_same_seed_same_database_other_seed_other_history(demo, tmp_path: Path) -> None:
    engine, counts = demo
    again = tmp_path / "again.sqlite"
    assert build_demo_erp(f"sqlite:///{again}", **ARGS) == counts
    other = sa.create_engine(f"sqlite:///{again}")
    try:
        for table in ("llx_societe", "llx_facture", "llx_facturedet", "llx_paiement_facture", "llx_ticket"):
            assert checksum(other, table) == checksum(engine, table), table
        build_demo_erp(other, **{**ARGS, "seed": 4})
        assert checksum(other, "llx_facture") != checksum(engine, "llx_facture")
    finally:
        other.dispose()


def test_every_company_has_valid_hungarian_identifiers(demo) -> None:
    engine, _ = demo
    companies = rows(engine, "SELECT nom, tva_intra, siren, siret FROM llx_societe WHERE fk_pays = 18 AND fk_typent <> 8")
    assert len(companies) > 30
    codes = {"Kft.": "09", "Bt.": "06", "Zrt.": "10", "Nyrt.": "10"}
    for name, tax, registration, eu_vat in companies:
        assert hu.valid_tax_number(tax), (name, tax)
        form = name.rsplit(" ", 1)[-1]
        if form in codes:
            assert re.fullmatch(rf"(0[1-9]|1\d|20)-{codes[form]}-\d{{6}}", registration), (name, registration)
        if eu_vat is not None:
            assert eu_vat == "HU" + tax[:8]
    people = rows(engine, "SELECT s.nom, p.lastname, p.firstname, p.civility FROM llx_societe s"
                          " JOIN llx_socpeople p ON p.fk_soc = s.rowid WHERE s.fk_typent = 8")
    assert people
    for name, family, given, civility in people:
        assert name == f"{family} {given}"
        assert given in (hu.MALE_GIVEN_NAMES if civility == "MR" else hu.FEMALE_GIVEN_NAMES)


# Deadlines may lie ahead, as in any live ERP: a proposal's validity, an invoice's due date.
DEADLINES = {("llx_propal", "fin_validite"), ("llx_facture", "date_lim_reglement")}


def test_nothing_happens_after_today(demo) -> None:
    engine, _ = demo
    for table in TABLES.values():
        for column in table.columns:
            if column.is_date and (table.name, column.name) not in DEADLINES:
                latest = rows(engine, f"SELECT MAX({column.name}) FROM {table.name}")[0][0]
                assert latest is None or latest[:10] < TODAY.isoformat(), (table.name, column.name, latest)


def test_credit_notes_are_negative_and_point_at_their_invoice(demo) -> None:
    engine, _ = demo
    notes = rows(engine, "SELECT c.rowid, c.ref, c.total_ht, c.total_tva, c.total_ttc, c.fk_soc, s.fk_soc, s.type"
                         " FROM llx_facture c LEFT JOIN llx_facture s ON s.rowid = c.fk_facture_source WHERE c.type = 2")
    assert notes
    for _, ref, net, tax, total, soc, source_soc, source_type in notes:
        assert ref.startswith("AV") and net < 0 and tax <= 0 and total < 0
        assert source_soc == soc and source_type == 0
    assert rows(engine, "SELECT COUNT(*) FROM llx_facturedet d JOIN llx_facture f ON f.rowid = d.fk_facture"
                        " WHERE f.type = 2 AND (d.subprice >= 0 OR d.total_ht >= 0 OR d.qty <= 0)")[0][0] == 0


def test_every_reference_points_at_an_existing_row(demo) -> None:
    engine, _ = demo
    orphans = {
        "invoice lines": "SELECT COUNT(*) FROM llx_facturedet d LEFT JOIN llx_facture f ON f.rowid = d.fk_facture WHERE f.rowid IS NULL",
        "order lines": "SELECT COUNT(*) FROM llx_commandedet d LEFT JOIN llx_commande f ON f.rowid = d.fk_commande WHERE f.rowid IS NULL",
        "quote lines": "SELECT COUNT(*) FROM llx_propaldet d LEFT JOIN llx_propal f ON f.rowid = d.fk_propal WHERE f.rowid IS NULL",
        "line products": "SELECT COUNT(*) FROM llx_facturedet d LEFT JOIN llx_product p ON p.rowid = d.fk_product WHERE p.rowid IS NULL",
        "payment invoices": "SELECT COUNT(*) FROM llx_paiement_facture pf LEFT JOIN llx_facture f ON f.rowid = pf.fk_facture"
                            " LEFT JOIN llx_paiement p ON p.rowid = pf.fk_paiement WHERE f.rowid IS NULL OR p.rowid IS NULL",
        "invoice partners": "SELECT COUNT(*) FROM llx_facture f LEFT JOIN llx_societe s ON s.rowid = f.fk_soc WHERE s.rowid IS NULL",
        "authors": "SELECT COUNT(*) FROM llx_facture f LEFT JOIN llx_user u ON u.rowid = f.fk_user_author WHERE u.rowid IS NULL",
        "links": "SELECT COUNT(*) FROM llx_element_element e LEFT JOIN llx_commande c ON c.rowid = e.fk_target"
                 " WHERE e.targettype = 'commande' AND c.rowid IS NULL",
    }
    for label, sql in orphans.items():
        assert rows(engine, sql)[0][0] == 0, label


def test_documents_add_up(demo) -> None:
    engine, _ = demo
    for header, lines, fk in (("llx_facture", "llx_facturedet", "fk_facture"), ("llx_commande", "llx_commandedet", "fk_commande"),
                              ("llx_propal", "llx_propaldet", "fk_propal")):
        wrong = rows(engine, f"SELECT COUNT(*) FROM {header} h WHERE h.total_ht <> (SELECT SUM(total_ht) FROM {lines} d WHERE d.{fk} = h.rowid)"
                             f" OR h.total_ttc <> h.total_ht + h.total_tva")
        assert wrong[0][0] == 0, header
    # a paid invoice is paid in full; an unpaid one is not
    paid = rows(engine, "SELECT f.fk_statut, f.total_ttc, (SELECT COALESCE(SUM(amount), 0) FROM llx_paiement_facture pf"
                        " WHERE pf.fk_facture = f.rowid) FROM llx_facture f WHERE f.type = 0 AND f.fk_statut > 0")
    assert all(p == t for s, t, p in paid if s == 2)
    assert all(p < t for s, t, p in paid if s == 1)
    assert {s for s, _, _ in paid} >= {1, 2}
    refs = rows(engine, "SELECT ref FROM llx_facture WHERE fk_statut > 0 ORDER BY rowid")
    assert len({r for (r,) in refs}) == len(refs)


def test_history_shows_buying_rhythms_and_lapsed_customers(demo) -> None:
    engine, _ = demo
    per_customer = {}
    for soc, day in rows(engine, "SELECT fk_soc, datef FROM llx_facture WHERE type = 0 AND fk_statut > 0 ORDER BY datef"):
        per_customer.setdefault(soc, []).append(date.fromisoformat(day[:10]))
    one_time = [s for s, days in per_customer.items() if len(days) == 1]
    regular = lapsed = 0
    for days in per_customer.values():
        if len(days) < 5:
            continue
        gap = statistics.median((b - a).days for a, b in itertools.pairwise(days))
        if gap <= 40:
            regular += 1
            if (TODAY - days[-1]).days > 4 * max(gap, 15):
                lapsed += 1  # used to buy every month or more often, silent for months now
    assert one_time and regular >= 5 and lapsed >= 2, (len(one_time), regular, lapsed)
    # prospects have proposals and nothing else
    prospects = rows(engine, "SELECT s.rowid, (SELECT COUNT(*) FROM llx_propal p WHERE p.fk_soc = s.rowid),"
                             " (SELECT COUNT(*) FROM llx_commande c WHERE c.fk_soc = s.rowid),"
                             " (SELECT COUNT(*) FROM llx_facture f WHERE f.fk_soc = s.rowid) FROM llx_societe s WHERE s.client = 2")
    assert prospects and all(orders == invoices == 0 for _, _, orders, invoices in prospects)
    assert sum(quotes for _, quotes, _, _ in prospects) > 0
    statuses = {s for (s,) in rows(engine, "SELECT DISTINCT fk_statut FROM llx_propal")}
    assert {1, 3, 4} <= statuses  # open, refused, signed and billed
    salespeople = rows(engine, "SELECT COUNT(*) FROM llx_user WHERE job = 'értékesítő'")[0][0]
    assert 4 <= salespeople <= 8


def test_expected_counts_follow_dolibarrs_rules(demo) -> None:
    engine, counts = demo
    with engine.connect() as conn:
        expected = dolibarr_entity_counts(conn)
    assert expected["payment"] == counts["llx_paiement_facture"]
    assert expected["invoice"] <= counts["llx_facture"]
    assert expected["partner"] == counts["llx_societe"]


class RecordingWriter:
    """A second layout in miniature: it keeps ids only, and checks what the interface promises."""

    def __init__(self) -> None:
        self.handed: dict[str, set[int]] = {"user": set(), "partner": set(), "quote": set(), "order": set(),
                                            "invoice": set(), "payment": set(), "ticket": set()}
        self.counts: Counter[str] = Counter()
        self.items: set[str] = set()
        self.last_moment = datetime.min

    def _take(self, kind: str, record_id: int) -> None:
        assert record_id == len(self.handed[kind]) + 1, (kind, record_id)  # numbered in the order handed over
        self.handed[kind].add(record_id)

    def _document(self, kind: str, doc: Quote | Order | Invoice | Payment | Ticket) -> None:
        assert doc.when >= self.last_moment, (kind, doc.when)  # in the order they happen
        self.last_moment = doc.when
        assert doc.partner.id in self.handed["partner"]
        self._take(kind, doc.id)

    def user(self, user: User) -> None:
        self._take("user", user.id)

    def category(self, category: Category) -> None:
        self.counts["category"] += 1

    def product(self, product: Product) -> None:
        self.items.add(product.item.ref)

    def partner(self, partner: Partner) -> None:
        assert partner.created_by is not None and partner.created_by.id in self.handed["user"]
        self._take("partner", partner.id)

    def contact(self, contact: Contact) -> None:
        assert contact.partner.id in self.handed["partner"]
        self.counts["contact"] += 1

    def quote(self, quote: Quote) -> None:
        self._document("quote", quote)

    def order(self, order: Order) -> None:
        assert order.quote is None or order.quote.id in self.handed["quote"]
        self._document("order", order)

    def invoice(self, invoice: Invoice) -> str:
        assert invoice.order is None or invoice.order.id in self.handed["order"]
        assert invoice.credited is None or invoice.credited.id in self.handed["invoice"]
        assert all(line.item.ref in self.items for line in invoice.lines)
        self._document("invoice", invoice)
        return f"INV/{invoice.id}"

    def payment(self, payment: Payment) -> None:
        assert payment.parts and all(inv.id in self.handed["invoice"] for inv, _ in payment.parts)
        self._document("payment", payment)

    def ticket(self, ticket: Ticket) -> None:
        assert "{ref}" not in ticket.message
        self._document("ticket", ticket)

    def finish(self) -> dict[str, int]:
        return {**{kind: len(ids) for kind, ids in self.handed.items()}, **self.counts}


def test_another_layout_gets_the_same_history_in_order(demo) -> None:
    engine, counts = demo
    seen = simulate(RecordingWriter(), customers=ARGS["customers"], years=ARGS["years"], seed=ARGS["seed"],
                    today=TODAY - timedelta(days=1))
    tables = {"user": "llx_user", "partner": "llx_societe", "contact": "llx_socpeople", "category": "llx_categorie",
              "quote": "llx_propal", "order": "llx_commande", "invoice": "llx_facture", "payment": "llx_paiement",
              "ticket": "llx_ticket"}
    assert seen == {kind: counts[table] for kind, table in tables.items()}
    complaint = rows(engine, "SELECT message FROM llx_ticket WHERE type_code IN ('ISSUE', 'PROBLEM') LIMIT 1")
    assert complaint and re.search(r"\bFA\d{4}-\d{4}\b", complaint[0][0])  # the number the writer gave the invoice


def test_full_size_demo_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    counts = build_demo_erp(tmp_path / "big.sqlite", customers=400, years=3, seed=42, today=TODAY)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{elapsed:.1f} s for {sum(counts.values())} rows"
    assert counts["llx_societe"] > 400


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build_demo_erp(tmp_path / "x.sqlite", customers=0)
    with pytest.raises(ValueError):
        build_demo_erp(tmp_path / "x.sqlite", years=0)
