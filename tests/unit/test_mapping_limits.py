"""What the overlay's columns cannot hold never leaves the mapper: such a value raises `BadValue`.

PostgreSQL refuses NUL in text, amounts that round to 10^14 or more, infinity and
integers beyond BIGINT, and fails the whole batch; SQLite stores them and fails later
(an infinite amount breaks every metrics run). The mapper refuses them for both, so a
bad ERP row goes to quarantine with its field and value and the rest sync. The property
test at the end throws hostile values of every type at every kind and checks each
result against the overlay's limits written out here independently of the mapper.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from erp_crm.model.canonical import BY_NAME, ENTITIES, Entity, Field, Kind
from erp_crm.model.tables.base import KEY_LENGTH
from erp_crm.model.tables.synced import SYNCED, ref_key_column
from erp_crm.sync.definition import EntitySpec
from erp_crm.sync.mapping import AMOUNT_DIGITS, AMOUNT_PLACES, WHOLE_MAX, WHOLE_MIN, BadValue, RowMapper, compile_mapper, erp_key, storable_key

# Every kind once, a reference, and a field with a value map: the canonical list has no whole-number field yet.
THING = Entity(
    "thing",
    "crm_thing",
    (
        Field("text"),
        Field("amount", Kind.DECIMAL),
        Field("count", Kind.INT),
        Field("flag", Kind.BOOL),
        Field("day", Kind.DATE),
        Field("moment", Kind.DATETIME),
        Field("partner", ref="partner"),
        Field("kind", choices=("goods", "service")),
    ),
)
COLUMNS = ["id", "text", "amount", "count", "flag", "day", "moment", "partner", "kind"]
SPEC = EntitySpec(key="id", table="t", fields={**{c: c for c in COLUMNS[1:-1]}, "kind": {"column": "kind", "map": {0: "goods", 1: "service"}}})
GOOD = {"id": 1, "text": "Alfa Kft.", "amount": Decimal("12.5"), "count": 3, "flag": 1, "day": date(2024, 3, 1), "moment": datetime(2024, 3, 1, 10), "partner": 7, "kind": 0}


def thing_mapper(check_encoding: bool = False) -> RowMapper:
    return compile_mapper(THING, SPEC, check_encoding=check_encoding)


def map_thing(mapper: RowMapper | None = None, **raw: Any) -> dict[str, Any]:
    mapper = mapper or thing_mapper()
    values = {**GOOD, **raw}
    out = mapper.map_row(tuple(values[s.column or ""] for s in mapper.select))
    return {"key": out[0], **dict(zip((f.name for f in THING.fields), out[1:-1], strict=True))}


def refused(field: str, **raw: Any) -> str:
    """The quarantine reason of a row with these raw values."""
    with pytest.raises(BadValue) as caught:
        map_thing(**raw)
    assert caught.value.field == field
    return str(caught.value)


# -- the limits are the tables' own ------------------------------------------------------


def test_the_limits_are_those_of_the_overlay_columns() -> None:
    for entity in ENTITIES:
        table = SYNCED[entity.name]
        assert table.c.erp_key.type.length == KEY_LENGTH
        for f in entity.fields:
            column_type = table.c[ref_key_column(f.name) if f.ref else f.name].type
            if f.ref:
                assert column_type.length == KEY_LENGTH, (entity.name, f.name)
            elif f.kind is Kind.DECIMAL:
                assert (column_type.precision, column_type.scale) == (AMOUNT_DIGITS, AMOUNT_PLACES), (entity.name, f.name)
            elif f.kind is Kind.INT:
                assert isinstance(column_type, sa.BigInteger), (entity.name, f.name)
    assert (WHOLE_MIN, WHOLE_MAX) == (-(2**63), 2**63 - 1)


# -- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (Decimal("1E+14"), "Decimal('1E+14')"),
        (10**14, "100000000000000"),
        (1e14, "100000000000000.0"),
        (-1e14, "-100000000000000.0"),
        (Decimal("99999999999999.99995"), "99999999999999.99995"),  # rounds to 10^14 at 4 places
        (10**30, str(10**30)),
        ("1e20", "'1e20'"),
        ("100 000 000 000 000", "'100 000 000 000 000'"),
    ],
)
def test_amounts_that_round_to_ten_to_the_fourteen_are_refused(value: Any, shown: str) -> None:
    reason = refused("amount", amount=value)
    assert reason.startswith("amount: out of range: the overlay keeps amounts between -10^14 and 10^14") and shown in reason


@pytest.mark.parametrize("value", [Decimal("99999999999999.9999"), Decimal("-99999999999999.99994"), 99999999999999.98, 10**14 - 1, "99999999999999,9999"])
def test_the_largest_amounts_the_overlay_holds_pass(value: Any) -> None:
    assert map_thing(amount=value)["amount"] is not None


@pytest.mark.parametrize(
    "value, reason",
    [
        (math.inf, "amount: an infinite number cannot be stored (inf)"),
        (-math.inf, "amount: an infinite number cannot be stored (-inf)"),
        (Decimal("Infinity"), "amount: an infinite number cannot be stored (Decimal('Infinity'))"),
        (Decimal("-Infinity"), "amount: an infinite number cannot be stored (Decimal('-Infinity'))"),
        (math.nan, "amount: not a number (nan)"),
        (Decimal("NaN"), "amount: not a number (Decimal('NaN'))"),
        ("NaN", "amount: not a number ('NaN')"),
        ("Infinity", "amount: not a number ('Infinity')"),
        ("-inf", "amount: not a number ('-inf')"),
        ("1_000", "amount: not a number ('1_000')"),  # Python's parser takes it; no ERP means it
        ("١٢٣", "amount: not a number ('١٢٣')"),  # digits of another script
        ("1e999999999999999999999", "amount: not a number ('1e999999999999999999999')"),
    ],
)
def test_non_finite_amounts_are_refused_with_their_value(value: Any, reason: str) -> None:
    assert refused("amount", amount=value) == reason


@pytest.mark.parametrize("value, expected", [(1e-300, 1e-300), (Decimal("1E-30"), Decimal("1E-30")), (-0.0, 0), (Decimal("-0"), 0), (" 7,5 ", Decimal("7.5"))])
def test_tiny_numbers_and_negative_zero_pass(value: Any, expected: Any) -> None:
    assert map_thing(amount=value)["amount"] == expected


def test_whole_numbers_beyond_bigint_are_refused() -> None:
    assert map_thing(count=2**63 - 1)["count"] == 2**63 - 1
    assert map_thing(count=Decimal(-(2**63)))["count"] == -(2**63)
    assert refused("count", count=2**63) == f"count: out of range: the overlay keeps whole numbers of 64 bits ({2**63})"
    assert refused("count", count=str(-(2**63) - 1)).startswith("count: out of range")
    assert refused("count", count=math.inf) == "count: an infinite number cannot be stored (inf)"
    assert refused("count", count=Decimal("NaN")) == "count: not a number (Decimal('NaN'))"


# -- text and keys -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["A\x00B", b"A\x00B", "\x00"])
def test_text_with_nul_is_refused(value: Any) -> None:
    assert refused("text", text=value).startswith("text: text with a NUL character (\\x00) cannot be stored ('")


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://example.com/?"&A1,"Kattintson")',
        "<script>alert(document.cookie)</script>",
        "'; DROP TABLE crm_partner; --",
        "\x01\x07\x1b[31m\t\r\n\x7f\u200b",
        "👩‍👩‍👧 🎉 Kft.",
        "שלום \u202eabc\u202c مرحبا",
        "Ő" * 500_000,
    ],
)
def test_hostile_text_passes_as_it_is(value: str) -> None:
    assert map_thing(text=value)["text"] == value


def test_keys_the_overlay_cannot_store_are_refused_and_quarantined_under_a_storable_key() -> None:
    long_key = "K" * (KEY_LENGTH + 1)
    assert map_thing(id="K" * KEY_LENGTH)["key"] == "K" * KEY_LENGTH
    assert refused("key", id=long_key).startswith(f"key: a key longer than {KEY_LENGTH} characters cannot be stored ('KKK")
    assert refused("key", id="A\x00B") == "key: a key with a NUL character (\\x00) cannot be stored ('A\\x00B')"
    assert refused("partner", partner=long_key).startswith("partner: a key longer than")
    assert refused("partner", partner="7\x00").startswith("partner: a key with a NUL character")
    mapper = thing_mapper()
    for key in (long_key, "A\x00B", "K" * 10_000 + "1", "K" * 10_000 + "2"):
        row = tuple({**GOOD, "id": key}[s.column or ""] for s in mapper.select)
        stored = mapper.key_of(row)
        assert stored is not None and len(stored) <= KEY_LENGTH and "\x00" not in stored
        assert stored == mapper.key_of(row), "the same row meets the same quarantine entry"
    assert len({storable_key("K" * 10_000 + "1"), storable_key("K" * 10_000 + "2")}) == 2
    assert storable_key("42|7") == "42|7"


def test_broken_bytes_in_keys_are_refused_when_the_source_decodes_leniently() -> None:
    broken = b"Kov\xe1cs".decode("utf-8", "surrogateescape")
    with pytest.raises(BadValue, match="key: text has bytes that are not valid UTF-8"):
        map_thing(thing_mapper(check_encoding=True), id=broken)
    with pytest.raises(BadValue, match="partner: text has bytes that are not valid UTF-8"):
        map_thing(thing_mapper(check_encoding=True), partner=broken)
    stored = storable_key(broken)
    assert stored.encode("utf-8") and stored == storable_key(broken)


@pytest.mark.parametrize("value", [math.inf, math.nan, Decimal("Infinity"), Decimal("NaN")])
def test_non_finite_numbers_as_text_or_keys_do_not_crash(value: Any) -> None:
    assert map_thing(text=value)["text"] == str(value)
    assert erp_key(value) == str(value)


# -- dates and times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("day", "2024-01-01 25:61:00", "day: not a date ('2024-01-01 25:61:00')"),
        ("day", "2024-02-30", "day: not a date ('2024-02-30')"),
        ("day", "2024-02-28garbage", "day: not a date ('2024-02-28garbage')"),
        ("day", "infinity", "day: not a date ('infinity')"),
        ("moment", "2024-01-01 25:61:00", "moment: not a date and time ('2024-01-01 25:61:00')"),
        ("moment", "2024-02-30 10:00:00", "moment: not a date and time ('2024-02-30 10:00:00')"),
        ("moment", "2024-01-01 24:00:00", "moment: not a date and time ('2024-01-01 24:00:00')"),
        ("moment", "2024-01-01\x0010:00", "moment: not a date and time ('2024-01-01\\x0010:00')"),
    ],
)
def test_impossible_dates_and_times_in_text_are_refused(field: str, value: str, reason: str) -> None:
    assert refused(field, **{field: value}) == reason


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("day", "2024-02-29", date(2024, 2, 29)),
        ("day", "2024-02-29 23:59:59", date(2024, 2, 29)),
        ("day", "2024-02-29T10:00:00+02:00", date(2024, 2, 29)),
        ("day", "2999-12-31", date(2999, 12, 31)),
        ("moment", "1900-01-01 00:00:00", datetime(1900, 1, 1)),
        ("moment", "2024-02-29", datetime(2024, 2, 29)),
    ],
)
def test_possible_dates_and_times_in_text_pass(field: str, value: str, expected: Any) -> None:
    assert map_thing(**{field: value})[field] == expected


@pytest.mark.parametrize(
    "field, value",
    [("day", "9999-12-31"), ("day", date(1066, 10, 14)), ("day", "1899-12-31"), ("moment", "0001-01-01 00:00:00"), ("moment", datetime(3000, 1, 1)), ("moment", date(1066, 10, 14))],
)
def test_dates_no_business_record_can_have_are_refused(field: str, value: Any) -> None:
    """A 1066 "first purchase" moves every customer's model; 9999 is a placeholder, not a day."""
    assert refused(field, **{field: value}).startswith(f"{field}: outside the years 1900–2999 a business record can have")


def test_an_aware_time_that_leaves_the_calendar_is_refused() -> None:
    edge = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))  # moved to local time, it may fall before year 1
    reason = refused("moment", moment=edge)
    assert reason.startswith(("moment: outside the dates the overlay can hold", "moment: outside the years 1900–2999")), reason


# -- reasons and quarantine ----------------------------------------------------------------


def test_an_unmapped_value_is_named_in_the_reason_not_a_placeholder() -> None:
    reason = refused("kind", kind=5)
    assert reason == "kind: unknown value: add it to the map or give a default (5)"
    assert "object at 0x" not in reason


def test_raw_values_for_quarantine_are_json_without_infinity() -> None:
    mapper = thing_mapper()
    raw = mapper.raw(tuple({**GOOD, "amount": math.inf, "count": math.nan}[s.column or ""] for s in mapper.select))
    assert raw["amount"] == "inf" and raw["count"] == "nan" and raw["text"] == "Alfa Kft."


def test_the_invoice_mapper_refuses_what_postgresql_would() -> None:
    """The shipped entities get the same checks (an invoice as the Dolibarr definition maps it)."""
    spec = EntitySpec(key="rowid", table="fac", fields={"partner": "fk_soc", "date": "datef", "number": "ref", "amount_net": "total_ht"})
    mapper = compile_mapper(BY_NAME["invoice"], spec)
    row = {"rowid": 1, "fk_soc": 1, "datef": date(2024, 1, 1), "ref": "F1", "total_ht": Decimal("Infinity")}
    with pytest.raises(BadValue, match="amount_net: an infinite number"):
        mapper.map_row(tuple(row[s.column or ""] for s in mapper.select))


# -- every hostile value, every kind -------------------------------------------------------

HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_snan()),  # no driver makes a signalling NaN
    st.decimals(min_value=Decimal("-1E+14"), max_value=Decimal("1E+14"), places=6),
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("0123456789 .,-+eE_\x00:T"), max_size=25),
    st.sampled_from(["2024-02-30", "2024-01-01 25:61:00", "infinity", "NaN", "0000-00-00", "2024-02-29 10:00", "A\x00B", "١٢٣", "1_0"]),
    st.binary(max_size=12),
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
)


def fits(kind: Kind | None, value: Any) -> bool:
    """What the overlay's column of this kind holds (None: a key), written out without the mapper."""
    if value is None:
        return True
    if kind is None:
        return isinstance(value, str) and len(value) <= KEY_LENGTH and "\x00" not in value
    if kind is Kind.TEXT:
        return isinstance(value, str) and "\x00" not in value
    if kind is Kind.DECIMAL:
        number = Decimal(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        return isinstance(number, Decimal) and number.is_finite() and abs(number.quantize(Decimal("0.0001"), ROUND_HALF_UP)) < 10**14
    if kind is Kind.INT:
        return type(value) is int and -(2**63) <= value < 2**63
    if kind is Kind.BOOL:
        return type(value) is bool
    if kind is Kind.DATE:
        return type(value) is date and date(1900, 1, 1) <= value <= date(2999, 12, 31)
    return type(value) is datetime and value.tzinfo is None and datetime(1900, 1, 1) <= value < datetime(3000, 1, 1)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(COLUMNS, HOSTILE)), st.booleans())
def test_every_value_is_refused_or_fits_its_column(raw: dict[str, Any], lenient: bool) -> None:
    mapper = thing_mapper(check_encoding=lenient)
    try:
        out = mapper.map_row(tuple(raw[s.column or ""] for s in mapper.select))
    except BadValue as exc:
        assert str(exc).startswith(f"{exc.field}: ") and "object at 0x" not in str(exc)
        return
    kinds = [None, *(None if f.ref else f.kind for f in THING.fields)]
    for kind, value in zip(kinds, out[:-1], strict=True):
        assert fits(kind, value), (kind, value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(min_value=-99999999999999.98, max_value=99999999999999.98), st.decimals(min_value=Decimal("-99999999999999.9999"), max_value=Decimal("99999999999999.9999"))))
def test_every_amount_the_overlay_holds_passes(value: Any) -> None:
    assert map_thing(amount=value)["amount"] == value
