"""account owners

The CRM's account owner of a partner, overriding the ERP's salesperson without writing
to the ERP, and every change of it kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 23:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_partner_owner',
    sa.Column('partner_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False, comment='UTC'),
    sa.Column('by', sa.String(length=200), nullable=False, comment='who: an ERP login, or the chain step'),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_partner_owner_partner_id_crm_partner')),
    sa.ForeignKeyConstraint(['user_id'], ['crm_user.id'], name=op.f('fk_crm_partner_owner_user_id_crm_user')),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_crm_partner_owner')),
    comment="the CRM's account owner of a partner, overriding the ERP's salesperson while the user is active"
    )
    with op.batch_alter_table('crm_partner_owner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_partner_owner_user_id'), ['user_id'], unique=False)

    op.create_table('crm_partner_owner_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False, comment='assigned | released'),
    sa.Column('from_user_id', sa.Integer(), nullable=True, comment='the effective owner before (NULL: nobody)'),
    sa.Column('to_user_id', sa.Integer(), nullable=True, comment='the effective owner after (NULL: nobody)'),
    sa.Column('at', sa.DateTime(), nullable=False, comment='UTC'),
    sa.Column('by', sa.String(length=200), nullable=False, comment='who: an ERP login, or the chain step'),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True, comment='the enrolment whose step made it'),
    sa.Column('step', sa.String(length=64), nullable=True, comment='the chain step that made it'),
    sa.Column('tasks_moved', sa.Integer(), server_default='0', nullable=False, comment='open tasks handed from the old owner to the new'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['crm_chain_enrolment.id'], name=op.f('fk_crm_partner_owner_event_enrolment_id_crm_chain_enrolment')),
    sa.ForeignKeyConstraint(['from_user_id'], ['crm_user.id'], name=op.f('fk_crm_partner_owner_event_from_user_id_crm_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_partner_owner_event_partner_id_crm_partner')),
    sa.ForeignKeyConstraint(['to_user_id'], ['crm_user.id'], name=op.f('fk_crm_partner_owner_event_to_user_id_crm_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_partner_owner_event')),
    comment="every change of a partner's account owner, kept"
    )
    with op.batch_alter_table('crm_partner_owner_event', schema=None) as batch_op:
        batch_op.create_index('ix_crm_partner_owner_event_partner', ['partner_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_partner_owner_event', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_partner_owner_event_partner')

    op.drop_table('crm_partner_owner_event')
    with op.batch_alter_table('crm_partner_owner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_partner_owner_user_id'))

    op.drop_table('crm_partner_owner')
