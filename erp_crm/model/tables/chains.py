"""Notification chains (docs/chains.md): their published versions, who is enrolled where, what each step did, and the tasks chains make.

Waiting is data: an enrolment's `due_at` says when the tick next looks at it, so a
million enrolments waiting fourteen days cost nothing until they are due. Times are
UTC, as in the outbox.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

ENROLMENT_STATUSES = ("active", "done", "goal", "exited", "failed")
TASK_STATUSES = ("open", "done", "cancelled")
PRIORITIES = ("low", "normal", "high")

chain = sa.Table(
    "crm_chain",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("events_seen", sa.Integer, nullable=False, server_default="0", comment="the last crm_segment_event id its triggers looked at"),
    sa.Column("days_seen", sa.Date, comment="the last day (company time) whose ERP records and dates its trigger looked at"),
    sa.Column("created_at", sa.DateTime, nullable=False),
    comment="notification chains by name; what each does is in its versions",
)

chain_version = sa.Table(
    "crm_chain_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chain_id", sa.Integer, sa.ForeignKey("crm_chain.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False, comment="the chain file's content as published"),
    sa.Column("digest", sa.String(64), nullable=False, comment="sha256 of the definition: a changed file publishes a new version"),
    sa.Column("file", sa.Text, nullable=False, comment="the file it was read from"),
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("chain_id", "version", name="uq_crm_chain_version_chain_id"),
    comment="each published definition of a chain; running enrolments stay on the version they started on",
)

enrolment = sa.Table(
    "crm_chain_enrolment",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chain_id", sa.Integer, sa.ForeignKey("crm_chain.id"), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("crm_chain_version.id"), nullable=False),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), nullable=False),
    sa.Column("occurrence", sa.String(120), nullable=False, comment="the trigger occurrence: segment event, manual enrolment, date"),
    sa.Column("status", sa.String(10), nullable=False, comment=" | ".join(ENROLMENT_STATUSES)),
    sa.Column("step", sa.String(64), comment="the step it is at (the next to run when due)"),
    sa.Column("steps_taken", sa.Integer, nullable=False, server_default="0", comment="steps run so far: numbers each step's run, and its messages' keys"),
    sa.Column("due_at", sa.DateTime, comment="when the tick next looks at it (UTC)"),
    sa.Column("waiting_until", sa.DateTime, comment="a wait for a condition gives up at this time"),
    sa.Column("enrolled_at", sa.DateTime, nullable=False),
    sa.Column("enrolled_on", sa.Date, nullable=False, comment="the day, for conditions about what happened since"),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("reason", sa.Text, comment="why it ended"),
    sa.UniqueConstraint("version_id", "partner_id", "occurrence", name="uq_crm_chain_enrolment_version_id"),
    sa.Index("ix_crm_chain_enrolment_due", "status", "due_at"),
    sa.Index("ix_crm_chain_enrolment_partner", "chain_id", "partner_id"),
    comment="a partner's way through one chain version",
)

step_log = sa.Table(
    "crm_chain_step_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("crm_chain_enrolment.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False, comment="the enrolment's steps_taken when it ran"),
    sa.Column("step", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False, comment="queued, suppressed, waiting, then, else, task, exited, goal, done, failed"),
    sa.Column("detail", sa.Text),
    sa.Column("outbox_id", sa.Integer, sa.ForeignKey("crm_outbox.id")),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("crm_task.id")),
    sa.UniqueConstraint("enrolment_id", "seq", name="uq_crm_chain_step_log_enrolment_id"),
    comment="what each step of each enrolment did, in order",
)

task = sa.Table(
    "crm_task",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("partner_id", sa.Integer, sa.ForeignKey("crm_partner.id"), index=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("crm_user.id"), comment="the ERP user who owns it; NULL while it waits for someone of its role"),
    sa.Column("role", sa.String(40), comment="the role it was given to (sales, finance, ...), when no one person was named"),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("priority", sa.String(6), nullable=False, comment=" | ".join(PRIORITIES)),
    sa.Column("status", sa.String(10), nullable=False, comment=" | ".join(TASK_STATUSES)),
    sa.Column("origin", sa.String(200), nullable=False, comment="who or what made it: a chain step, a person"),
    sa.Column("enrolment_id", sa.Integer, sa.ForeignKey("crm_chain_enrolment.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Index("ix_crm_task_open", "status", "owner_id", "due_on"),
    comment="things for people to do, easy to see, postpone and hand over",
)

task_event = sa.Table(
    "crm_task_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_id", sa.Integer, sa.ForeignKey("crm_task.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("kind", sa.String(12), nullable=False, comment="created, postponed, handed_over, done, cancelled"),
    sa.Column("by", sa.String(200), nullable=False, comment="who: an ERP login, or the chain step"),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Column("reason", sa.Text),
    comment="every change of every task, kept",
)
