"""May this partner be written to on this channel now? Consent, suppressed addresses, the weekly cap, quiet hours.

Asked twice for every message: when a chain step writes it (a refusal makes the outbox
row `suppressed`, with the reason) and again by the dispatcher just before it is handed
to a server, so an opt-out that arrives while a message waits in the queue stops it.
Unsubscribe links carry a signed token (itsdangerous) naming the partner, the channel
and the message, so a click needs no login and cannot be forged for someone else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import itsdangerous
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.model.tables.consent import CONSENT_CHANNELS, consent, suppression
from erp_crm.model.tables.outbox import TEST_KEY, outbox
from erp_crm.settings.sending import ConsentSection
from erp_crm.store.driver import dialect_insert

_SALT = "erp-crm unsubscribe"
HARD_BOUNCE = ("5.1.1", "5.1.2", "5.1.3", "5.1.10")  # no such mailbox / domain / bad address: never again


def record(conn: Connection, partner_id: int, channel: str, status: str, source: str, detail: str | None, now: dt.datetime) -> None:
    """Add an opt-in or opt-out; earlier rows stay, the newest counts."""
    if channel not in CONSENT_CHANNELS:
        raise UserError(f"consent is kept for {', '.join(CONSENT_CHANNELS)}, not {channel!r}")
    conn.execute(sa.insert(consent).values(partner_id=partner_id, channel=channel, status=status, source=source[:40], at=now, detail=detail))


def current(conn: Connection, partner_id: int, channel: str) -> Any:
    """The partner's newest consent row on the channel (status, source, at), or None."""
    c = consent.c
    query = sa.select(c.status, c.source, c.at).where(c.partner_id == partner_id, c.channel == channel).order_by(c.id.desc()).limit(1)
    return conn.execute(query).first()


def refusal(conn: Connection, partner_id: int | None, channel: str, address: str, section: ConsentSection) -> str | None:
    """Why the message may not go (an opt-out, no opt-in where one is required, a suppressed address), or None."""
    if channel in CONSENT_CHANNELS and partner_id is not None:
        state = current(conn, partner_id, channel)
        if state is not None and state.status == "opt_out":
            return f"unsubscribed from {channel} on {state.at:%Y-%m-%d} ({state.source})"
        if channel in section.require_opt_in and (state is None or state.status != "opt_in"):
            return f"no opt-in for {channel} (consent.require_opt_in)"
    found = conn.execute(sa.select(suppression.c.reason).where(suppression.c.channel == channel, suppression.c.address == address)).scalar()
    return f"the address is suppressed: {found}" if found else None


def sendable(section: ConsentSection) -> sa.ColumnElement[bool]:
    """`refusal` as a condition on an outbox row: true when none applies to its partner, channel and address.

    The dispatcher puts it in the UPDATE that marks a message `sending`, so checking
    consent at the last moment costs no statement of its own; only a row it stops is
    asked `refusal` for the reason. The two must agree (tests/integration/test_consent_agreement.py).
    """
    o, c = outbox.c, consent.c
    newest = sa.func.coalesce(
        sa.select(c.status).where(c.partner_id == o.partner_id, c.channel == o.channel).order_by(c.id.desc()).limit(1).scalar_subquery(), ""
    )
    required = list(section.require_opt_in)
    state_allows = sa.or_(sa.and_(o.channel.in_(required), newest == "opt_in"), sa.and_(o.channel.not_in(required), newest != "opt_out"))
    consent_allows = sa.or_(o.channel.not_in(list(CONSENT_CHANNELS)), o.partner_id.is_(None), state_allows)
    struck_out = sa.exists().where(suppression.c.channel == o.channel, suppression.c.address == o.recipient)
    return sa.and_(consent_allows, ~struck_out)


def over_cap(conn: Connection, partner_id: int, channel: str, section: ConsentSection, now: dt.datetime) -> str | None:
    """Why one more message this week would be too many (consent.max_per_week), or None."""
    if section.max_per_week is None:
        return None
    o = outbox.c
    counted = sa.select(sa.func.count()).where(
        o.partner_id == partner_id,
        o.channel == channel,
        o.status.in_(("queued", "sending", "sent", "unknown")),
        o.created_at > now - dt.timedelta(days=7),
        ~o.key.startswith(TEST_KEY, autoescape=True),  # a test send to a person's own address is not a message to the partner
    )
    sent = conn.execute(counted).scalar_one()
    return f"{sent} {channel} messages in the last seven days (consent.max_per_week: {section.max_per_week})" if sent >= section.max_per_week else None


def after_quiet_hours(moment: dt.datetime, channel: str, section: ConsentSection, zone: ZoneInfo) -> dt.datetime:
    """`moment` (UTC), or the end of the quiet hours it falls in (company time) for the channels they cover."""
    quiet = section.quiet_hours
    if quiet is None or channel not in quiet.channels or quiet.start == quiet.end:
        return moment
    local = moment.replace(tzinfo=dt.UTC).astimezone(zone)
    hour = local.hour
    inside = quiet.start <= hour < quiet.end if quiet.start < quiet.end else hour >= quiet.start or hour < quiet.end
    if not inside:
        return moment
    day = local.date() if hour < quiet.end else local.date() + dt.timedelta(days=1)
    end = dt.datetime.combine(day, dt.time(quiet.end), tzinfo=zone)
    return end.astimezone(dt.UTC).replace(tzinfo=None)


def suppress_address(conn: Connection, channel: str, address: str, reason: str, source: str, now: dt.datetime) -> None:
    """Never use `address` on `channel` again (a hard bounce); the first reason is kept."""
    row = {"channel": channel, "address": address[:320], "reason": reason[:2000], "source": source, "at": now}
    conn.execute(dialect_insert(conn, suppression).values(row).on_conflict_do_nothing(index_elements=["channel", "address"]))


def is_hard_bounce(code: int | None, detail: str) -> bool:
    """A permanent refusal that says the address itself is wrong (not a full mailbox, not a policy)."""
    return code is not None and 550 <= code <= 553 and detail.strip().startswith(HARD_BOUNCE)


@dataclass(frozen=True)
class Unsubscribe:
    """What an unsubscribe link says: whose, which channel, from which message."""

    partner_id: int
    channel: str
    outbox_key: str


def unsubscribe_token(secret: str, link: Unsubscribe) -> str:
    return str(itsdangerous.URLSafeSerializer(secret, salt=_SALT).dumps([link.partner_id, link.channel, link.outbox_key]))


def read_unsubscribe_token(secret: str, token: str) -> Unsubscribe | None:
    """The link's content if its signature is right (and its shape), else None."""
    try:
        data = itsdangerous.URLSafeSerializer(secret, salt=_SALT).loads(token)
    except itsdangerous.BadData:
        return None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], int) and data[1] in CONSENT_CHANNELS and isinstance(data[2], str)):
        return None
    return Unsubscribe(data[0], data[1], data[2])


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Makes the link a message carries: `<public_url>/u/<signed token>`, served by `erp-crm serve`."""

    public_url: str
    secret: str

    def url(self, partner_id: int, channel: str, outbox_key: str) -> str:
        return f"{self.public_url.rstrip('/')}/u/{unsubscribe_token(self.secret, Unsubscribe(partner_id, channel, outbox_key))}"
