"""`templates test-send`: one template, rendered for a real partner, sent now to an address the person gives.

It goes the way every message goes (an outbox row, then the dispatcher and the channel's
configured sender), so what arrives is what a customer would get, and it is sent at
most once. The row's key starts with `test:`: the communication log marks it as a test,
and the weekly cap does not count it. Only that row is dispatched; the queue's other
messages wait for `outbox dispatch`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from erp_crm.automation.dispatch import Sender, dispatch
from erp_crm.automation.message_templates import MessageTemplate
from erp_crm.automation.outbox import Outgoing, enqueue, usable_recipient, utc_now
from erp_crm.automation.step_messages import Recipient
from erp_crm.errors import UserError
from erp_crm.model.tables.outbox import TEST_KEY, outbox
from erp_crm.settings.sending import ConsentSection, OutboxSection
from erp_crm.store.overlay import Overlay

NOT_SET_UP = {"email": "e-mail is not set up (email.sender and email.smtp)", "sms": "SMS is not set up (sms:)"}


@dataclass(frozen=True)
class SampleSent:
    id: int
    channel: str
    to: str
    status: str
    answer: str | None


def send_sample(
    overlay: Overlay,
    *,
    template: MessageTemplate,
    partner: Recipient,
    partner_id: int,
    channel: str,
    to: str,
    senders: Mapping[str, Sender],
    section: OutboxSection,
    consent: ConsentSection,
) -> SampleSent:
    """Render `template` for the partner and send its `channel` part to `to` now; a UserError (nothing sent) when it cannot go."""
    if channel not in template.channels:
        raise UserError(f"{template.path} has no {channel} part (it has: {', '.join(template.channels)})")
    address = usable_recipient(channel, to)
    if address.value is None:
        raise UserError(f"--to {to[:80]!r}: {address.reason}")
    if channel not in senders:
        raise UserError(f"{NOT_SET_UP[channel]}; see docs/sending.md")
    rendered = template.render({**partner.context, "chain": {"name": "test-send", "title": "test-send"}, "links": {"unsubscribe": None}})
    key = f"{TEST_KEY}{uuid.uuid4().hex}"
    if channel == "email":
        message = Outgoing(
            key, "email", "templates test-send", address.value, rendered.text or "", subject=rendered.subject, html=rendered.html, partner_id=partner_id
        )
    else:
        message = Outgoing(key, "sms", "templates test-send", address.value, rendered.sms or "", partner_id=partner_id)
    with overlay.begin() as conn:
        queued = enqueue(conn, message, now=utc_now(), expire_after=section.expire_after, address=address)
    report = dispatch(overlay, section, senders, consent=consent, only=(channel,), keys=(key,))
    with overlay.connect() as conn:
        row = conn.execute(sa.select(outbox.c.status, outbox.c.reason, outbox.c.answer).where(outbox.c.id == queued.id)).one()
    if row.status != "sent":
        said = report.error or row.reason or row.answer or "it was not sent"
        raise UserError(f"the test {channel} to {address.value} is {row.status} (outbox #{queued.id}): {said}")
    return SampleSent(queued.id, channel, address.value, row.status, row.answer)
