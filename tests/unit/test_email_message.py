"""E-mails built for SMTP, parsed back: Hungarian names and subjects, both parts, Message-ID from the key, one-click unsubscribe."""

from __future__ import annotations

import datetime as dt
import re
from email import message_from_bytes, policy

import pytest

from erp_crm.automation.email_message import Party, build_email, message_id
from erp_crm.errors import UserError

SENDER = Party("hirlevel@pelda.hu", "Példa Kft. – Ügyfélszolgálat")
TO = Party("kovacs.peter@vevo.hu", "Kovács Péter")
TEXT = "Kedves Kovács Péter!\n\nÁrvíztűrő tükörfúrógép: " + "hosszú sor " * 30 + "\n\nÜdvözlettel,\nPélda Kft."
HTML = "<p>Kedves Kovács Péter!</p><p>Árvíztűrő tükörfúrógép</p>"


def built(**overrides: object) -> bytes:
    options: dict[str, object] = {
        "sender": SENDER, "to": TO, "subject": "Rég nem láttuk – 10% kedvezmény őszre", "text": TEXT, "html": HTML,
        "key": "enrolment 7, step 2, attempt 1", "unsubscribe_url": "https://crm.pelda.hu/u/abc123",
        "unsubscribe_mailto": "leiratkozas@pelda.hu", "now": dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC),
    }  # fmt: skip
    options.update(overrides)
    return build_email(**options).as_bytes()  # type: ignore[arg-type]


def test_the_message_parses_back_as_it_was_meant() -> None:
    raw = built()
    assert raw.isascii(), "every header and body is encoded for 7-bit transport"
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n")), "CRLF, no line beyond SMTP's limit"
    message = message_from_bytes(raw, policy=policy.default)
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Példa Kft. – Ügyfélszolgálat", "hirlevel@pelda.hu")
    assert str(message["To"]) == "Kovács Péter <kovacs.peter@vevo.hu>"
    assert message["Subject"] == "Rég nem láttuk – 10% kedvezmény őszre"
    assert message["Date"] == "Wed, 02 Dec 2026 09:30:00 +0000"
    assert message.get_content_type() == "multipart/alternative"
    text, html = (part for part in message.iter_parts())
    assert (text.get_content_type(), text.get_content_charset(), text.get_content().replace("\r\n", "\n").rstrip("\n")) == ("text/plain", "utf-8", TEXT)
    assert (html.get_content_type(), html.get_content().rstrip("\r\n")) == ("text/html", HTML)


def test_message_id_comes_from_the_idempotency_key() -> None:
    first, again = (message_from_bytes(built(), policy=policy.default) for _ in range(2))
    assert first["Message-ID"] == again["Message-ID"] == message_id("enrolment 7, step 2, attempt 1", "pelda.hu")
    other = message_from_bytes(built(key="enrolment 7, step 3, attempt 1"), policy=policy.default)
    assert other["Message-ID"] != first["Message-ID"] and str(first["Message-ID"]).endswith("@pelda.hu>")


def test_one_click_unsubscribe_headers() -> None:
    message = message_from_bytes(built(), policy=policy.default)
    assert message["List-Unsubscribe"].strip() == "<https://crm.pelda.hu/u/abc123>, <mailto:leiratkozas@pelda.hu>", "folded: a long header"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = message_from_bytes(built(unsubscribe_url="http://crm.pelda.hu/u/abc123", unsubscribe_mailto=None), policy=policy.default)
    assert plain["List-Unsubscribe"] == "<http://crm.pelda.hu/u/abc123>" and plain["List-Unsubscribe-Post"] is None, "one click needs HTTPS"
    none = message_from_bytes(built(unsubscribe_url=None, unsubscribe_mailto=None), policy=policy.default)
    assert none["List-Unsubscribe"] is None


def test_text_only_when_there_is_no_html() -> None:
    message = message_from_bytes(built(html=None), policy=policy.default)
    assert message.get_content_type() == "text/plain" and "Árvíztűrő" in message.get_content()


@pytest.mark.parametrize(
    ("overrides", "header"),
    [
        ({"subject": "Szia\r\nBcc: all@example.com"}, "e-mail subject 'Szia\\r\\nBcc: all@example.com': holds a line break"),
        ({"subject": "Hi\x00there"}, "e-mail subject 'Hi\\x00there': holds a line break or control character"),
        ({"subject": "Hi\x1b[31m"}, "holds a line break or control character"),
        ({"to": Party("kovacs.peter")}, "e-mail address 'kovacs.peter' has no local part and domain"),
        ({"to": Party("a@b.hu", "Evil\r\nBcc: x@y.hu")}, "e-mail recipient name 'Evil\\r\\nBcc: x@y.hu': holds a line break"),
        ({"to": Party("a@b.hu", "X\udc80")}, "e-mail recipient name: holds a character that is not text"),
        ({"to": Party("a@b.hu, evil@x.com")}, "e-mail address 'a@b.hu, evil@x.com' cannot be sent"),
        ({"to": Party("péter@példa.hu")}, "cannot be sent: only letters, digits"),
        ({"to": Party("a\x00@b.hu")}, "cannot be sent"),
        ({"sender": Party("n@shop.hu> <x", "S")}, "e-mail address 'n@shop.hu> <x' cannot be sent"),
        ({"key": "\ud800"}, "e-mail key: holds a character that is not text"),
        ({"text": "t\ud800"}, "e-mail text: holds a character that is not text"),
        ({"html": "<p>\ud800</p>"}, "e-mail html: holds a character that is not text"),
        ({"unsubscribe_url": "https://x/>, <https://evil.com/"}, "unsubscribe link"),
        ({"unsubscribe_url": "javascript:alert(1)"}, "unsubscribe link"),
        ({"unsubscribe_url": "https://x/\x00"}, "unsubscribe link"),
        ({"unsubscribe_mailto": "a@b.hu>, <mailto:c@d.hu"}, "cannot be sent"),
    ],
)
def test_a_value_that_would_break_the_message_is_refused_with_its_header(overrides: dict[str, object], header: str) -> None:
    with pytest.raises(UserError, match=re.escape(header)):
        built(**overrides)
