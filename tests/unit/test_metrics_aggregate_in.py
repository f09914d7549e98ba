"""`metrics.aggregate_in`: chosen per overlay and size (its wrong values: tests/unit/test_settings.py), and no value of it or of the data reaches SQL text.

The SQL path's statements (`invoice_days.day_rows_query`, `day_aggregates_sql`) take
what varies (the run's date, the statuses and kinds that count) as bound values; a
hostile status or kind in the overlay is a value compared, never text run. The one
statement run as text, `SET LOCAL extra_float_digits`, is a constant.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql

from erp_crm.errors import UserError
from erp_crm.metrics import day_aggregates_sql
from erp_crm.metrics.aggregate_in import AUTO_PARTNERS, in_database
from erp_crm.metrics.invoice_days import day_rows_query
from erp_crm.metrics.purchases import PURCHASES
from erp_crm.settings.metrics import MetricsSection
from erp_crm.settings.root import load_settings
from tests.unit.test_settings import write


@pytest.mark.parametrize("value", ["auto", "database", "python"])
def test_each_value_loads_and_leaves_the_fingerprint_as_it_was(tmp_path: Path, value: str) -> None:
    settings = load_settings(write(tmp_path, f"metrics:\n  aggregate_in: {value}\n"), environ={})
    assert settings.metrics.aggregate_in == value
    assert settings.metrics.digest() == MetricsSection().digest(), "where the sums are made changes no figure: the fit and the rows are kept"


@pytest.mark.parametrize(
    "dialect, setting, partners, expected",
    [
        ("postgresql", "auto", AUTO_PARTNERS, True),
        ("postgresql", "auto", AUTO_PARTNERS - 1, False),
        ("postgresql", "database", 1, True),
        ("postgresql", "python", 10**7, False),
        ("sqlite", "auto", 10**7, False),
        ("sqlite", "python", 10**7, False),
    ],
)
def test_which_path_runs(dialect: str, setting: str, partners: int, expected: bool) -> None:
    assert in_database(dialect, setting, partners) is expected  # type: ignore[arg-type]


def test_database_on_sqlite_says_so_in_one_line() -> None:
    with pytest.raises(UserError, match=r"^metrics.aggregate_in: database needs a PostgreSQL overlay, and this one is sqlite; set auto or python$"):
        in_database("sqlite", "database", 10)


def statements() -> list[tuple[str, dict[str, object]]]:
    """Every statement of the SQL path, compiled for PostgreSQL: its text and its bound values."""
    as_of = dt.date(2024, 6, 30)
    out = []
    for query in (*(day_rows_query(d, "postgresql") for d in PURCHASES.values()), day_aggregates_sql.day_part_query(as_of, "postgresql")):
        compiled = query.compile(dialect=postgresql.dialect())
        out.append((str(compiled), dict(compiled.params)))
    return out


def test_what_varies_is_bound_never_written_into_the_sql() -> None:
    for text, _ in statements():
        assert not re.search(r"'[^']*'", text), f"a literal in the SQL text: {text}"
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    values = {v for _, params in statements() for value in params.values() for v in (value if isinstance(value, (list, tuple)) else [value])}
    assert {"posted", "paid", "credit_note", "confirmed", "service", dt.date(2024, 6, 30)} <= values


def test_a_hostile_dialect_name_only_picks_a_fixed_spelling() -> None:
    """The dialect's name chooses between two spellings of a day number; it is never written into the statement."""
    compiled = day_aggregates_sql.day_part_query(dt.date(1, 1, 1), "x'); DROP TABLE crm_partner_day; --").compile(dialect=postgresql.dialect())
    assert "DROP" not in str(compiled) and dt.date(1, 1, 1) in compiled.params.values()
