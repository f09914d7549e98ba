"""scheduler

The scheduled jobs' run log (written when a run starts), the switches and failure
counts people and runs set on each job, and the scheduler's leadership lease.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_job_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False, comment="the job's name in jobs/schedule.yaml"),
    sa.Column('kind', sa.String(length=20), nullable=False, comment='what it ran: sync, reconcile, metrics, segments, chains_tick, outbox_dispatch, report'),
    sa.Column('cause', sa.String(length=60), nullable=False, comment='scheduled, caught up, after <job>, by hand'),
    sa.Column('status', sa.String(length=10), nullable=False, comment='running | ok | failed | killed | skipped'),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('handled', sa.Integer(), nullable=True, comment='rows, partners, enrolments or messages it handled'),
    sa.Column('detail', sa.Text(), nullable=True, comment='its report, as JSON'),
    sa.Column('error', sa.Text(), nullable=True, comment="why it failed or was skipped; a failure's traceback"),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_job_run')),
    comment='every run of a scheduled job, written when it starts (erp_crm.scheduling.runs)'
    )
    with op.batch_alter_table('crm_job_run', schema=None) as batch_op:
        batch_op.create_index('ix_crm_job_run_job', ['job', 'id'], unique=False)
        batch_op.create_index('ix_crm_job_run_status', ['status'], unique=False)

    op.create_table('crm_job_state',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('paused', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('paused_reason', sa.Text(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=True, comment='when it was paused or resumed'),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False, comment='failed runs in a row'),
    sa.Column('alerted_at', sa.DateTime(), nullable=True, comment='when the admins were told of the current run of failures'),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_crm_job_state')),
    comment='what people and failures set on a job: paused, and how many times in a row it failed'
    )
    op.create_table('crm_lease',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=True, comment='host, process and a random part, unique per scheduler process'),
    sa.Column('acquired_at', sa.DateTime(), nullable=True),
    sa.Column('renewed_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True, comment='after this, another process may take it'),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_crm_lease')),
    comment="one leader at a time: the scheduler's lease (on PostgreSQL an advisory lock decides, this row shows who)"
    )


def downgrade() -> None:
    op.drop_table('crm_lease')
    op.drop_table('crm_job_state')
    with op.batch_alter_table('crm_job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_job_run_status')
        batch_op.drop_index('ix_crm_job_run_job')

    op.drop_table('crm_job_run')
