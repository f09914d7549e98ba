"""The SMTP relay, when e-mail is set up: a session opened as the dispatcher opens it, and closed without a message.

`SmtpSession.open` connects, starts TLS and logs in as `email.smtp` says, exactly as a
dispatch run does; the doctor then says goodbye (QUIT). Nothing is sent.
"""

from __future__ import annotations

import dataclasses
import smtplib
import ssl
from collections.abc import Iterator

from erp_crm.automation.email_channel import smtp_server
from erp_crm.automation.smtp_send import ConnectionFailed, SmtpSession
from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped, unresolvable
from erp_crm.errors import UnresolvableHost, UserError
from erp_crm.settings.base import resolve_path
from erp_crm.settings.root import Settings
from erp_crm.settings.sending import SmtpSection

NAME = "email.smtp"


def _fix(error: BaseException | None, smtp: SmtpSection) -> str:
    """What to change, from the error under the session's one line: the password, TLS, or the way to the relay."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        source = (
            f"the file {smtp.password_file} (email.smtp.password_file)"
            if smtp.password_file
            else f"the environment variable {smtp.password_env} (email.smtp.password_env)"
        )
        return f"check email.smtp.username and the password in {source}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "the relay does not offer what email.smtp asks (STARTTLS, or a login): set email.smtp.security (starttls on 587, ssl on 465) as the relay's operator says"
    if isinstance(error, ssl.SSLError):
        return "check email.smtp.security against the port (starttls on 587, ssl on 465), and email.smtp.ca_file for a relay whose certificate a company authority signed"
    return f"check email.smtp.host and email.smtp.port ({smtp.host}:{smtp.port}), and that the relay takes connections from this machine (firewall)"


def probe(settings: Settings, timeout: float) -> Iterator[Finding]:
    email, smtp = settings.email, settings.email.smtp
    if email.maildir:
        yield skipped(NAME, f"e-mails are written into the Maildir {email.maildir} (email.maildir), not sent")
        return
    if not email.sender:
        yield skipped(NAME, "no e-mail is sent: email.sender is not set")
        return
    if smtp.ca_file and not resolve_path(smtp.home, smtp.ca_file).is_file():
        yield Finding(
            NAME,
            Status.FAIL,
            f"email.smtp.ca_file: there is no file {resolve_path(smtp.home, smtp.ca_file)}",
            "correct email.smtp.ca_file (relative to the home)",
        )
        return
    try:
        server = dataclasses.replace(smtp_server(email), timeout=min(timeout, float(smtp.timeout)))
    except UserError as exc:  # a password file that cannot be read
        yield Finding(NAME, Status.FAIL, str(exc), "make the file email.smtp.password_file names readable by this user")
        return
    session = SmtpSession(server)
    try:
        with session:
            pass
    except ConnectionFailed as exc:
        yield Finding(NAME, Status.FAIL, f"cannot open an SMTP session ({smtp.security}) with {exc}", _fix(exc.__context__, smtp))
        return
    except UnicodeError as exc:
        yield unresolvable(NAME, UnresolvableHost("email.smtp.host", exc))
        return
    login = f", logged in as {smtp.username}" if smtp.username else ""
    yield ok(NAME, f"{smtp.host}:{smtp.port} answers ({smtp.security}{login}); no message was sent")


CHECK = Check("email", probe, (NAME,))
