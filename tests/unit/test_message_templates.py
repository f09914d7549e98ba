"""Message template files: loaded and compiled up front, mistakes named by file, key and line; rendered per customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from erp_crm.automation.message_templates import RenderedMessage, load_message
from erp_crm.automation.sms_text import measure
from erp_crm.errors import ConfigError

WINBACK = """\
email:
  subject: "Rég nem láttuk, {{ partner.name }}!"
  text: |
    Kedves {{ contact.name }}!

    Utoljára {{ partner.last_purchase }} napon vásárolt nálunk.
  html: |
    <p>Kedves {{ contact.name }}!</p>
sms: "{{ partner.name }}: 10% kedvezmény. Leiratkozás: {{ links.unsubscribe }}"
"""
CONTEXT = {
    "partner": {"name": "Béta & <Társa> Bt.", "last_purchase": "2024-03-01"},
    "contact": {"name": "Kovács Péter"},
    "links": {"unsubscribe": "https://crm.example.hu/u/abc"},
}


def write(tmp_path: Path, text: str, name: str = "winback") -> Path:
    path = tmp_path / "hu" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_message_renders_each_part_for_one_customer(tmp_path: Path) -> None:
    template = load_message(write(tmp_path, WINBACK))
    assert (template.name, template.locale, template.channels) == ("winback", "hu", ("email", "sms"))
    assert template.render(CONTEXT) == RenderedMessage(
        subject="Rég nem láttuk, Béta & <Társa> Bt.!",
        text="Kedves Kovács Péter!\n\nUtoljára 2024-03-01 napon vásárolt nálunk.",
        html="<p>Kedves Kovács Péter!</p>",
        sms="Béta & <Társa> Bt.: 10% kedvezmény. Leiratkozás: https://crm.example.hu/u/abc",
    )
    escaped = load_message(write(tmp_path, 'email: {subject: s, text: t, html: "<b>{{ partner.name }}</b>"}', "x")).render(CONTEXT)
    assert escaped.html == "<b>Béta &amp; &lt;Társa&gt; Bt.</b>"


def test_a_subject_is_one_line_whatever_the_fields_hold(tmp_path: Path) -> None:
    template = load_message(write(tmp_path, 'email: {subject: "Szia {{ partner.name }}", text: x}'))
    hostile = {"partner": {"name": "X\r\nBcc: everyone@example.com\n"}}
    assert template.render(hostile).subject == "Szia X Bcc: everyone@example.com", "no line break, so no extra header"
    with pytest.raises(ConfigError, match=r"winback.yaml:1: email.subject renders to 0 characters; a subject needs 1 to 200"):
        load_message(write(tmp_path, 'email: {subject: "{{ partner.name }}", text: x}')).render({"partner": {"name": " \n "}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"winback.yaml: a message template holds `email:` \(subject, text, optional html\) and/or `sms:`"),
        ("letter: x\n", r"winback.yaml:1: unknown key 'letter'; a message template holds email and sms"),
        ("email: hello\n", r"winback.yaml:1: email holds subject, text and \(optionally\) html"),
        ("email:\n  subject: x\n", r"winback.yaml:1: email: missing 'text'"),
        ("email:\n  subject: x\n  text: y\n  body: z\n", r"winback.yaml:4: email: unknown key 'body'"),
        ("1: a\nfoo: b\n", r"winback.yaml:1: unknown key '1'"),
        ("email:\n  1: x\n  foo: y\n", r"winback.yaml:2: email: unknown key '1'"),
        ("email:\n", r"winback.yaml:1: email holds subject, text and \(optionally\) html"),
        ("sms: [a, b]\n", r"winback.yaml:1: sms must be text \(quote it if it looks like a number or a list\)"),
        (
            "email:\n  subject: x\n  text: |\n    one\n    {{ partner.name|attr('x') }}\n",
            r"winback.yaml:3: email.text, template line 2: No filter named 'attr'",
        ),
        ("sms: '{% include \"x\" %}'\n", r"winback.yaml:1: sms, template line 1: templates cannot include"),
    ],
)
def test_mistakes_in_a_file_name_file_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_message(write(tmp_path, text))


def test_a_missing_field_names_the_part_and_its_line_when_rendered(tmp_path: Path) -> None:
    template = load_message(write(tmp_path, WINBACK))
    with pytest.raises(ConfigError, match=r"winback.yaml:3: email.text, template line 3: unknown field 'last_purchase'"):
        template.render({**CONTEXT, "partner": {"name": "Béta"}})


# Every template shipped in templates/messages/, as a customer receives it: with the record
# that triggered the message, and without one (a preview, or a chain triggered by a segment).
SHIPPED = sorted((Path(__file__).resolve().parents[2] / "templates" / "messages").glob("*/*.yaml"))
TRIGGER_FIELDS = ("kind", "number", "date", "status", "currency", "amount_total", "due_date", "days_overdue", "valid_until", "products", "subject", "closed_at",
                  "first_purchase", "years")  # fmt: skip
HOSTILE = "<script>alert('x')</script> & {{ 7*191 }}"
LONGEST = "Árvíztűrő Tükörfúrógép Őrző-Védő Ügynökség Korlátolt Felelősségű Társaság"
A_RECORD = {
    "kind": "invoice", "number": "SZ-2026/000123", "date": dt.date(2026, 11, 2), "status": "open", "currency": "EUR", "amount_total": Decimal("1234567.5"),
    "due_date": dt.date(2026, 11, 24), "days_overdue": 8, "valid_until": dt.date(2026, 12, 31), "products": ["Csavar M8", HOSTILE], "subject": HOSTILE,
    "closed_at": None, "first_purchase": dt.date(2023, 12, 2), "years": 3,
}  # fmt: skip


# The ready chains' templates, and what each says of the record that triggered it.
READY = {
    "quote_follow_up": "SZ-2026/000123", "satisfaction_question": "SZ-2026/000123", "invoice_overdue": "SZ-2026/000123",
    "invoice_overdue_second": "SZ-2026/000123", "welcome": "SZ-2026/000123", "birthday": "", "anniversary": "2023",
}  # fmt: skip


def customer(name: str, trigger: dict[str, object]) -> dict[str, object]:
    """A partner as step_messages gives it to a template, with every field a long, accented or hostile value can take."""
    return {
        "partner": {"name": name, "kind": "company", "email": "info@example.hu", "lang": "hu_HU", "city": "Győr"},
        "contact": {"name": name, "first_name": name, "last_name": name, "email": "eva@example.hu"},
        "salesperson": {"name": name, "email": "ertekesito@example.hu"},
        "chain": {"name": "x", "title": "x"},
        "links": {"unsubscribe": ""},
        "trigger": trigger,
    }


def test_both_languages_have_the_same_templates_with_the_same_parts() -> None:
    by_language = {lang: {p.stem: load_message(p).parts.keys() for p in SHIPPED if p.parent.name == lang} for lang in ("hu", "en")}
    assert by_language["hu"] == by_language["en"]
    assert set(READY) <= set(by_language["hu"])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("trigger", [A_RECORD, dict.fromkeys(TRIGGER_FIELDS)], ids=["with a record", "without a record"])
@pytest.mark.parametrize("name", ["Kovács Éva", LONGEST, HOSTILE])
def test_every_shipped_template_renders_reads_well_and_escapes(path: Path, trigger: dict[str, object], name: str) -> None:
    rendered = load_message(path).render(customer(name, trigger))
    for text in (rendered.subject, rendered.text, rendered.html, rendered.sms):
        if text is not None:
            assert "None" not in text and "\n\n\n" not in text and "1337" not in text, "no empty field shows, and a value is never run as a template"
            assert ".." not in text.replace("...", "") and " ," not in text and " ." not in text, text
    if rendered.html is not None:
        assert "<script>" not in rendered.html, "every field is escaped in HTML"
        assert "&lt;script&gt;" in rendered.html or name != HOSTILE
    if rendered.sms is not None:
        size = measure(rendered.sms)
        if name != HOSTILE:  # `{` and `}` take two places each in GSM-7, and are in no one's name
            assert (size.encoding, size.segments) == ("GSM-7", 1), (rendered.sms, size)
    if trigger["number"] and path.stem in READY:
        assert READY[path.stem] in (rendered.text or ""), "a triggered message names its record"


def test_amounts_and_dates_are_written_as_the_customer_s_language_writes_them() -> None:
    values = customer("Kovács Éva", A_RECORD)
    templates = Path(__file__).resolve().parents[2] / "templates" / "messages"
    hu = load_message(templates / "hu" / "invoice_overdue.yaml").render(values).text or ""
    en = load_message(templates / "en" / "invoice_overdue.yaml").render(values).text or ""
    assert "1\xa0234\xa0567,50\xa0EUR" in hu and "2026. november 24." in hu and "8 napja lejárt" in hu
    assert "€1,234,567.50" in en and "24 November 2026" in en and "8 days past its due date" in en
