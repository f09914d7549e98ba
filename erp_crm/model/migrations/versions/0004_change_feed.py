"""change feed, partner days, metrics settings hash, segment filter at refresh, document date indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 01:20:47.362701
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_partner_change',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True, comment='the partner whose data changed; NULL: any partner may have'),
    sa.Column('day', sa.Date(), nullable=True, comment='the date of the changed document (dated documents and their lines)'),
    sa.Column('entity', sa.String(length=40), nullable=False, comment='what changed: a synced entity, or metrics'),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_partner_change')),
    comment='the partner change feed (erp_crm.model.changes): who changed when, for incremental metrics and segments'
    )
    with op.batch_alter_table('crm_partner_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_partner_change_changed_at'), ['changed_at'], unique=False)

    with op.batch_alter_table('crm_metrics_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings_hash', sa.String(length=32), nullable=True, comment='the metrics settings the run used (a changed setting rewrites every row)'))
        batch_op.add_column(sa.Column('written', sa.Integer(), nullable=True, comment='rows of crm_partner_metrics written (the others were already right)'))

    with op.batch_alter_table('crm_partner_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_partner_profile_updated_at'), ['updated_at'], unique=False)

    with op.batch_alter_table('crm_segment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refreshed_filter', sa.Text(), nullable=True, comment='the filter as of the last refresh; a changed one is refreshed whole'))

    with op.batch_alter_table('crm_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_invoice_date'), ['date'], unique=False)

    with op.batch_alter_table('crm_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_order_date'), ['date'], unique=False)

    with op.batch_alter_table('crm_quote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_quote_date'), ['date'], unique=False)

    with op.batch_alter_table('crm_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_ticket_opened_at'), ['opened_at'], unique=False)

    op.create_table('crm_partner_day',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('credit_notes', sa.Integer(), nullable=False),
    sa.Column('net', sa.Float(), nullable=False, comment='invoices minus credit notes, net of tax'),
    sa.Column('credited', sa.Float(), nullable=False, comment='credit notes, positive'),
    sa.Column('services', sa.Float(), nullable=False, comment='lines of service products, credit notes negative'),
    sa.PrimaryKeyConstraint('partner_id', 'day', name=op.f('pk_crm_partner_day')),
    comment='the invoices that count, summed per partner and day, kept by the metrics runs (docs/metrics.md)',
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('crm_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_invoice_partner_id'))
        batch_op.create_index('ix_crm_invoice_partner_id_date', ['partner_id', 'date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crm_invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_invoice_partner_id_date')
        batch_op.create_index(batch_op.f('ix_crm_invoice_partner_id'), ['partner_id'], unique=False)

    op.drop_table('crm_partner_day')

    with op.batch_alter_table('crm_ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_ticket_opened_at'))

    with op.batch_alter_table('crm_quote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_quote_date'))

    with op.batch_alter_table('crm_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_order_date'))

    with op.batch_alter_table('crm_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_invoice_date'))

    with op.batch_alter_table('crm_segment', schema=None) as batch_op:
        batch_op.drop_column('refreshed_filter')

    with op.batch_alter_table('crm_partner_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_partner_profile_updated_at'))

    with op.batch_alter_table('crm_metrics_run', schema=None) as batch_op:
        batch_op.drop_column('written')
        batch_op.drop_column('settings_hash')

    with op.batch_alter_table('crm_partner_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_partner_change_changed_at'))

    op.drop_table('crm_partner_change')
