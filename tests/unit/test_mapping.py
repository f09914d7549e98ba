"""The compiled row mapper: conversions, maps, signs, keys, hashes and bad values."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from erp_crm.model.canonical import BY_NAME
from erp_crm.sync.definition import EntitySpec
from erp_crm.sync.mapping import BadValue, compile_mapper, erp_key, row_hash

INVOICE = BY_NAME["invoice"]
FIELDS = [f.name for f in INVOICE.fields]


def mapper(fields: dict[str, Any], key: Any = "rowid", **kw: Any):  # type: ignore[no-untyped-def]
    spec = EntitySpec(key=key, table="fac", fields={"partner": "fk_soc", "date": "datef", **fields})
    return compile_mapper(INVOICE, spec, **kw)


def run(m, **raw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    row = tuple(raw.get(s.column or s.sql) for s in m.select)
    out = m.map_row(row)
    return {"key": out[0], **dict(zip(FIELDS, out[1:-1])), "hash": out[-1]}


def test_plain_values_pass_and_text_converts() -> None:
    m = mapper({"number": "ref", "amount_net": "total_ht", "currency": {"value": "HUF"}})
    out = run(m, rowid=7, fk_soc=3, datef="2024-03-01", ref=1001, total_ht=1250.5)
    assert out["key"] == "7" and out["partner"] == "3"
    assert out["date"] == date(2024, 3, 1)
    assert out["number"] == "1001" and out["amount_net"] == 1250.5 and out["currency"] == "HUF"


@pytest.mark.parametrize(
    "value, expected",
    [(Decimal("12.50"), Decimal("12.50")), ("1 234,5", Decimal("1234.5")), (" 7 ", Decimal(7)), (3, 3)],
)
def test_numbers_from_drivers_and_text(value: Any, expected: Any) -> None:
    assert run(mapper({"amount_net": "t"}), rowid=1, fk_soc=1, datef=date(2024, 1, 1), t=value)["amount_net"] == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (datetime(2024, 5, 6, 7, 8), date(2024, 5, 6)),
        ("2024-05-06 07:08:09", date(2024, 5, 6)),
        (date(2024, 5, 6), date(2024, 5, 6)),
    ],
)
def test_dates_from_drivers_and_text(value: Any, expected: date) -> None:
    assert run(mapper({}), rowid=1, fk_soc=1, datef=value)["date"] == expected


def test_zero_date_is_empty_for_optional_fields_and_bad_for_required() -> None:
    m = mapper({"due_date": "due"})
    assert run(m, rowid=1, fk_soc=1, datef="2024-01-01", due="0000-00-00")["due_date"] is None
    with pytest.raises(BadValue, match="date: not a date"):
        run(m, rowid=1, fk_soc=1, datef="0000-00-00")


def test_maps_defaults_and_unknown_values() -> None:
    m = mapper({"kind": {"column": "type", "map": {0: "invoice", 2: "credit_note"}}, "status": {"column": "st", "map": {"1": "posted"}, "default": "draft"}})
    out = run(m, rowid=1, fk_soc=1, datef="2024-01-01", type="2", st=1)
    assert out["kind"] == "credit_note" and out["status"] == "posted"
    assert run(m, rowid=1, fk_soc=1, datef="2024-01-01", type=Decimal(0), st=9)["status"] == "draft"
    with pytest.raises(BadValue, match="kind: unknown value"):
        run(m, rowid=1, fk_soc=1, datef="2024-01-01", type=5, st=1)


def test_unmapped_value_outside_the_choices_is_refused() -> None:
    with pytest.raises(BadValue, match="status: not one of draft, posted, paid, cancelled"):
        run(mapper({"status": "st"}), rowid=1, fk_soc=1, datef="2024-01-01", st="weird")


def test_negate_when_turns_credit_notes_negative() -> None:
    m = mapper({"amount_total": {"column": "total", "negate_when": {"column": "move_type", "in": ["out_refund"]}}})
    assert run(m, rowid=1, fk_soc=1, datef="2024-01-01", total=Decimal(100), move_type="out_refund")["amount_total"] == Decimal(-100)
    assert run(m, rowid=1, fk_soc=1, datef="2024-01-01", total=Decimal(100), move_type="out_invoice")["amount_total"] == Decimal(100)


def test_composite_keys_and_key_normalisation() -> None:
    m = mapper({}, key=["DocEntry", "ObjType"])
    assert run(m, DocEntry=42, ObjType="13", fk_soc=1, datef="2024-01-01")["key"] == "42|13"
    assert erp_key(42.0) == erp_key(Decimal(42)) == erp_key("42") == "42"
    assert erp_key(b"\x01\xff") == "01ff"


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"rowid": None}, "key: the row has no key \\(rowid is empty\\)"),
        ({"fk_soc": None}, "partner: required but empty"),
        ({"datef": "31/12/2024"}, "date: not a date"),
        ({"total_ht": "12,3,4"}, "amount_net: not a number"),
        ({"total_ht": "NaN"}, "amount_net: not a number"),
        ({"total_ht": True}, "amount_net: expected a number"),
    ],
)
def test_bad_values_name_the_field(raw: dict[str, Any], message: str) -> None:
    good = {"rowid": 1, "fk_soc": 1, "datef": "2024-01-01", "total_ht": 1}
    with pytest.raises(BadValue, match=message):
        run(mapper({"amount_net": "total_ht"}), **{**good, **raw})


def test_broken_encoding_is_caught_when_the_source_decodes_leniently() -> None:
    broken = b"Kov\xe1cs".decode("utf-8", "surrogateescape")
    m = mapper({"number": "ref"}, check_encoding=True)
    with pytest.raises(BadValue, match="number: text has bytes that are not valid UTF-8"):
        run(m, rowid=1, fk_soc=1, datef="2024-01-01", ref=broken)
    with pytest.raises(BadValue, match="not valid UTF-8"):
        run(mapper({"number": "ref"}), rowid=1, fk_soc=1, datef="2024-01-01", ref=b"Kov\xe1cs")


def test_hash_is_stable_and_sees_every_change() -> None:
    m = mapper({"amount_net": "t", "number": "ref"})
    a = run(m, rowid=1, fk_soc=1, datef="2024-01-01", t=Decimal("10.0"), ref="A")["hash"]
    assert a == run(m, rowid=1, fk_soc=1, datef=date(2024, 1, 1), t=10.0, ref="A")["hash"]  # same values, other driver types
    assert a != run(m, rowid=1, fk_soc=1, datef="2024-01-02", t=10.0, ref="A")["hash"]
    assert a != run(m, rowid=1, fk_soc=2, datef="2024-01-01", t=10.0, ref="A")["hash"]
    assert len(a) == 32 and row_hash((1, "x")) == row_hash((1, "x"))


def test_definition_values_never_reach_generated_code() -> None:
    evil = "'); import os; os.system('false'); ('"
    m = mapper({"number": {"column": "ref", "default": evil}, "currency": {"value": evil}}, key="rowid")
    assert evil not in m.source_code
    assert run(m, rowid=1, fk_soc=1, datef="2024-01-01")["currency"] == evil
