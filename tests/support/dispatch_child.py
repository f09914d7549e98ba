"""A dispatcher in a process of its own, for tests that kill it: `python -m tests.support.dispatch_child OVERLAY_URL PORT [email|sms]`.

With `sms` it sends text messages to an HTTP gateway on loopback at PORT (the key in an
`Idempotency-Key` header, so the gateway can count each message's arrivals), else
e-mail to an SMTP server there.

It says `dispatching` on stdout once everything is imported and the overlay is open,
so a test can kill it while it works rather than while Python starts.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa

from erp_crm.automation.dispatch import dispatch
from erp_crm.automation.sms_channel import SmsSender
from erp_crm.settings.gateways import SmsSection
from erp_crm.settings.sending import OutboxSection
from erp_crm.store.overlay import Overlay
from tests.support.outbox import send_all


def gateway_settings(port: int) -> SmsSection:
    return SmsSection.model_validate(
        {
            "url": f"http://127.0.0.1:{port}/sms",
            "format": "json",
            "fields": {"to": "{{ number }}", "text": "{{ text }}"},
            "headers": {"Idempotency-Key": "{{ key }}"},
            "success": {"json": "status", "equals": "queued", "message_id": "id"},
            "timeout": 5,
        }
    )


def main(url: str, port: int, channel: str) -> None:
    with Overlay.open(sa.engine.make_url(url)) as overlay:
        print("dispatching", flush=True)
        if channel == "sms":
            report = dispatch(overlay, OutboxSection(batch=5), {"sms": SmsSender(gateway_settings(port))})
        else:
            report = send_all(overlay, port, OutboxSection(batch=5))
    print(f"done {report.sent} sent, {report.unknown} unknown, {report.recovered} recovered", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "email")
