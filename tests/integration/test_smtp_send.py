"""Sending one e-mail over a real SMTP server on loopback: the outcome says whether it may have been delivered."""

from __future__ import annotations

import socket
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

import pytest

from erp_crm.automation.email_message import Party, build_email
from erp_crm.automation.smtp_send import ConnectionFailed, Outcome, SmtpServer, SmtpSession
from tests.support.smtp import LoopbackSmtp, self_signed


def message(to: str, key: str = "k1") -> EmailMessage:
    return build_email(sender=Party("hirlevel@pelda.hu"), to=Party(to), subject="Teszt", text="Árvíztűrő\n.\nvége", html=None, key=key)


def server(port: int) -> SmtpServer:
    return SmtpServer("127.0.0.1", port, security="none", timeout=5)


def test_sent_refused_and_throttled_on_one_connection() -> None:
    with LoopbackSmtp(refuse={"nincs@vevo.hu"}, answers={"lassan@vevo.hu": "451 4.7.1 try again later"}) as smtp, SmtpSession(server(smtp.port)) as session:
        sent = session.send(message("a@vevo.hu"), "hirlevel@pelda.hu", "a@vevo.hu")
        refused = session.send(message("nincs@vevo.hu"), "hirlevel@pelda.hu", "nincs@vevo.hu")
        slowed = session.send(message("lassan@vevo.hu"), "hirlevel@pelda.hu", "lassan@vevo.hu")
        again = session.send(message("b@vevo.hu", "k2"), "hirlevel@pelda.hu", "b@vevo.hu")
    assert (sent.outcome, sent.code) == (Outcome.SENT, 250)
    assert (refused.outcome, refused.code, refused.detail) == (Outcome.REFUSED, 550, "5.1.1 no such mailbox")
    assert (slowed.outcome, slowed.code, slowed.throttled) == (Outcome.RETRY, 451, True)
    assert again.outcome is Outcome.SENT, "a refusal before the content leaves the connection usable"
    assert [r.recipients for r in smtp.received] == [["a@vevo.hu"], ["b@vevo.hu"]]
    body = smtp.received[0].message.get_content()
    assert body.replace("\r\n", "\n").rstrip("\n") == "Árvíztűrő\n.\nvége", "a line holding a dot arrives as it was (dot-stuffed on the wire)"


def test_a_connection_that_drops_after_the_content_is_unknown_never_sent() -> None:
    with LoopbackSmtp(drop_after_data=True) as smtp, SmtpSession(server(smtp.port)) as session:
        first = session.send(message("a@vevo.hu"), "hirlevel@pelda.hu", "a@vevo.hu")
        after = session.send(message("b@vevo.hu", "k2"), "hirlevel@pelda.hu", "b@vevo.hu")
    assert first.outcome is Outcome.UNKNOWN and "no answer after the content was sent" in first.detail
    assert len(smtp.received) == 1, "the server did take it: exactly why it must not be sent again blindly"
    assert after.outcome is Outcome.RETRY and len(smtp.received) == 1, "the session closed itself; nothing more went out"


def test_no_server_is_a_connection_failure_with_nothing_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionFailed, match=f"127.0.0.1:{port}: "), SmtpSession(server(port)):
        pass


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_the_company_s_own_certificate_authority(tmp_path: Path, security: Literal["starttls", "ssl"]) -> None:
    ca = self_signed(tmp_path)
    with LoopbackSmtp(tls=(security, tmp_path)) as smtp:
        trusted = SmtpServer("127.0.0.1", smtp.port, security=security, timeout=5, ca_file=str(ca))
        with SmtpSession(trusted) as session:
            result = session.send(message("a@vevo.hu"), "hirlevel@pelda.hu", "a@vevo.hu")
        assert result.outcome is Outcome.SENT and len(smtp.received) == 1
        # the system's authorities do not know this certificate: refused before anything is sent
        with pytest.raises(ConnectionFailed, match="certificate verify failed"), SmtpSession(SmtpServer("127.0.0.1", smtp.port, security=security, timeout=5)):
            pass
    assert len(smtp.received) == 1


def test_a_server_that_requires_tls_refuses_a_plain_session_before_the_content(tmp_path: Path) -> None:
    self_signed(tmp_path)
    with LoopbackSmtp(tls=("starttls", tmp_path)) as smtp, SmtpSession(server(smtp.port)) as session:
        result = session.send(message("a@vevo.hu"), "hirlevel@pelda.hu", "a@vevo.hu")
    assert (result.outcome, result.code) == (Outcome.REFUSED, 530) and smtp.received == []
