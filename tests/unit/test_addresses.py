"""Phone numbers and e-mail addresses as ERP users type them: written one way, or refused with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erp_crm.automation.addresses import Address, email_address, phone_number, sms_number


@pytest.mark.parametrize(
    "typed",
    ["+36 30 123 4567", "06 30 123 4567", "06-30/123-4567", "0036301234567", "(30) 123 4567", "+36 (30) 1234567\u00a0", " 36301234567 "],
)
def test_a_hungarian_mobile_number_written_any_way_is_one_number(typed: str) -> None:
    assert phone_number(typed) == Address("+36301234567")
    assert sms_number(typed) == Address("+36301234567")


def test_numbers_that_cannot_take_a_text_message_say_why() -> None:
    assert phone_number("+36 1 234 5678") == Address("+3612345678"), "a Budapest landline is a valid phone number"
    assert sms_number("+36 1 234 5678") == Address(None, "+3612345678 is a landline: a text message cannot reach it")
    assert sms_number("06 80 123 456").reason == "+3680123456 is a toll-free line: a text message cannot reach it"
    assert sms_number("+44 7911 123456") == Address("+447911123456"), "a foreign mobile keeps its own country code"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (None, "no phone number"),
        ("  ", "no phone number"),
        ("n/a", "not a phone number ('n/a')"),
        ("06 30 123", "not a valid phone number ('06 30 123')"),
        ("+36 99 123 4567", "not a valid phone number ('+36 99 123 4567')"),
        ("1" * 65, "not a phone number: longer than 64 characters"),
    ],
)
def test_what_is_not_a_phone_number_is_refused_with_a_reason(typed: str | None, reason: str) -> None:
    found = phone_number(typed)
    assert (found.value, found.reason, found.usable) == (None, reason, False)


def test_email_addresses_are_normalised_offline() -> None:
    assert email_address(" kovacs.peter@PELDA.hu ") == Address("kovacs.peter@pelda.hu"), "the domain in lower case"
    assert email_address("info@Példa.HU") == Address("info@xn--plda-bpa.hu"), "an international domain in its ASCII form, as SMTP carries it"
    assert email_address("Kovács.Péter@példa.hu").reason == "'Kovács.Péter@példa.hu' has letters beyond ASCII before the @, which most mail servers cannot take"
    assert email_address("info@xn--pnzgy-sqa6b.hu").usable


def test_numbers_from_numeric_columns_and_other_types() -> None:
    assert phone_number(36301234567) == Address("+36301234567") and sms_number(36301234567).usable
    assert email_address(123).reason is not None and phone_number(None).reason == "no phone number"
    assert phone_number(3.5).reason == "no phone number" and email_address(["a@b.hu"]).reason == "no e-mail address"


@pytest.mark.parametrize(
    ("typed", "start"),
    [
        (None, "no e-mail address"),
        ("", "no e-mail address"),
        ("kovacs.peter", "not an e-mail address ('kovacs.peter'): "),
        ("nobody@", "not an e-mail address ('nobody@'): "),
        ("a@b", "not an e-mail address ('a@b'): "),
        ("two@@signs.hu", "not an e-mail address ('two@@signs.hu'): "),
        ("x@" + "a" * 300 + ".hu", "not an e-mail address: longer than 254 characters"),
        ("evil\r\nBcc: all@example.com", "not an e-mail address ("),
    ],
)
def test_what_is_not_an_email_address_is_refused_with_a_reason(typed: str | None, start: str) -> None:
    found = email_address(typed)
    assert found.value is None and found.reason is not None and found.reason.startswith(start), found


@given(st.text(max_size=80))
def test_any_text_gives_an_address_or_a_reason_never_an_error(text: str) -> None:
    for found in (email_address(text), phone_number(text), sms_number(text)):
        assert (found.value is None) != (found.reason is None)
        if found.value is not None:
            assert "\n" not in found.value and "\r" not in found.value
