"""The outbox: every message erp-crm means to send, rendered, with its fate (docs/sending.md, "The outbox").

A row is written in the same transaction as whatever decided to send it, so a message
is never decided without being recorded nor recorded without being decided. The
idempotency key is unique: deciding the same message twice finds the row already there.
Times in these tables are UTC: a message due at 02:30 on the night the clocks go back
must not be ambiguous.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import KEY_LENGTH, metadata

STATUSES = ("queued", "sending", "sent", "failed", "unknown", "suppressed", "expired")
CHANNELS = ("email", "sms", "webhook")
SENDING_SWITCH = "sending"  # the kill switch's row in crm_switch
TEST_KEY = "test:"  # how a test send's key starts: marked in the communication log, not counted by the weekly cap

outbox = sa.Table(
    "crm_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(KEY_LENGTH), nullable=False, unique=True, comment="the idempotency key: the same message decided twice is one row"),
    sa.Column("channel", sa.String(10), nullable=False, comment="email, sms or webhook"),
    sa.Column("origin", sa.String(200), nullable=False, comment="what decided it: a chain step, a test send, the demo"),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id")),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("crm_contact.id")),
    sa.Column("recipient", sa.Text, nullable=False, comment="the address, number or URL as it will be used (normalised); as found when suppressed"),
    sa.Column("recipient_name", sa.Text, nullable=False, server_default=""),
    sa.Column("subject", sa.Text, comment="e-mail only"),
    sa.Column("body", sa.Text, nullable=False, comment="the text (e-mail, SMS) or the JSON body (webhook)"),
    sa.Column("html", sa.Text, comment="an e-mail's HTML part"),
    sa.Column("unsubscribe_url", sa.Text),
    sa.Column("mime", sa.Text, comment="an e-mail as it goes over SMTP (7-bit), built when it was decided"),
    sa.Column("status", sa.String(12), nullable=False, comment=" | ".join(STATUSES)),
    sa.Column("reason", sa.Text, comment="why it is suppressed, failed, expired or unknown, in words"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0", comment="how many times it was handed to a server"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("due_at", sa.DateTime, nullable=False, comment="not before (UTC): a retry waits here"),
    sa.Column("expires_at", sa.DateTime, nullable=False, comment="not after (UTC): a send this late is dropped as expired"),
    sa.Column("claimed_by", sa.String(64), comment="the dispatcher holding it, while one does"),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime, comment="when it reached sent, failed, unknown, suppressed or expired"),
    sa.Column("answer_code", sa.Integer, comment="the server's last reply code"),
    sa.Column("answer", sa.Text, comment="the server's last words"),
    sa.Column("settled", sa.Text, comment="a person's decision on it after it was unknown, with their note"),
    sa.Index("ix_crm_outbox_due", "status", "due_at"),
    # the weekly cap counts one partner's recent messages on a channel: through this index, whatever the statistics say
    sa.Index("ix_crm_outbox_partner", "partner_id", "channel", "created_at"),
    comment="messages to send, each at most once (erp_crm.automation.outbox)",
)

communication = sa.Table(
    "crm_communication",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), index=True),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("crm_contact.id")),
    sa.Column("channel", sa.String(10), nullable=False, comment="email, sms, webhook; later calls, meetings, letters"),
    sa.Column("direction", sa.String(3), nullable=False, comment="out or in"),
    sa.Column("at", sa.DateTime, nullable=False, comment="UTC"),
    sa.Column("subject", sa.Text, comment="the e-mail's subject, the first words of a text message"),
    sa.Column("outbox_id", sa.Integer, sa.ForeignKey("crm_outbox.id"), unique=True),
    comment="each partner's communication log: every message that went out",
)

switch = sa.Table(
    "crm_switch",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("paused", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("changed_at", sa.DateTime, nullable=False, comment="UTC"),
    comment="switches people flip: sending (the kill switch that stops every dispatcher before its next message)",
)
