"""the outbox, the communication log and the sending switch

Every message erp-crm sends is first a row of crm_outbox, written with whatever decided
it and sent at most once; crm_communication is each partner's log of what went out;
crm_switch holds the kill switch that stops sending.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_switch',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('paused', sa.Boolean(create_constraint=False), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False, comment='UTC'),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_crm_switch')),
    comment='switches people flip: sending (the kill switch that stops every dispatcher before its next message)'
    )
    op.create_table('crm_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False, comment='the idempotency key: the same message decided twice is one row'),
    sa.Column('channel', sa.String(length=10), nullable=False, comment='email, sms or webhook'),
    sa.Column('origin', sa.String(length=200), nullable=False, comment='what decided it: a chain step, a test send, the demo'),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.Text(), nullable=False, comment='the address, number or URL as it will be used (normalised); as found when suppressed'),
    sa.Column('recipient_name', sa.Text(), server_default='', nullable=False),
    sa.Column('subject', sa.Text(), nullable=True, comment='e-mail only'),
    sa.Column('body', sa.Text(), nullable=False, comment='the text (e-mail, SMS) or the JSON body (webhook)'),
    sa.Column('html', sa.Text(), nullable=True, comment="an e-mail's HTML part"),
    sa.Column('unsubscribe_url', sa.Text(), nullable=True),
    sa.Column('mime', sa.Text(), nullable=True, comment='an e-mail as it goes over SMTP (7-bit), built when it was decided'),
    sa.Column('status', sa.String(length=12), nullable=False, comment='queued | sending | sent | failed | unknown | suppressed | expired'),
    sa.Column('reason', sa.Text(), nullable=True, comment='why it is suppressed, failed, expired or unknown, in words'),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False, comment='how many times it was handed to a server'),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False, comment='not before (UTC): a retry waits here'),
    sa.Column('expires_at', sa.DateTime(), nullable=False, comment='not after (UTC): a send this late is dropped as expired'),
    sa.Column('claimed_by', sa.String(length=64), nullable=True, comment='the dispatcher holding it, while one does'),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True, comment='when it reached sent, failed, unknown, suppressed or expired'),
    sa.Column('answer_code', sa.Integer(), nullable=True, comment="the server's last reply code"),
    sa.Column('answer', sa.Text(), nullable=True, comment="the server's last words"),
    sa.Column('settled', sa.Text(), nullable=True, comment="a person's decision on it after it was unknown, with their note"),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], name=op.f('fk_crm_outbox_contact_id_crm_contact')),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_outbox_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_crm_outbox_key')),
    comment='messages to send, each at most once (erp_crm.automation.outbox)'
    )
    with op.batch_alter_table('crm_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_crm_outbox_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_crm_outbox_partner', ['partner_id', 'channel', 'created_at'], unique=False)

    op.create_table('crm_communication',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False, comment='email, sms, webhook; later calls, meetings, letters'),
    sa.Column('direction', sa.String(length=3), nullable=False, comment='out or in'),
    sa.Column('at', sa.DateTime(), nullable=False, comment='UTC'),
    sa.Column('subject', sa.Text(), nullable=True, comment="the e-mail's subject, the first words of a text message"),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], name=op.f('fk_crm_communication_contact_id_crm_contact')),
    sa.ForeignKeyConstraint(['outbox_id'], ['crm_outbox.id'], name=op.f('fk_crm_communication_outbox_id_crm_outbox')),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_communication_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_communication')),
    sa.UniqueConstraint('outbox_id', name=op.f('uq_crm_communication_outbox_id')),
    comment="each partner's communication log: every message that went out"
    )
    with op.batch_alter_table('crm_communication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_communication_partner_id'), ['partner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_communication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_communication_partner_id'))

    op.drop_table('crm_communication')
    with op.batch_alter_table('crm_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_outbox_partner')
        batch_op.drop_index('ix_crm_outbox_due')

    op.drop_table('crm_outbox')
    op.drop_table('crm_switch')
