"""An e-mail as it goes over SMTP: multipart text and HTML, Hungarian correctly encoded, one-click unsubscribe.

Built with the standard library's `email` package under its SMTP policy, which encodes
what needs encoding: non-ASCII names and subjects as RFC 2047 words, bodies as UTF-8 in
quoted-printable (7-bit safe on any relay), lines wrapped, CRLF line ends. What this module adds:

- **Message-ID from the idempotency key** (`<digest@domain>`), the same for every attempt
  at the same message, so that a receiving server or a client that sees it twice can
  tell it is one message;
- **List-Unsubscribe** with the one-click URL (and a mailto when given), and
  **List-Unsubscribe-Post: List-Unsubscribe=One-Click** (RFC 8058), which the large mail
  providers require of bulk senders: their "unsubscribe" button then works without
  opening the mail;
- a header value that would break the message (a line break from a field) is refused
  with the header's name, never written: a rendered subject is one line already.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

from erp_crm.errors import UserError

# An address as it may go into a header unquoted and unencoded: dot-atom text, an ASCII
# (IDNA-encoded) domain. International local parts need SMTPUTF8, which is not offered.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_LINK = re.compile(r"https?://[^\s<>\"',\x00-\x1f\x7f]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _KeptHeaderClasses(HeaderRegistry):
    """The standard header registry, keeping the class it makes per header name.

    The standard one makes a new class with `type()` for every header of every message;
    a dispatcher builds thousands of messages, and those classes were a fifth of the
    time it spent building them. The classes it makes depend on the name alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_POLICY = policy.SMTP.clone(header_factory=_KeptHeaderClasses())


def _one_line(what: str, value: str) -> None:
    """Refuse a header value with a control character (a line break would start a new header) or a character UTF-8 cannot carry."""
    if _CONTROL.search(value):
        raise UserError(f"e-mail {what} {value[:80]!r}: holds a line break or control character")
    _encodable(what, value)


def _encodable(what: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"e-mail {what}: holds a character that is not text (a broken surrogate)") from None


@dataclass(frozen=True)
class Party:
    """One end of an e-mail: the address (already checked, `addresses.email_address`) and the name shown."""

    address: str
    name: str = ""


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the message with idempotency `key`: the same for every attempt to send it."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def build_email(
    *,
    sender: Party,
    to: Party,
    subject: str,
    text: str,
    html: str | None,
    key: str,
    unsubscribe_url: str | None = None,
    unsubscribe_mailto: str | None = None,
    reply_to: Party | None = None,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """The message, ready for `smtplib.SMTP.send_message`; a UserError naming the header a value cannot go into."""
    for what, line in (("subject", subject), ("sender name", sender.name), ("recipient name", to.name), ("key", key)):
        _one_line(what, line)
    for what, body in (("text", text), ("html", html or "")):
        _encodable(what, body)
    message = EmailMessage(policy=_POLICY)
    headers: list[tuple[str, str | Address]] = [
        ("From", _address(sender)),
        ("To", _address(to)),
        ("Subject", subject),
        ("Date", format_datetime(now or dt.datetime.now(dt.UTC))),
        ("Message-ID", message_id(key, sender.address.rpartition("@")[2] or "localhost")),
    ]
    if reply_to is not None:
        headers.append(("Reply-To", _address(reply_to)))
    if unsubscribe_url is not None and not _LINK.fullmatch(unsubscribe_url):
        raise UserError(f"unsubscribe link {unsubscribe_url[:80]!r}: an http(s) URL without spaces, quotes, commas or angle brackets is needed")
    if unsubscribe_mailto is not None:
        _address(Party(unsubscribe_mailto))
    links = [f"<{link}>" for link in (unsubscribe_url, f"mailto:{unsubscribe_mailto}" if unsubscribe_mailto else None) if link]
    if links:
        headers.append(("List-Unsubscribe", ", ".join(links)))
    if unsubscribe_url and unsubscribe_url.startswith("https://"):
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    for name, value in headers:
        try:
            message[name] = value
        except (ValueError, TypeError) as error:
            raise UserError(f"e-mail header {name}: {value!r} cannot be sent ({error})") from None
    # quoted-printable: 7-bit safe on any relay, and the text still readable in the raw message
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def _address(party: Party) -> Address:
    """The header form of a party; a UserError when the address is not a plain ASCII one (`addresses.email_address` gives those)."""
    local, at, domain = party.address.rpartition("@")
    if not at or not local or not domain:
        raise UserError(f"e-mail address {party.address[:80]!r} has no local part and domain")
    if not _PLAIN_ADDRESS.fullmatch(party.address):
        raise UserError(f"e-mail address {party.address[:80]!r} cannot be sent: only letters, digits and .!#$%&'*+/=?^_`{{|}}~- before a plain domain")
    _one_line("name", party.name)
    try:
        return Address(display_name=party.name, username=local, domain=domain)
    except (ValueError, TypeError) as error:
        raise UserError(f"e-mail address {party.address!r} cannot be sent ({error})") from None
