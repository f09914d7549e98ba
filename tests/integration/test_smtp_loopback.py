"""E-mails built by erp-crm through a real SMTP server on loopback (aiosmtpd): what arrives is what was meant."""

from __future__ import annotations

import smtplib

import pytest

from erp_crm.automation.email_message import Party, build_email
from tests.support.smtp import LoopbackSmtp

SENDER = Party("hirlevel@pelda.hu", "Példa Kft.")


def test_a_hungarian_multipart_message_arrives_intact() -> None:
    text = "Kedves Őry Űrsula!\n\nÁrvíztűrő tükörfúrógép – " + "ő" * 200
    message = build_email(
        sender=SENDER, to=Party("ury@vevo.hu", "Őry Űrsula"), subject="Őszi ajánlat: 10% – csak Önnek", text=text,
        html="<p>Árvíztűrő <b>tükörfúrógép</b></p>", key="e1/s1/a1", unsubscribe_url="https://crm.pelda.hu/u/x",
    )  # fmt: skip
    with LoopbackSmtp() as smtp, smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client:
        refused = client.send_message(message)
    assert refused == {}
    (got,) = smtp.received
    assert (got.sender, got.recipients) == ("hirlevel@pelda.hu", ["ury@vevo.hu"])
    arrived = got.message
    assert arrived["Subject"] == "Őszi ajánlat: 10% – csak Önnek" and arrived["Message-ID"] == message["Message-ID"]
    assert arrived["To"].addresses[0].display_name == "Őry Űrsula"
    plain = arrived.get_body(preferencelist=("plain",))
    html = arrived.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert html is not None and "<b>tükörfúrógép</b>" in html.get_content()
    assert arrived["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_refused_recipient_is_the_server_s_answer_not_a_silent_drop() -> None:
    message = build_email(sender=SENDER, to=Party("nincs@vevo.hu"), subject="x", text="y", html=None, key="k")
    with (
        LoopbackSmtp(refuse={"nincs@vevo.hu"}) as smtp,
        smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.send_message(message)
    assert refused.value.recipients == {"nincs@vevo.hu": (550, b"5.1.1 no such mailbox")}
    assert smtp.received == []
