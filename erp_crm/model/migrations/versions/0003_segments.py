"""segments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:57:31.107891
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_segment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('filter', sa.Text(), nullable=False, comment='the filter in its text form'),
    sa.Column('source', sa.String(length=20), nullable=False, comment='config (config/segments.yaml) or user'),
    sa.Column('updated_at', sa.DateTime(), nullable=False, comment='when the definition last changed'),
    sa.Column('refreshed_at', sa.DateTime(), nullable=True, comment='when membership was last brought up to date'),
    sa.Column('refreshed_as_of', sa.Date(), nullable=True, comment='the day the last refresh evaluated the filter for'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_segment')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_segment_name'))
    )
    op.create_table('crm_segment_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False, comment='entered or left'),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_segment_event_partner_id_crm_partner')),
    sa.ForeignKeyConstraint(['segment_id'], ['crm_segment.id'], name=op.f('fk_crm_segment_event_segment_id_crm_segment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_segment_event')),
    comment='partners entering and leaving segments, in id order, for the notification chains'
    )
    with op.batch_alter_table('crm_segment_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_segment_event_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_segment_event_segment_id'), ['segment_id'], unique=False)

    op.create_table('crm_segment_member',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('left_at', sa.DateTime(), nullable=True, comment='NULL while the partner is a member'),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_segment_member_partner_id_crm_partner')),
    sa.ForeignKeyConstraint(['segment_id'], ['crm_segment.id'], name=op.f('fk_crm_segment_member_segment_id_crm_segment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_segment_member')),
    comment='membership periods; current members have no left_at'
    )
    with op.batch_alter_table('crm_segment_member', schema=None) as batch_op:
        batch_op.create_index('ix_crm_segment_member_current', ['segment_id', 'left_at', 'partner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_segment_member', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_segment_member_current')

    op.drop_table('crm_segment_member')
    with op.batch_alter_table('crm_segment_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_segment_event_segment_id'))
        batch_op.drop_index(batch_op.f('ix_crm_segment_event_partner_id'))

    op.drop_table('crm_segment_event')
    op.drop_table('crm_segment')
