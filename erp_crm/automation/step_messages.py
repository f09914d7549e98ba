"""A chain's e-mail and SMS steps: what a message template may say about a partner, where it goes, and its outbox row.

The fields a template reads are listed here and in docs/chains.md: nothing else of the
overlay is reachable from a template. Where a message goes: the partner's own e-mail
address (or mobile, then phone, for SMS), else the first active contact's. No address
is not an error of the chain: the message is written as `suppressed`, with the reason,
so it is visible and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.chain_definition import LANGUAGES, MESSAGES_DIR
from erp_crm.automation.consent import UnsubscribeLinks, after_quiet_hours, over_cap, refusal
from erp_crm.automation.email_builder import EmailBuilder
from erp_crm.automation.message_templates import MessageTemplate, RenderedMessage, load_message
from erp_crm.automation.outbox import Enqueued, Outgoing, enqueue, usable_recipient
from erp_crm.errors import ConfigError, UserError
from erp_crm.model.account_owner import effective_owner_id
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.sending import ConsentSection

PARTNER_FIELDS = ("name", "kind", "email", "phone", "mobile", "city", "zip", "street", "country", "customer_group", "lang")
CONTACT_FIELDS = ("name", "first_name", "last_name", "job_title", "email", "phone", "mobile")


@dataclass(frozen=True)
class Recipient:
    context: dict[str, Any]
    email: str
    phone: str
    name: str
    language: str | None  # the partner's language, when it is one erp-crm writes in


def recipient(conn: Connection, partner_id: int, contact_id: int | None = None) -> Recipient:
    """The partner as templates see it (partner, contact, salesperson: the account's owner) and its addresses.

    With `contact_id` (a birthday's contact) the message is that person's: `contact` is
    them, and it goes to their own e-mail address or mobile only, never to the
    partner's general address: a personal greeting read by the accounts office is worse
    than none (it is then suppressed for want of an address).
    """
    partner, contact, user = SYNCED["partner"], SYNCED["contact"], SYNCED["user"]
    owner = effective_owner_id(partner).label("owner_id")
    p = conn.execute(sa.select(*(partner.c[f] for f in PARTNER_FIELDS), owner).where(partner.c.id == partner_id)).one()
    live = sa.and_(contact.c.partner_id == partner_id, contact.c.erp_deleted_at.is_(None))
    if contact_id is None:
        chosen = live & sa.func.coalesce(contact.c.active, True)
    else:
        chosen = live & (contact.c.id == contact_id)
    c = conn.execute(sa.select(*(contact.c[f] for f in CONTACT_FIELDS)).where(chosen).order_by(contact.c.email.is_(None), contact.c.id).limit(1)).first()
    s = conn.execute(sa.select(user.c.name, user.c.email).where(user.c.id == p.owner_id)).first() if p.owner_id else None
    contact_values = dict(c._mapping) if c else dict.fromkeys(CONTACT_FIELDS)
    context = {
        "partner": {f: getattr(p, f) for f in PARTNER_FIELDS},
        "contact": contact_values,
        "salesperson": {"name": s.name if s else None, "email": s.email if s else None},
    }
    language = (p.lang or "")[:2].lower()
    language_found = language if language in LANGUAGES else None
    if contact_id is not None:
        return Recipient(context, contact_values["email"] or "", contact_values["mobile"] or "", contact_values["name"] or "", language_found)
    email = p.email or contact_values["email"] or ""
    phone = p.mobile or p.phone or contact_values["mobile"] or contact_values["phone"] or ""
    return Recipient(context, email, phone, contact_values["name"] or p.name, language_found)


class Templates:
    """Message templates by name and language, each read once per tick."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._found: dict[tuple[str, str], MessageTemplate | None] = {}

    def get(self, name: str, language: str | None, fallback: str) -> MessageTemplate:
        """The template in the partner's language if there is one, else in the chain's."""
        for lang in (language, fallback):
            if lang is None:
                continue
            key = (name, lang)
            if key not in self._found:
                path = self.home / MESSAGES_DIR / lang / f"{name}.yaml"
                self._found[key] = load_message(path) if path.exists() else None
            template = self._found[key]
            if template is not None:
                return template
        raise ConfigError(f"no template {MESSAGES_DIR / fallback / name}.yaml")


@dataclass(frozen=True)
class Rules:
    """What a message must respect beyond its template: its expiry, the partner's consent, quiet hours, the unsubscribe link."""

    expire_after: int
    consent: ConsentSection
    zone: ZoneInfo
    links: UnsubscribeLinks | None
    email: EmailBuilder | None = None  # the company's sender: e-mails are built as they are decided (else when they are sent)


def queue_message(
    conn: Connection,
    *,
    channel: str,
    template: MessageTemplate,
    to: Recipient,
    extra: dict[str, Any],
    key: str,
    origin: str,
    partner_id: int,
    now: dt.datetime,
    rules: Rules,
) -> tuple[Enqueued, RenderedMessage]:
    """Render the template for the partner and write its outbox row (in the caller's transaction).

    A partner who opted out, lacks a required opt-in, has had enough this week, or whose
    address is suppressed gets the row as `suppressed`, with the reason; a message that
    would fall in the quiet hours is due at their end.
    """
    raw = to.email if channel == "email" else to.phone
    address = usable_recipient(channel, raw)
    refused = None
    if address.value is not None:
        refused = refusal(conn, partner_id, channel, address.value, rules.consent) or over_cap(conn, partner_id, channel, rules.consent, now)
    link = rules.links.url(partner_id, channel, key) if rules.links else None
    rendered = template.render({**to.context, **extra, "links": {"unsubscribe": link}})
    due = after_quiet_hours(now, channel, rules.consent, rules.zone)
    if channel == "email":
        mime = None
        if rules.email is not None and address.value is not None and not refused:
            built = rules.email.build(
                key=key, to=address.value, name=to.name or "", subject=rendered.subject, text=rendered.text or "", html=rendered.html, unsubscribe_url=link
            )
            try:
                mime = built.as_bytes().decode("ascii")  # quoted-printable and RFC 2047 words: 7-bit
            except UnicodeDecodeError:
                raise UserError(f"the e-mail to {address.value} could not be written in 7 bits") from None
        message = Outgoing(
            key, "email", origin, raw, rendered.text or "", subject=rendered.subject, html=rendered.html, recipient_name=to.name or "",
            partner_id=partner_id, unsubscribe_url=link, due_at=due, mime=mime, refused=refused,
        )  # fmt: skip
    else:
        message = Outgoing(key, "sms", origin, raw, rendered.sms or "", recipient_name=to.name or "", partner_id=partner_id, due_at=due, refused=refused)
    return enqueue(conn, message, now=now, expire_after=rules.expire_after, address=address), rendered
