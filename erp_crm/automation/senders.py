"""The one place that turns the sending settings into the dispatcher's senders, one per channel that is set up.

`outbox dispatch` and `templates test-send` both take their senders from here, so a
channel is sent the same way whoever sends it. A channel that is not set up has no
sender: its messages stay queued, and the dispatch report counts them.
"""

from __future__ import annotations

from collections.abc import Mapping

from erp_crm.automation.dispatch import Sender
from erp_crm.automation.email_channel import email_sender
from erp_crm.automation.sms_channel import sms_sender
from erp_crm.automation.webhook_channel import WebhookSender
from erp_crm.model.tables.outbox import CHANNELS
from erp_crm.settings.gateways import SmsSection, WebhookEndpoint
from erp_crm.settings.sending import EmailSection


def configured_senders(*, email: EmailSection, sms: SmsSection, webhooks: Mapping[str, WebhookEndpoint], only: tuple[str, ...] = CHANNELS) -> dict[str, Sender]:
    """{channel: sender} for the channels in `only` that the settings set up (a missing secret is a ConfigError, one line)."""
    senders: dict[str, Sender] = {}
    if "email" in only and email.sender:
        senders["email"] = email_sender(email)
    if "sms" in only and sms.configured:
        senders["sms"] = sms_sender(sms)
    if "webhook" in only and webhooks:
        senders["webhook"] = WebhookSender(webhooks)
    return senders
