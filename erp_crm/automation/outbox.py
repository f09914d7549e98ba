"""The outbox: every message is decided as a row, then sent at most once (docs/sending.md, "The outbox").

A message's life, as its `status` tells it:

    queued ──► sending ──► sent | failed | unknown
       │          └──────► queued again (the server deferred it before taking the content)
       └─────► suppressed (no usable address) | expired (not sent in time)

`enqueue` writes the row inside the caller's transaction, so whatever decided the
message (a chain step) and the message itself commit together or not at all; its
idempotency key is unique, so deciding the same message again finds the row already
there and adds nothing. The dispatcher (`erp_crm.automation.dispatch`) commits
`sending` before it talks to a server; a row still `sending` when its dispatcher is gone
may have been delivered, so it becomes `unknown` for a person to settle with `resolve`,
never sent again on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.addresses import Address, email_address, sms_number
from erp_crm.errors import UserError
from erp_crm.model.tables.outbox import SENDING_SWITCH, TEST_KEY, communication, outbox, switch
from erp_crm.store.driver import dialect_insert

Channel = Literal["email", "sms", "webhook"]
_KEY_LONGEST = 200


def utc_now() -> dt.datetime:
    """The outbox's clock: UTC without a zone, as its columns hold it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class Outgoing:
    """One message as decided: where it goes (as the ERP has it) and its rendered content."""

    key: str  # the idempotency key: (enrolment, step, attempt) for a chain's message
    channel: Channel
    origin: str  # what decided it, for people reading the outbox
    recipient: str
    body: str
    subject: str | None = None
    html: str | None = None
    recipient_name: str = ""
    partner_id: int | None = None
    contact_id: int | None = None
    unsubscribe_url: str | None = None
    due_at: dt.datetime | None = None  # default: now
    mime: str | None = None  # an e-mail as it goes over SMTP, when it was built as it was decided
    refused: str | None = None  # why it may not be sent though its address is fine (an opt-out, the weekly cap): written as suppressed


@dataclass(frozen=True)
class Enqueued:
    id: int
    status: str  # queued or suppressed
    new: bool  # False: the key was decided before, and nothing was added


def enqueue(conn: Connection, message: Outgoing, *, now: dt.datetime, expire_after: int, address: Address | None = None) -> Enqueued:
    """Write `message` as a queued row (suppressed, with the reason, when its address cannot be used), once per key.

    `address`: the recipient as `usable_recipient` already judged it, when the caller did.
    """
    _check_key(message.key)
    address = address or usable_recipient(message.channel, message.recipient)
    due = message.due_at or now
    reason = address.reason or message.refused
    status = "suppressed" if reason else "queued"
    row = {
        "key": message.key,
        "channel": message.channel,
        "origin": message.origin[:200],
        "partner_id": message.partner_id,
        "contact_id": message.contact_id,
        "recipient": address.value or message.recipient,
        "recipient_name": message.recipient_name,
        "subject": message.subject,
        "body": message.body,
        "html": message.html,
        "unsubscribe_url": message.unsubscribe_url,
        "mime": message.mime if status == "queued" else None,
        "status": status,
        "reason": reason,
        "attempts": 0,
        "created_at": now,
        "due_at": due,
        "expires_at": due + dt.timedelta(seconds=expire_after),
        "finished_at": now if reason else None,
    }
    new_id = conn.execute(dialect_insert(conn, outbox).values(row).on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.id)).scalar()
    if new_id is not None:
        return Enqueued(new_id, status, True)
    found = conn.execute(sa.select(outbox.c.id, outbox.c.status).where(outbox.c.key == message.key)).one()
    return Enqueued(found.id, found.status, False)


def usable_recipient(channel: str, recipient: str) -> Address:
    """The recipient written as the channel uses it, or the reason it cannot be used."""
    if channel == "email":
        return email_address(recipient)
    if channel == "sms":
        return sms_number(recipient)
    if channel == "webhook":
        text = recipient.strip()
        if text.startswith(("https://", "http://")) and not any(c.isspace() for c in text):
            return Address(value=text)
        return Address(None, f"not an http(s) URL: {recipient[:80]!r}")
    raise ValueError(f"unknown channel {channel!r}")


def _check_key(key: str) -> None:
    """Keys are made by code; one that could not stay unique or be shown in one line is a bug there."""
    if not key or len(key) > _KEY_LONGEST or not key.isprintable():
        raise ValueError(f"an outbox key must be 1 to {_KEY_LONGEST} printable characters: {key[:80]!r}")


def log_sent(conn: Connection, outbox_id: int, at: dt.datetime) -> None:
    """Write the sent message into its partner's communication log (once: the log's outbox_id is unique); one statement."""
    o = outbox.c
    words = sa.func.coalesce(o.subject, sa.func.substr(o.body, 1, 80))
    subject = sa.case((o.key.startswith(TEST_KEY, autoescape=True), sa.literal("[test] ") + words), else_=words)
    chosen = sa.select(o.partner_id, o.contact_id, o.channel, sa.literal("out"), sa.literal(at, sa.DateTime()), subject, o.id).where(o.id == outbox_id)
    columns = ["partner_id", "contact_id", "channel", "direction", "at", "subject", "outbox_id"]
    conn.execute(dialect_insert(conn, communication).from_select(columns, chosen).on_conflict_do_nothing(index_elements=["outbox_id"]))


Settle = Literal["sent", "resend", "failed"]


def resolve(conn: Connection, ids: Sequence[int], as_: Settle, note: str, now: dt.datetime, expire_after: int) -> int:
    """Settle `unknown` messages after a person checked (the server's log, the recipient): all of them, or none.

    `sent`: it did arrive (it is logged as sent); `failed`: it did not, and is not to be
    sent; `resend`: it did not, send it again (the same Message-ID, so a receiver that
    did get it can tell).
    """
    wanted = sorted(set(ids))
    found = dict(conn.execute(sa.select(outbox.c.id, outbox.c.status).where(outbox.c.id.in_(wanted))).all())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise UserError(f"no outbox message {', '.join(map(str, missing))}; nothing was changed")
    settled = [i for i in wanted if found[i] != "unknown"]
    if settled:
        shown = ", ".join(f"{i} is {found[i]}" for i in settled[:10])
        raise UserError(f"only unknown messages can be settled, and {shown}; nothing was changed")
    said = f"{now:%Y-%m-%d %H:%M} UTC: settled as {as_}" + (f": {note}" if note else "")
    values: dict[str, object] = {"settled": said, "claimed_by": None}
    if as_ == "resend":
        values |= {"status": "queued", "due_at": now, "expires_at": now + dt.timedelta(seconds=expire_after), "finished_at": None}
    else:
        values |= {"status": as_, "finished_at": now}
    conn.execute(sa.update(outbox).where(outbox.c.id.in_(wanted), outbox.c.status == "unknown").values(values))
    if as_ == "sent":
        for outbox_id in wanted:
            log_sent(conn, outbox_id, now)
    return len(wanted)


def set_paused(conn: Connection, paused: bool, reason: str, now: dt.datetime) -> None:
    """Flip the kill switch: while paused, no dispatcher hands another message to a server."""
    values = {"paused": paused, "reason": reason or None, "changed_at": now}
    statement = dialect_insert(conn, switch).values(name=SENDING_SWITCH, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_=values))


def paused_reason(conn: Connection) -> str | None:
    """Why sending is paused (the reason given, or a plain word), or None while it is not."""
    row = conn.execute(sa.select(switch.c.paused, switch.c.reason, switch.c.changed_at).where(switch.c.name == SENDING_SWITCH)).first()
    if row is None or not row.paused:
        return None
    return f"sending was paused at {row.changed_at:%Y-%m-%d %H:%M} UTC" + (f": {row.reason}" if row.reason else "")
