"""`bought(product: …)` and its kin on SQLite: the goods are looked up once, the documents walked once.

Asked as a correlated subquery, "a document of this partner with a line of these goods"
made SQLite walk every document and line of every partner and fold each line's product
name again (about 2 s for 5,000 customers). These tests pin the two causes down without a
clock: the folding function is counted per statement, and the plan must not run a
subquery per partner. The answers are compared with the rows worked out in Python,
hostile values included (tests/support/bought_overlay.py), and a refresh must take the
predicates however deep a filter nests them (SQLite's parser stack is small).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from erp_crm.model.tables.segments import segment
from erp_crm.segments.definitions import SegmentDef
from erp_crm.segments.fields import MAX_COMPARED_TEXT, default_registry, fold_text, text_equals
from erp_crm.segments.language import FilterError, parse_filter
from erp_crm.segments.refresh import refresh_one
from erp_crm.settings.metrics import PurchasesFrom
from tests.support.bought_overlay import HOSTILE, PRODUCTS, TODAY, History, expected, filled_overlay, select
from tests.support.filter_strategies import FUZZ

PARTNERS = 300
ACCENTS = 18  # the Hungarian vowels `fold` unaccents: one replace() call each


@pytest.fixture(scope="module")
def overlay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, History]]:
    database, history = filled_overlay(f"sqlite:///{tmp_path_factory.mktemp('bought') / 'overlay.sqlite'}", PARTNERS, seed=3)
    yield database.engine, history
    database.close()


GOODS = [("product", code) for code, _, _ in PRODUCTS] + [("product", value) for value in HOSTILE]
GOODS += [("category", value) for value in ("csavarok", "ÉKEZETES ÁRU", "%", "_", "'; DROP TABLE crm_partner; --")]
DOCUMENTS: dict[PurchasesFrom, str] = {"invoices": "invoice", "orders": "order"}


@pytest.mark.parametrize("goods", GOODS)
@pytest.mark.parametrize("purchases_from", ["invoices", "orders"])
def test_bought_selects_what_the_rows_say_for_any_value(overlay: tuple[sa.Engine, History], goods: tuple[str, str], purchases_from: PurchasesFrom) -> None:
    engine, history = overlay
    name, value = goods
    everyone = set(range(1, PARTNERS + 1))
    with engine.connect() as conn:
        for since in (None, date(2024, 1, 1)):
            arguments = {name: value} if since is None else {name: value, "within": since}
            want = expected(history, DOCUMENTS[purchases_from], ("draft", "cancelled"), since=since, **{name: value})
            assert set(conn.execute(select({"bought": arguments}, purchases_from)).scalars()) == want, arguments
            assert set(conn.execute(select({"not": {"bought": arguments}}, purchases_from)).scalars()) == everyone - want, arguments


def test_quoted_selects_what_the_rows_say(overlay: tuple[sa.Engine, History]) -> None:
    engine, history = overlay
    with engine.connect() as conn:
        got = set(conn.execute(select('quoted(category: "Szerszámok")')).scalars())
    assert got == expected(history, "quote", ("cancelled",), category="Szerszámok")


def _counting_replace(conn: sa.Connection) -> list[int]:
    """Count the calls of SQL replace(), which `fold` is made of, on this connection."""
    calls = [0]

    def replace(text: Any, old: Any, new: Any) -> Any:
        calls[0] += 1
        return None if text is None else str(text).replace(str(old), str(new))

    conn.connection.driver_connection.create_function("replace", 3, replace)  # type: ignore[union-attr]
    return calls


@pytest.mark.parametrize("text", ['bought(product: "Facsavar 4x40")', 'bought(category: "Csavarok")', 'not quoted(product: "csavarhúzó készlet")'])
def test_no_text_is_folded_per_line(overlay: tuple[sa.Engine, History], text: str) -> None:
    engine, history = overlay
    lines = sum(len(d.lines) for docs in history.documents.values() for d in docs)
    with engine.connect() as conn:
        calls = _counting_replace(conn)
        conn.execute(select(text)).all()
    assert lines > 10 * len(PRODUCTS)
    assert calls[0] <= ACCENTS * len(PRODUCTS), f"{calls[0]} replace() calls for {len(PRODUCTS)} products and {lines} lines"


@pytest.mark.parametrize("text", ['bought(product: "CS-100")', 'not bought(category: "Csavarok", within: 90 days)', 'quoted(product: "SZ-200")'])
def test_sqlite_selects_the_buyers_once_not_per_partner(overlay: tuple[sa.Engine, History], text: str) -> None:
    engine, _ = overlay
    statement = select(text)
    with engine.connect() as conn:
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert not [step for step in plan if "CORRELATED" in step], plan


def test_without_goods_the_partner_s_first_document_answers(overlay: tuple[sa.Engine, History]) -> None:
    """`bought()` alone stays a lookup per partner through the (partner_id, date) index: it stops at the first document."""
    engine, history = overlay
    statement = select("bought(within: 365 days)")
    with engine.connect() as conn:
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        got = set(conn.execute(statement).scalars())
    assert "ix_crm_invoice_partner_id_date" in plan
    assert got == expected(history, "invoice", ("draft", "cancelled"), since=date(2023, 7, 1))


def _nested(text: str, depth: int) -> str:
    """`text` inside `depth` levels of and, or and not, as a long hand-written filter nests it."""
    for level in range(depth):
        text = f'not ({text} or name = "x{level}")' if level % 2 else f'({text} and name != "y{level}")'
    return text


@pytest.mark.parametrize("depth", [0, 6, 10])
def test_a_refresh_takes_goods_predicates_nested_deep_in_a_filter(overlay: tuple[sa.Engine, History], depth: int) -> None:
    """SQLite's parser stack holds about 30 nested calls, and folding text takes 19: the goods are folded at the top of the statement."""
    engine, _ = overlay
    registry = default_registry()
    text = _nested('bought(product: "Facsavar 4x40") and not quoted(category: "Szerszámok")', depth)
    d = SegmentDef(f"nested_{depth}", "nested", parse_filter(text), "config")
    with engine.begin() as conn:
        values = {"name": d.name, "title": d.title, "filter": d.text, "source": "config", "updated_at": datetime.now()}
        segment_id = conn.execute(sa.insert(segment).values(values)).inserted_primary_key[0]
        result = refresh_one(conn, segment_id, d, registry, TODAY)
        matching = len(conn.execute(select(text)).all())
    assert result.members == result.entered == matching > 0


LETTERS = "aAáÁbBeEéÉiIíÍoOóÓöÖőŐuUúÚüÜűŰäÄß*?[]^-!%_\\' 0"


@FUZZ
@given(stored=st.text(LETTERS, max_size=6), asked=st.text(LETTERS, max_size=6))
@example(stored="ÁRVÍZTŰRŐ", asked="árvíztűrő")
@example(stored="a*", asked="a?")
@example(stored="[a]", asked="[A]")
@example(stored="x", asked="[x]")
def test_text_equality_on_sqlite_is_fold_equality(stored: str, asked: str) -> None:
    """The GLOB SQLite compares with says equal exactly when the folded texts are equal, wildcards and brackets included."""
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        got = conn.execute(sa.select(text_equals(sa.literal(stored, sa.Text()), asked))).scalar_one()
    assert bool(got) == (fold_text(stored) == fold_text(asked))


@pytest.mark.parametrize("value", ["ő" * MAX_COMPARED_TEXT, "Ű" * MAX_COMPARED_TEXT, "[" * MAX_COMPARED_TEXT])
def test_the_longest_text_compared_fits_sqlite_s_glob(value: str) -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        same, other = (conn.execute(sa.select(text_equals(sa.literal(v, sa.Text()), value))).scalar_one() for v in (value.upper(), value + "y"))
    assert same and not other


def test_longer_text_is_refused_in_one_line_naming_the_place() -> None:
    with pytest.raises(FilterError, match=r"3,001 characters of text are too many to compare: at most 3,000") as caught:
        select('bought(product: "' + "ő" * (MAX_COMPARED_TEXT + 1) + '")')
    assert "\n" not in str(caught.value) and "column" in str(caught.value)
