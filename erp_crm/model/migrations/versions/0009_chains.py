"""chains

Notification chains and their published versions, enrolments (a partner's way through
one version, due when the tick must look at it), what each step did, and tasks with
the history of every change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_chain',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('events_seen', sa.Integer(), server_default='0', nullable=False, comment='the last crm_segment_event id its triggers looked at'),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_chain')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_chain_name')),
    comment='notification chains by name; what each does is in its versions'
    )
    op.create_table('crm_chain_version',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False, comment="the chain file's content as published"),
    sa.Column('digest', sa.String(length=64), nullable=False, comment='sha256 of the definition: a changed file publishes a new version'),
    sa.Column('file', sa.Text(), nullable=False, comment='the file it was read from'),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['crm_chain.id'], name=op.f('fk_crm_chain_version_chain_id_crm_chain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_chain_version')),
    sa.UniqueConstraint('chain_id', 'version', name='uq_crm_chain_version_chain_id'),
    comment='each published definition of a chain; running enrolments stay on the version they started on'
    )
    op.create_table('crm_chain_enrolment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('occurrence', sa.String(length=120), nullable=False, comment='the trigger occurrence: segment event, manual enrolment, date'),
    sa.Column('status', sa.String(length=10), nullable=False, comment='active | done | goal | exited | failed'),
    sa.Column('step', sa.String(length=64), nullable=True, comment='the step it is at (the next to run when due)'),
    sa.Column('steps_taken', sa.Integer(), server_default='0', nullable=False, comment="steps run so far: numbers each step's run, and its messages' keys"),
    sa.Column('due_at', sa.DateTime(), nullable=True, comment='when the tick next looks at it (UTC)'),
    sa.Column('waiting_until', sa.DateTime(), nullable=True, comment='a wait for a condition gives up at this time'),
    sa.Column('enrolled_at', sa.DateTime(), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False, comment='the day, for conditions about what happened since'),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True, comment='why it ended'),
    sa.ForeignKeyConstraint(['chain_id'], ['crm_chain.id'], name=op.f('fk_crm_chain_enrolment_chain_id_crm_chain')),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_chain_enrolment_partner_id_crm_partner')),
    sa.ForeignKeyConstraint(['version_id'], ['crm_chain_version.id'], name=op.f('fk_crm_chain_enrolment_version_id_crm_chain_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_chain_enrolment')),
    sa.UniqueConstraint('version_id', 'partner_id', 'occurrence', name='uq_crm_chain_enrolment_version_id'),
    comment="a partner's way through one chain version"
    )
    with op.batch_alter_table('crm_chain_enrolment', schema=None) as batch_op:
        batch_op.create_index('ix_crm_chain_enrolment_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_crm_chain_enrolment_partner', ['chain_id', 'partner_id'], unique=False)

    op.create_table('crm_task',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True, comment='the ERP user who owns it; NULL while it waits for someone of its role'),
    sa.Column('role', sa.String(length=40), nullable=True, comment='the role it was given to (sales, finance, ...), when no one person was named'),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('priority', sa.String(length=6), nullable=False, comment='low | normal | high'),
    sa.Column('status', sa.String(length=10), nullable=False, comment='open | done | cancelled'),
    sa.Column('origin', sa.String(length=200), nullable=False, comment='who or what made it: a chain step, a person'),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['crm_chain_enrolment.id'], name=op.f('fk_crm_task_enrolment_id_crm_chain_enrolment')),
    sa.ForeignKeyConstraint(['owner_id'], ['crm_user.id'], name=op.f('fk_crm_task_owner_id_crm_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_task_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_task')),
    comment='things for people to do, easy to see, postpone and hand over'
    )
    with op.batch_alter_table('crm_task', schema=None) as batch_op:
        batch_op.create_index('ix_crm_task_open', ['status', 'owner_id', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_task_partner_id'), ['partner_id'], unique=False)

    op.create_table('crm_chain_step_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False, comment="the enrolment's steps_taken when it ran"),
    sa.Column('step', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False, comment='queued, suppressed, waiting, then, else, task, exited, goal, done, failed'),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['crm_chain_enrolment.id'], name=op.f('fk_crm_chain_step_log_enrolment_id_crm_chain_enrolment')),
    sa.ForeignKeyConstraint(['outbox_id'], ['crm_outbox.id'], name=op.f('fk_crm_chain_step_log_outbox_id_crm_outbox')),
    sa.ForeignKeyConstraint(['task_id'], ['crm_task.id'], name=op.f('fk_crm_chain_step_log_task_id_crm_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_chain_step_log')),
    sa.UniqueConstraint('enrolment_id', 'seq', name='uq_crm_chain_step_log_enrolment_id'),
    comment='what each step of each enrolment did, in order'
    )
    op.create_table('crm_task_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False, comment='created, postponed, handed_over, done, cancelled'),
    sa.Column('by', sa.String(length=200), nullable=False, comment='who: an ERP login, or the chain step'),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['crm_task.id'], name=op.f('fk_crm_task_event_task_id_crm_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_task_event')),
    comment='every change of every task, kept'
    )
    with op.batch_alter_table('crm_task_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_task_event_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_task_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_task_event_task_id'))

    op.drop_table('crm_task_event')
    op.drop_table('crm_chain_step_log')
    with op.batch_alter_table('crm_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_task_partner_id'))
        batch_op.drop_index('ix_crm_task_open')

    op.drop_table('crm_task')
    with op.batch_alter_table('crm_chain_enrolment', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_chain_enrolment_partner')
        batch_op.drop_index('ix_crm_chain_enrolment_due')

    op.drop_table('crm_chain_enrolment')
    op.drop_table('crm_chain_version')
    op.drop_table('crm_chain')
