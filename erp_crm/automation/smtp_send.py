"""One e-mail over SMTP, with an outcome that says whether it may have been delivered.

Sending must be at most once (docs/sending.md): a message whose fate is unclear is never
sent again blindly. SMTP makes the line clear if the client walks the DATA phase itself
instead of through `smtplib.SMTP.sendmail`, which folds every failure into exceptions
that do not say whether the content had left:

- everything before the server's `354` (connecting, `MAIL FROM`, `RCPT TO`, the `DATA`
  command) happens before the content is sent: a `4xx` answer or a broken connection
  there is `RETRY` (nothing was delivered), a `5xx` is `REFUSED`;
- once the content is on its way, only the server's final answer settles it: `250` is
  `SENT`, `5xx` `REFUSED` and `4xx` `RETRY` (the server says it did not take the
  message); a connection that breaks or times out before that answer is `UNKNOWN`,
  for a person to review, because the server may have accepted the message;
- `421`, `450`, `451` and `452` mean "slow down": `RETRY` with `throttled` set.
"""

from __future__ import annotations

import contextlib
import enum
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Literal

THROTTLING = frozenset({421, 450, 451, 452})
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Outcome(enum.Enum):
    SENT = "sent"
    REFUSED = "refused"  # the server said no for good: not delivered
    RETRY = "retry"  # not delivered, and may be tried again later
    UNKNOWN = "unknown"  # the content left, and no answer came: it may have been delivered


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    code: int | None = None  # the server's reply code, when there was one
    detail: str = ""  # the server's words, or what broke
    throttled: bool = False
    retry_after: float | None = None  # seconds the server asked to be left alone (HTTP Retry-After)
    stop: bool = False  # every further message would meet the same end (bad credentials, no server): the run stops
    provider_id: str | None = None  # the gateway's own id of the message, for looking it up there


@dataclass(frozen=True)
class SmtpServer:
    """Where to send: host, port, `starttls`, `ssl` or `none`, credentials (from the environment), timeout in seconds.

    The server's certificate is checked against the system's authorities, or those of
    `ca_file` (a company's own relay with an internal certificate authority).
    """

    host: str
    port: int
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


class SmtpSession:
    """An open connection (`with SmtpSession(server) as session:`), on which `send` delivers messages one by one.

    Opening fails with `ConnectionFailed` (nothing sent). After an `UNKNOWN` outcome the
    connection's state is unknown too: the session closes itself, and `send` answers
    `RETRY` without touching the network until a new session is opened.
    """

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        self.open()
        return self

    def open(self) -> None:
        """Connect, start TLS and log in; ConnectionFailed (nothing sent) when any of it fails."""
        s = self.server
        try:
            if s.security == "ssl":
                self.client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=s.tls())
            else:
                self.client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    self.client.starttls(context=s.tls())
            self.client.ehlo_or_helo_if_needed()
            if s.username:
                self.client.login(s.username, s.password or "")
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionFailed(f"{s.host}:{s.port}: {_words(error)}") from None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):  # a polite goodbye, if the server still listens
                self.client.quit()
        self.close()

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def send(self, message: EmailMessage | bytes, sender: str, recipient: str) -> SendResult:
        """Deliver `message` (built, or as its bytes) to one recipient; the outcome says whether it may have been delivered."""
        client = self.client
        if client is None:
            return SendResult(Outcome.RETRY, detail="the connection was closed after an unclear end")
        try:
            for command in (lambda: client.mail(sender), lambda: client.rcpt(recipient), lambda: client.docmd("DATA")):
                code, words = command()
                if code not in (250, 251, 354):
                    _reset(client)  # end the half-open transaction, so the next message starts clean
                    return _before_content(code, words)
        except (OSError, smtplib.SMTPException) as error:  # nothing of the content has left
            self.close()
            return SendResult(Outcome.RETRY, detail=_words(error))
        raw = message if isinstance(message, bytes) else message.as_bytes()
        content = _LEADING_DOT.sub(b"..", raw).rstrip(b"\r\n") + b"\r\n.\r\n"
        try:
            client.send(content)
            code, words = client.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            return SendResult(Outcome.UNKNOWN, detail=f"no answer after the content was sent: {_words(error)}")
        text = words.decode("utf-8", "replace")
        if code == 250:
            return SendResult(Outcome.SENT, code, text)
        return SendResult(Outcome.REFUSED if code >= 500 else Outcome.RETRY, code, text, code in THROTTLING)


class ConnectionFailed(Exception):
    """The server could not be reached or refused the session: no message was sent."""


def _reset(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):  # else the next message finds the connection broken, before its content: RETRY
        client.rset()


def _before_content(code: int, words: bytes) -> SendResult:
    text = words.decode("utf-8", "replace")
    if 400 <= code < 500:
        return SendResult(Outcome.RETRY, code, text, code in THROTTLING)
    return SendResult(Outcome.REFUSED, code, text)


def _words(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__
