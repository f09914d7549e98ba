"""consent

Consent per partner and channel, every opt-in and opt-out kept with its source and time;
and addresses that must not be used again (hard bounces).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_suppression',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False, comment='the normalised address or number'),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False, comment='bounce, cli'),
    sa.Column('at', sa.DateTime(), nullable=False, comment='UTC'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_suppression')),
    sa.UniqueConstraint('channel', 'address', name='uq_crm_suppression_channel'),
    comment='addresses never to be used again: hard bounces, addresses a person struck out'
    )
    op.create_table('crm_consent',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False, comment='email | sms'),
    sa.Column('status', sa.String(length=10), nullable=False, comment='opt_in | opt_out'),
    sa.Column('source', sa.String(length=40), nullable=False, comment='how it was given: one-click, unsubscribe page, form, cli, import'),
    sa.Column('at', sa.DateTime(), nullable=False, comment='UTC'),
    sa.Column('detail', sa.Text(), nullable=True, comment='what shows it: the message it came from, who recorded it, the wording agreed to'),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_consent_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_consent')),
    comment='every opt-in and opt-out, kept: the newest per partner and channel is the current state'
    )
    with op.batch_alter_table('crm_consent', schema=None) as batch_op:
        batch_op.create_index('ix_crm_consent_partner', ['partner_id', 'channel', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_consent', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_consent_partner')

    op.drop_table('crm_consent')
    op.drop_table('crm_suppression')
