"""Message template files: loaded and compiled up front, mistakes named by file, key and line; rendered per customer."""

from __future__ import annotations

from pathlib import Path

import pytest

from erp_crm.automation.message_templates import RenderedMessage, load_message
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
