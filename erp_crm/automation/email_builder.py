"""The company's side of every e-mail (sender, reply-to, unsubscribe mailbox), checked once, and the message built from an outbox row's parts.

A chain step builds its e-mail when it decides it, and the outbox keeps the message as it
will go over SMTP (`crm_outbox.mime`): what was decided is byte for byte what is sent,
and the dispatcher only has to hand it over.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from erp_crm.automation.addresses import email_address
from erp_crm.automation.email_message import Party, build_email
from erp_crm.errors import ConfigError
from erp_crm.settings.sending import EmailSection


def checked_party(what: str, address: str | None, name: str = "") -> Party:
    """An address from the settings, or a ConfigError naming the key: a bad sender would fail every message."""
    if not address:
        raise ConfigError(f"{what}: no address is set; e-mail cannot be sent without one (docs/sending.md)")
    found = email_address(address)
    if found.value is None:
        raise ConfigError(f"{what}: {found.reason}")
    return Party(found.value, name)


@dataclass(frozen=True)
class EmailBuilder:
    sender: Party
    reply_to: Party | None
    unsubscribe_mailto: str | None

    @classmethod
    def of(cls, section: EmailSection) -> EmailBuilder:
        reply_to = checked_party("email.reply_to", section.reply_to) if section.reply_to else None
        mailto = checked_party("email.unsubscribe_mailto", section.unsubscribe_mailto).address if section.unsubscribe_mailto else None
        return cls(checked_party("email.sender", section.sender, section.sender_name), reply_to, mailto)

    def build(self, *, key: str, to: str, name: str, subject: str | None, text: str, html: str | None, unsubscribe_url: str | None) -> EmailMessage:
        return build_email(
            sender=self.sender,
            to=Party(to, name),
            subject=subject or "",
            text=text,
            html=html,
            key=key,
            unsubscribe_url=unsubscribe_url,
            unsubscribe_mailto=self.unsubscribe_mailto,
            reply_to=self.reply_to,
        )
