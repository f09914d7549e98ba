"""The e-mail channel of the dispatcher: outbox rows become MIME messages and go over one SMTP connection.

With `email.maildir` set they are written into that Maildir folder instead (`MaildirSender`):
for a trial run or a staging copy, where every message should be readable and none may
reach a customer.
"""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from erp_crm.automation.dispatch import Claimed
from erp_crm.automation.email_builder import EmailBuilder
from erp_crm.automation.smtp_send import ConnectionFailed, Outcome, SendResult, SmtpServer, SmtpSession
from erp_crm.settings.base import resolve_path
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


class EmailSender:
    """Sends claimed e-mail rows through one SMTP session, opened when first needed and again after it broke."""

    def __init__(self, section: EmailSection) -> None:
        self.builder = EmailBuilder.of(section)
        self.sender = self.builder.sender
        self.server = smtp_server(section)
        self.session: SmtpSession | None = None

    def prepare(self, row: Claimed) -> EmailMessage | bytes:
        """The message as the chain step built it, or (for a row decided without one) built now from its parts."""
        if row.mime is not None:
            return row.mime.encode("ascii")
        return self.builder.build(
            key=row.key, to=row.recipient, name=row.recipient_name, subject=row.subject, text=row.body, html=row.html, unsubscribe_url=row.unsubscribe_url
        )

    def ready(self) -> None:
        if self.session is None or self.session.client is None:
            self.close()
            session = SmtpSession(self.server)
            session.open()
            self.session = session

    def send(self, prepared: EmailMessage | bytes, row: Claimed) -> SendResult:
        return self.deliver(prepared, row.recipient)

    def deliver(self, prepared: EmailMessage | bytes, recipient: str) -> SendResult:
        """One message to one address; also what staff mail (job alerts, reports) goes through, outside the outbox."""
        assert self.session is not None, "ready() opens the session before send()"
        return self.session.send(prepared, self.sender.address, recipient)

    def close(self) -> None:
        if self.session is not None:
            self.session.__exit__(None, None, None)
            self.session = None


class MaildirSender(EmailSender):
    """Writes each e-mail into a Maildir (one file per message, as a mail server would) instead of sending it."""

    def __init__(self, section: EmailSection, folder: Path) -> None:
        super().__init__(section)
        self.folder = folder
        self.box: mailbox.Maildir | None = None

    def ready(self) -> None:
        if self.box is None:
            try:
                self.box = mailbox.Maildir(self.folder, create=True)
            except OSError as error:
                raise ConnectionFailed(f"maildir {self.folder}: {error.strerror}") from None

    def deliver(self, prepared: EmailMessage | bytes, recipient: str) -> SendResult:
        assert self.box is not None, "ready() opens the maildir before send()"
        try:
            name = self.box.add(prepared)
        except OSError as error:  # the file may be half-written: as unclear as a dropped connection
            return SendResult(Outcome.UNKNOWN, detail=f"maildir {self.folder}: {error.strerror}")
        return SendResult(Outcome.SENT, 250, f"written to {self.folder / 'new' / name}")

    def close(self) -> None:
        self.box = None


def email_sender(section: EmailSection) -> EmailSender:
    """The sender the settings ask for: SMTP, or a Maildir folder when `email.maildir` is set."""
    if section.maildir:
        return MaildirSender(section, resolve_path(section.smtp.home, section.maildir))  # relative to the home, as every path in the settings
    return EmailSender(section)
