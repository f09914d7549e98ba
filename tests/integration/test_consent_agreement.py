"""The dispatcher's last check of consent is a condition in its `sending` UPDATE (`sendable`); a row it stops is asked
`refusal` for the reason. Both must say the same of every row, or a refused message would stay reserved and never settle."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from erp_crm.automation.consent import record, refusal, sendable, suppress_address
from erp_crm.automation.outbox import Outgoing
from erp_crm.model.tables.outbox import outbox
from erp_crm.settings.sending import ConsentSection
from tests.support.chain_overlay import T0, chain_overlay
from tests.support.outbox import email, put, sms

HISTORIES = {  # partner: {channel: statuses, oldest first}
    2: {"email": ["opt_in"], "sms": ["opt_out"]},
    3: {"email": ["opt_out", "opt_in"]},
    5: {"email": ["opt_in", "opt_out"], "sms": ["opt_in"]},
}
MESSAGES = [
    email("e1", "info@pelda.hu", partner_id=1),
    email("e1-struck", "tiltott@pelda.hu", partner_id=1),
    sms("s1", "+36 30 123 4567", partner_id=1),
    email("e2", "marta@minta.hu", partner_id=2),
    sms("s2", "06-20/765 4321", partner_id=2),
    email("e3", "office@sample.co.uk", partner_id=3),
    sms("s3", "+36 30 999 8877", partner_id=3),
    email("e5", "arviz@turo.hu", partner_id=5),
    sms("s5", "+36 70 555 1234", partner_id=5),
    email("nobody", "valaki@pelda.hu"),
    Outgoing(key="hook", channel="webhook", origin="test", recipient="crm_hook", body="{}", partner_id=5),
    Outgoing(key="hook-struck", channel="webhook", origin="test", recipient="old_hook", body="{}", partner_id=1),
]


@pytest.mark.parametrize("required", [(), ("email",), ("sms",), ("email", "sms")])
def test_the_update_condition_and_the_reason_agree_on_every_row(overlay_url: str, required: tuple[str, ...]) -> None:
    section = ConsentSection(require_opt_in=required)  # type: ignore[arg-type]
    with chain_overlay(overlay_url) as overlay:
        put(overlay, *MESSAGES, now=T0)
        with overlay.begin() as conn:
            for partner, channels in HISTORIES.items():
                for channel, statuses in channels.items():
                    for n, status in enumerate(statuses):
                        record(conn, partner, channel, status, "cli", None, T0 + dt.timedelta(minutes=n))
            recipients = dict(conn.execute(sa.select(outbox.c.key, outbox.c.recipient)).all())
            for key, channel in (("e1-struck", "email"), ("s3", "sms"), ("hook-struck", "webhook")):
                suppress_address(conn, channel, recipients[key], "550 5.1.1 no such user", "bounce", T0)
        with overlay.connect() as conn:
            rows = conn.execute(sa.select(outbox.c.id, outbox.c.key, outbox.c.partner_id, outbox.c.channel, outbox.c.recipient)).all()
            by_condition = set(conn.execute(sa.select(outbox.c.key).where(sendable(section))).scalars())
            by_reason = {r.key for r in rows if refusal(conn, r.partner_id, r.channel, r.recipient, section) is None}
    assert len(rows) == len(MESSAGES)
    assert by_condition == by_reason
    refused_always = {"e1-struck", "s3", "hook-struck", "s2", "e5"}  # suppressed addresses and the newest consent an opt-out
    assert refused_always.isdisjoint(by_reason), "refused whatever require_opt_in says"
    assert {"nobody", "hook"} <= by_reason, "a message to no partner, and a webhook, need no consent"
    assert ("e1" in by_reason) == ("email" not in required), "no consent at all: refused only where an opt-in is required"
