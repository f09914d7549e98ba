"""The e-mail channel of the dispatcher: outbox rows become MIME messages and go over one SMTP connection."""

from __future__ import annotations

from email.message import EmailMessage

from erp_crm.automation.addresses import email_address
from erp_crm.automation.dispatch import Claimed
from erp_crm.automation.email_message import Party, build_email
from erp_crm.automation.smtp_send import SendResult, SmtpServer, SmtpSession
from erp_crm.errors import ConfigError
from erp_crm.settings.sending import EmailSection


def smtp_server(section: EmailSection) -> SmtpServer:
    """The relay of the settings, its password read from the environment or its file."""
    smtp = section.smtp
    return SmtpServer(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=smtp.read_password("email.smtp"),
        timeout=float(smtp.timeout),
        ca_file=str(smtp.home / smtp.ca_file) if smtp.ca_file else None,
    )


def checked_party(what: str, address: str | None, name: str = "") -> Party:
    """An address from the settings, or a ConfigError naming the key: a bad sender would fail every message."""
    if not address:
        raise ConfigError(f"{what}: no address is set; e-mail cannot be sent without one (docs/sending.md)")
    found = email_address(address)
    if found.value is None:
        raise ConfigError(f"{what}: {found.reason}")
    return Party(found.value, name)


class EmailSender:
    """Sends claimed e-mail rows through one SMTP session, opened when first needed and again after it broke."""

    def __init__(self, section: EmailSection) -> None:
        self.sender = checked_party("email.sender", section.sender, section.sender_name)
        self.reply_to = checked_party("email.reply_to", section.reply_to) if section.reply_to else None
        self.unsubscribe_mailto = checked_party("email.unsubscribe_mailto", section.unsubscribe_mailto).address if section.unsubscribe_mailto else None
        self.server = smtp_server(section)
        self.session: SmtpSession | None = None

    def prepare(self, row: Claimed) -> EmailMessage:
        return build_email(
            sender=self.sender,
            to=Party(row.recipient, row.recipient_name),
            subject=row.subject or "",
            text=row.body,
            html=row.html,
            key=row.key,
            unsubscribe_url=row.unsubscribe_url,
            unsubscribe_mailto=self.unsubscribe_mailto,
            reply_to=self.reply_to,
        )

    def ready(self) -> None:
        if self.session is None or self.session.client is None:
            self.close()
            session = SmtpSession(self.server)
            session.open()
            self.session = session

    def send(self, prepared: EmailMessage, row: Claimed) -> SendResult:
        assert self.session is not None, "ready() opens the session before send()"
        return self.session.send(prepared, self.sender.address, row.recipient)

    def close(self) -> None:
        if self.session is not None:
            self.session.__exit__(None, None, None)
            self.session = None
