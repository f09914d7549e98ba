"""Text message encoding and segment counts, worked out by hand from GSM 03.38 and the 160/153 and 70/67 rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from erp_crm.automation.sms_text import GSM7_BASIC, GSM7_EXTENSION, SmsSize, measure, to_gsm7


def test_gsm7_lengths_and_segments() -> None:
    assert measure("") == SmsSize("GSM-7", 0, 0)
    assert measure("Köszönjük a rendelését!") == SmsSize("GSM-7", 23, 1), "é, ö, ü are in the GSM alphabet"
    assert measure("x" * 160) == SmsSize("GSM-7", 160, 1)
    assert measure("x" * 161) == SmsSize("GSM-7", 161, 2)
    assert measure("x" * 306) == SmsSize("GSM-7", 306, 2) and measure("x" * 307).segments == 3
    # € takes two places: 80 of them fill one message exactly
    assert measure("€" * 80) == SmsSize("GSM-7", 160, 1) and measure("€" * 81).segments == 2
    # an escaped character is not split: 152 plain places, then €, cannot share the first segment's last place
    assert measure("x" * 152 + "€" + "x" * 151) == SmsSize("GSM-7", 305, 2)
    assert measure("x" * 152 + "€" + "x" * 152) == SmsSize("GSM-7", 306, 3), "306 places would fit two segments if € could be split"


def test_one_hungarian_letter_outside_the_alphabet_makes_it_ucs2() -> None:
    assert measure("Kedves Vásárlónk").encoding == "UCS-2"
    for letter in "áíóúőűÁÍÓÚŐŰ":
        assert measure(letter).encoding == "UCS-2", letter
    assert measure("á" * 70) == SmsSize("UCS-2", 70, 1)
    assert measure("á" * 71) == SmsSize("UCS-2", 71, 2)
    assert measure("á" * 134) == SmsSize("UCS-2", 134, 2) and measure("á" * 135).segments == 3
    # an emoji is a surrogate pair in UCS-2 (two places), never split
    assert measure("🙂") == SmsSize("UCS-2", 2, 1)
    assert measure("á" * 66 + "🙂" + "á").segments == 1, "69 places: one message"
    assert measure("á" * 66 + "🙂" + "á" * 66) == SmsSize("UCS-2", 134, 3), "the pair moves whole to the second segment"
    assert measure("á" * 65 + "🙂").places == 67


def test_hungarian_text_written_with_the_gsm_alphabet() -> None:
    text = "Árvíztűrő tükörfúrógép – „Kedves Vásárlónk”…"
    assert to_gsm7(text) == 'Arviztürö tükörfurogép - "Kedves Vasarlonk"...'
    assert measure(to_gsm7(text)).encoding == "GSM-7"
    long = "Kedves Ügyfelünk! Régóta nem vásárolt nálunk; most 10% kedvezményt adunk a következő rendelésére. Üdvözlettel: Példa Kft."
    assert (measure(long).segments, measure(to_gsm7(long)).segments) == (2, 1)
    assert to_gsm7("日本 🙂") == "日本 🙂", "what has no GSM letter stays as it is, and the text stays UCS-2"


@given(st.text(max_size=400))
def test_any_text_has_a_size_that_fits_its_segments(text: str) -> None:
    size = measure(text)
    assert (size.segments == 0) == (size.places == 0)
    if size.segments > 1:
        room = 153 if size.encoding == "GSM-7" else 67
        assert size.places <= size.segments * room and size.places > (size.segments - 1) * (room - 1)
    if size.encoding == "GSM-7":
        assert all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


@given(st.text(alphabet="aábcdeéfghiíjklmnoóöőpqrstuúüűvwxyzAÁEÉIÍOÓÖŐUÚÜŰ .,!?-–„”", max_size=300))
def test_hungarian_text_always_fits_the_gsm_alphabet_once_written_with_it(text: str) -> None:
    folded = to_gsm7(text)
    assert measure(folded).encoding == "GSM-7" and len(folded) == len(text)
    assert measure(folded).segments <= measure(text).segments
