"""E-mail to the company's own staff (job alerts, scheduled reports), sent at once rather than through the outbox.

The outbox exists for customers: consent, the weekly cap, at most once per chain step.
A message to an admin about a failing job has none of those concerns, and must not wait
behind a dispatcher that may itself be the failing job. It goes through the same relay
(or the same Maildir, on a trial install) as customer mail.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from erp_crm.automation.email_channel import email_sender
from erp_crm.automation.smtp_send import ConnectionFailed, Outcome
from erp_crm.errors import UserError
from erp_crm.settings.sending import EmailSection


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


def send_to_staff(section: EmailSection, to: Sequence[str], subject: str, text: str, attachments: Sequence[Attachment] = ()) -> list[str]:
    """Send one message to each address; returns the addresses it could not be delivered to, each with the reason.

    Raises UserError when e-mail is not set up at all (no `email.sender`): the caller
    asked for mail that cannot go anywhere, which the admin must hear of.
    """
    if not section.sender:
        raise UserError("email.sender is not set, so no staff e-mail can be sent (see docs/sending.md)")
    sender = email_sender(section)
    problems = []
    try:
        sender.ready()
        for address in to:
            result = sender.deliver(_message(sender.sender.address, address, subject, text, attachments), address)
            if result.outcome is not Outcome.SENT:
                problems.append(f"{address}: {result.detail or result.outcome.value}")
    except ConnectionFailed as exc:
        problems = [f"{address}: {exc}" for address in to]
    finally:
        sender.close()
    return problems


def _message(sender: str, to: str, subject: str, text: str, attachments: Sequence[Attachment]) -> EmailMessage:
    message = EmailMessage(policy=SMTP)  # CRLF line ends: SMTP's own, which the session sends as they are
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=secrets.token_hex(6), domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    for item in attachments:
        message.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return message
