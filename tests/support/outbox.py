"""An overlay with an outbox, messages to put in it, and a dispatcher pointed at a loopback SMTP server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from erp_crm.automation.dispatch import DispatchReport, dispatch
from erp_crm.automation.email_channel import EmailSender
from erp_crm.automation.outbox import Enqueued, Outgoing, enqueue, utc_now
from erp_crm.model.tables.outbox import outbox
from erp_crm.settings.sending import EmailSection, OutboxSection
from erp_crm.store.overlay import Overlay

SENDER = "hirlevel@pelda.hu"


@contextmanager
def outbox_overlay(url: str) -> Iterator[Overlay]:
    """The overlay at `url`, migrated to the newest schema."""
    overlay = Overlay.open(sa.engine.make_url(url), at_head=False)
    overlay.upgrade()
    try:
        yield overlay
    finally:
        overlay.close()


def email(key: str, to: str, subject: str = "Rég nem láttuk!", **more: Any) -> Outgoing:
    return Outgoing(key=key, channel="email", origin="test", recipient=to, subject=subject, body=f"Kedves Vevő!\n{key}", **more)


def sms(key: str, to: str, text: str = "Példa Kft.: 10% kedvezmény", **more: Any) -> Outgoing:
    return Outgoing(key=key, channel="sms", origin="test", recipient=to, body=text, **more)


def put(overlay: Overlay, *messages: Outgoing, now: dt.datetime | None = None, expire_after: int = 86400) -> list[Enqueued]:
    with overlay.begin() as conn:
        return [enqueue(conn, m, now=now or utc_now(), expire_after=expire_after) for m in messages]


def email_settings(port: int) -> EmailSection:
    return EmailSection.model_validate(
        {"sender": SENDER, "sender_name": "Példa Kft.", "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5}}
    )


def send_all(overlay: Overlay, port: int, section: OutboxSection | None = None, **options: Any) -> DispatchReport:
    return dispatch(overlay, section or OutboxSection(), {"email": EmailSender(email_settings(port))}, **options)


def states(overlay: Overlay) -> dict[str, str]:
    """{key: status} of every outbox row."""
    with overlay.connect() as conn:
        return dict(conn.execute(sa.select(outbox.c.key, outbox.c.status)).all())
