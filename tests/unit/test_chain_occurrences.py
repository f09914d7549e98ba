"""Trigger occurrences read back (what the template's `trigger`, `trigger_settled` and a birthday's recipient are found by), and the birthday day rule."""

from __future__ import annotations

import datetime as dt

import pytest

from erp_crm.automation.erp_triggers import same_day_in_years
from erp_crm.automation.occurrences import Occurrence, anniversary, birthday, document_prefix, occurrence_contact, parse_occurrence


@pytest.mark.parametrize(
    "text, expected",
    [
        ("invoice:42", Occurrence("invoice_overdue", "invoice", 42)),
        ("quote:7", Occurrence("quote_not_ordered", "quote", 7)),
        ("ticket:9", Occurrence("complaint_closed", "ticket", 9)),
        ("purchase:invoice:3", Occurrence("purchase", "invoice", 3)),
        ("purchase:order:3", Occurrence("purchase", "order", 3)),
        ("first_purchase:order:11", Occurrence("first_purchase", "order", 11)),
        ("birthday:5:2026", Occurrence("birthday", contact_id=5, year=2026)),
        ("anniversary:2026", Occurrence("first_purchase_anniversary", year=2026)),
        ("segment-event:12", Occurrence("segment", record_id=12)),
        ("manual:2026-03-02", Occurrence("manual")),
        ("dry-run", Occurrence("manual")),
        # hostile or foreign text names nothing
        ("invoice:", Occurrence("manual")),
        ("invoice:-1", Occurrence("manual")),
        ("invoice:1 OR 1=1", Occurrence("manual")),
        ("invoice:" + "9" * 40, Occurrence("manual")),
        ("birthday:5", Occurrence("manual")),
        ("birthday:x:2026", Occurrence("manual")),
        ("birthday:5:20265", Occurrence("manual")),
        ("anniversary:{{ 7*7 }}", Occurrence("manual")),
        ("invoice:٣", Occurrence("manual")),  # a digit, but not an ASCII one
        ("", Occurrence("manual")),
    ],
)
def test_an_occurrence_reads_back_as_what_it_names(text: str, expected: Occurrence) -> None:
    assert parse_occurrence(text) == expected


def test_occurrences_are_written_as_they_are_read() -> None:
    for kind, entity in [
        ("invoice_overdue", "invoice"),
        ("quote_not_ordered", "quote"),
        ("complaint_closed", "ticket"),
        ("purchase", "order"),
        ("first_purchase", "invoice"),
    ]:
        assert parse_occurrence(f"{document_prefix(kind, entity)}8") == Occurrence(kind, entity, 8)
    assert parse_occurrence(birthday(3, 2027)) == Occurrence("birthday", contact_id=3, year=2027)
    assert parse_occurrence(anniversary(2027)) == Occurrence("first_purchase_anniversary", year=2027)


def test_only_a_birthday_names_a_contact() -> None:
    assert occurrence_contact("birthday:17:2026") == 17
    assert [occurrence_contact(o) for o in ("invoice:17", "anniversary:2026", "segment-event:17", "manual:2026-01-01", "birthday:17")] == [None] * 5


def test_29_february_is_kept_on_28_february_in_other_years() -> None:
    years = range(2019, 2028)
    assert dt.date(2020, 2, 29) in same_day_in_years(dt.date(2027, 2, 28), years)
    assert dt.date(2024, 2, 29) in same_day_in_years(dt.date(2027, 2, 28), years)
    assert dt.date(2020, 2, 29) not in same_day_in_years(dt.date(2024, 2, 28), years), "a leap year has its own 29 February"
    assert same_day_in_years(dt.date(2024, 2, 29), years) == [dt.date(2020, 2, 29), dt.date(2024, 2, 29)]
    assert same_day_in_years(dt.date(2026, 3, 2), range(2025, 2027)) == [dt.date(2025, 3, 2), dt.date(2026, 3, 2)]
    assert same_day_in_years(dt.date(2026, 3, 1), range(2019, 2027)) == [dt.date(y, 3, 1) for y in range(2019, 2027)], "1 March is no one's 29 February"
