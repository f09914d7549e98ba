"""Hungarian master data of the demo ERP: identifiers follow the real rules."""

from __future__ import annotations

import random
import re

import pytest

from erp_crm.demo import hungarian as hu

# Tax numbers of listed companies, published on their invoices.
REAL_TAX_NUMBERS = ("10625790-4-44", "10537914-4-44", "10773381-2-44")


@pytest.mark.parametrize("number", REAL_TAX_NUMBERS)
def test_real_tax_numbers_pass_the_check(number: str) -> None:
    assert hu.tax_check_digit(number[:7]) == int(number[7])
    assert hu.valid_tax_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "10625791-4-44",  # wrong check digit
        "10625790-6-44",  # VAT code 6 does not exist
        "10625790-4-01",  # 01 is a court code, not a tax office
        "10625790-4-21",
        "1062579-4-44",
        "10625790/4/44",
    ],
)
def test_broken_tax_numbers_fail(number: str) -> None:
    assert not hu.valid_tax_number(number)


def test_generated_companies_have_valid_identifiers() -> None:
    rng, taken = random.Random(5), set()
    form_codes = {"Kft.": "09", "Bt.": "06", "Zrt.": "10", "Nyrt.": "10"}
    forms = set()
    for _ in range(600):
        city = hu.pick_city(rng)
        co = hu.company(rng, city, taken)
        forms.add(co.form)
        assert hu.valid_tax_number(co.tax_number), co
        assert co.name.endswith(" " + co.form)
        court, form, serial = co.registration_number.split("-")
        assert court == city.county and 1 <= int(court) <= 20
        assert form == form_codes[co.form] and re.fullmatch(r"\d{6}", serial)
        assert co.eu_vat_number == "HU" + co.tax_number[:8]
        assert re.fullmatch(r"[a-z0-9]+\.hu", co.domain)
        office = co.tax_number[-2:]
        assert office == city.county or office in ("41", "42", "43", "44", "51")
    assert forms == set(form_codes)
    assert len(taken) == 600  # names are unique


def test_people_have_consistent_gender_and_ascii_mail() -> None:
    rng = random.Random(9)
    for _ in range(300):
        p = hu.person(rng)
        names = hu.MALE_GIVEN_NAMES if p.gender == "male" else hu.FEMALE_GIVEN_NAMES
        assert p.given in names
        assert p.display == f"{p.family} {p.given}"
        assert p.civility == ("MR" if p.gender == "male" else "MME")
        mail = hu.private_email(rng, p)
        assert mail.isascii() and re.fullmatch(r"[a-z0-9.]+@[a-z.-]+", mail), mail


def test_ascii_fold_keeps_letters_and_drops_accents() -> None:
    assert hu.ascii_fold("Kőrösi Ügyvédi Iroda") == "Korosi Ugyvedi Iroda"
    assert hu.slug("Bükk-Agro Kft.") == "bukkagrokft"


def test_places_and_phones_look_hungarian() -> None:
    rng = random.Random(1)
    for city in hu.CITIES:
        assert all(re.fullmatch(r"\d{4}", z) for z in city.zips)
        assert all(z.startswith("1") for z in city.zips) == (city is hu.BUDAPEST)
        assert hu.landline(rng, city).startswith(f"+36 {city.area} ")
    assert re.fullmatch(r"\+36 (20|30|70) \d{3} \d{4}", hu.mobile(rng))
    address = hu.street_address(rng)
    assert re.search(r" \d+(/[ABC])?\.", address), address
