"""The scheduled jobs' run log, the switches people set on them, and the scheduler's leadership lease.

A run is written when it starts, so a run killed mid-way stays visible (`running` with no
end) until the next scheduler start marks it `killed`; nothing is ever half-done
without a record. Times are UTC.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.tables.base import metadata

RUN_STATUSES = ("running", "ok", "failed", "killed", "skipped")

job_run = sa.Table(
    "crm_job_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(40), nullable=False, comment="the job's name in jobs/schedule.yaml"),
    sa.Column("kind", sa.String(20), nullable=False, comment="what it ran: sync, reconcile, metrics, segments, chains_tick, outbox_dispatch, report"),
    sa.Column("cause", sa.String(60), nullable=False, comment="scheduled, caught up, after <job>, by hand"),
    sa.Column("status", sa.String(10), nullable=False, comment=" | ".join(RUN_STATUSES)),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("handled", sa.Integer, comment="rows, partners, enrolments or messages it handled"),
    sa.Column("detail", sa.Text, comment="its report, as JSON"),
    sa.Column("error", sa.Text, comment="why it failed or was skipped; a failure's traceback"),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Index("ix_crm_job_run_job", "job", "id"),
    sa.Index("ix_crm_job_run_status", "status"),
    comment="every run of a scheduled job, written when it starts (erp_crm.scheduling.runs)",
)

job_state = sa.Table(
    "crm_job_state",
    metadata,
    sa.Column("job", sa.String(40), primary_key=True),
    sa.Column("paused", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),
    sa.Column("paused_reason", sa.Text),
    sa.Column("changed_at", sa.DateTime, comment="when it was paused or resumed"),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0", comment="failed runs in a row"),
    sa.Column("alerted_at", sa.DateTime, comment="when the admins were told of the current run of failures"),
    comment="what people and failures set on a job: paused, and how many times in a row it failed",
)

lease = sa.Table(
    "crm_lease",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(200), comment="host, process and a random part, unique per scheduler process"),
    sa.Column("acquired_at", sa.DateTime),
    sa.Column("renewed_at", sa.DateTime),
    sa.Column("expires_at", sa.DateTime, comment="after this, another process may take it"),
    comment="one leader at a time: the scheduler's lease (on PostgreSQL an advisory lock decides, this row shows who)",
)
