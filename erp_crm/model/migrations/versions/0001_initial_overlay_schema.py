"""initial overlay schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 00:25:02.106092
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_product',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_product')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_product_source_key')
    )
    op.create_table('crm_quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=True),
    sa.Column('key_values', sa.JSON(), nullable=True, comment="the key columns' raw values, to read the row again"),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_id', sa.Integer(), nullable=False, comment='the sync run that last met the row'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_quarantine')),
    sa.UniqueConstraint('source', 'entity', 'erp_key', name='uq_crm_quarantine_row')
    )
    op.create_table('crm_sync_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_sync_run'))
    )
    op.create_table('crm_sync_seen',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('source', 'entity', 'erp_key', name=op.f('pk_crm_sync_seen')),
    comment='keys met during a reconciliation pass; what the overlay has beyond them was deleted in the ERP'
    )
    op.create_table('crm_sync_state',
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('cursor', sa.JSON(), nullable=True, comment='change value reached by the last finished run'),
    sa.Column('pending', sa.JSON(), nullable=True, comment='progress of an unfinished run, for resuming'),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'entity', name=op.f('pk_crm_sync_state'))
    )
    op.create_table('crm_user',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('login', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_user')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_user_source_key')
    )
    op.create_table('crm_partner',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=True),
    sa.Column('is_customer', sa.Boolean(), nullable=True),
    sa.Column('is_prospect', sa.Boolean(), nullable=True),
    sa.Column('is_supplier', sa.Boolean(), nullable=True),
    sa.Column('customer_group', sa.Text(), nullable=True),
    sa.Column('tax_number', sa.Text(), nullable=True),
    sa.Column('eu_vat_number', sa.Text(), nullable=True),
    sa.Column('registration_number', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('mobile', sa.Text(), nullable=True),
    sa.Column('website', sa.Text(), nullable=True),
    sa.Column('street', sa.Text(), nullable=True),
    sa.Column('zip', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=True),
    sa.Column('country', sa.Text(), nullable=True),
    sa.Column('lang', sa.Text(), nullable=True),
    sa.Column('salesperson_key', sa.String(length=200), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('industry', sa.Text(), nullable=True),
    sa.Column('size_class', sa.Text(), nullable=True),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_partner')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_partner_source_key')
    )
    with op.batch_alter_table('crm_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_partner_salesperson_id'), ['salesperson_id'], unique=False)

    op.create_table('crm_contact',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('partner_key', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('first_name', sa.Text(), nullable=True),
    sa.Column('last_name', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('job_title', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('mobile', sa.Text(), nullable=True),
    sa.Column('gender', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_contact')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_contact_source_key')
    )
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_contact_partner_id'), ['partner_id'], unique=False)

    op.create_table('crm_partner_profile',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('industry', sa.Text(), nullable=True),
    sa.Column('size_class', sa.Text(), nullable=True),
    sa.Column('ownership', sa.Text(), nullable=True),
    sa.Column('risk_rating', sa.Text(), nullable=True),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('key_account', sa.Boolean(), nullable=True),
    sa.Column('customer_rating', sa.Integer(), nullable=True),
    sa.Column('custom', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_partner_profile_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_crm_partner_profile')),
    comment='descriptive and qualitative data kept by the CRM; the sync never overwrites it'
    )
    op.create_table('crm_quote',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('partner_key', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('salesperson_key', sa.String(length=200), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('amount_net', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_tax', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_total', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_quote')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_quote_source_key')
    )
    with op.batch_alter_table('crm_quote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_quote_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_quote_salesperson_id'), ['salesperson_id'], unique=False)

    op.create_table('crm_ticket',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('partner_key', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('severity', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_ticket')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_ticket_source_key')
    )
    with op.batch_alter_table('crm_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_ticket_partner_id'), ['partner_id'], unique=False)

    op.create_table('crm_order',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('partner_key', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('salesperson_key', sa.String(length=200), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('amount_net', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_tax', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_total', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('quote_key', sa.String(length=200), nullable=True),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_order')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_order_source_key')
    )
    with op.batch_alter_table('crm_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_order_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_order_quote_id'), ['quote_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_order_salesperson_id'), ['salesperson_id'], unique=False)

    op.create_table('crm_quote_line',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('quote_key', sa.String(length=200), nullable=True),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('product_key', sa.String(length=200), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('discount_pct', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_net', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_quote_line')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_quote_line_source_key')
    )
    with op.batch_alter_table('crm_quote_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_quote_line_quote_id'), ['quote_id'], unique=False)

    op.create_table('crm_invoice',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('partner_key', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('salesperson_key', sa.String(length=200), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('amount_net', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_tax', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_total', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('kind', sa.Text(), nullable=True),
    sa.Column('order_key', sa.String(length=200), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_invoice')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_invoice_source_key')
    )
    with op.batch_alter_table('crm_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_invoice_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_invoice_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_invoice_salesperson_id'), ['salesperson_id'], unique=False)

    op.create_table('crm_order_line',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('order_key', sa.String(length=200), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('product_key', sa.String(length=200), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('discount_pct', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_net', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_order_line')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_order_line_source_key')
    )
    with op.batch_alter_table('crm_order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_order_line_order_id'), ['order_id'], unique=False)

    op.create_table('crm_invoice_line',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('invoice_key', sa.String(length=200), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('product_key', sa.String(length=200), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('discount_pct', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('amount_net', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_invoice_line')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_invoice_line_source_key')
    )
    with op.batch_alter_table('crm_invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('crm_payment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('erp_key', sa.String(length=200), nullable=False),
    sa.Column('partner_key', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('invoice_key', sa.String(length=200), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=False),
    sa.Column('erp_deleted_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_payment')),
    sa.UniqueConstraint('source', 'erp_key', name='uq_crm_payment_source_key')
    )
    with op.batch_alter_table('crm_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_payment_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_payment_partner_id'), ['partner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_payment_partner_id'))
        batch_op.drop_index(batch_op.f('ix_crm_payment_invoice_id'))

    op.drop_table('crm_payment')
    with op.batch_alter_table('crm_invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_invoice_line_invoice_id'))

    op.drop_table('crm_invoice_line')
    with op.batch_alter_table('crm_order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_order_line_order_id'))

    op.drop_table('crm_order_line')
    with op.batch_alter_table('crm_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_invoice_salesperson_id'))
        batch_op.drop_index(batch_op.f('ix_crm_invoice_partner_id'))
        batch_op.drop_index(batch_op.f('ix_crm_invoice_order_id'))

    op.drop_table('crm_invoice')
    with op.batch_alter_table('crm_quote_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_quote_line_quote_id'))

    op.drop_table('crm_quote_line')
    with op.batch_alter_table('crm_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_order_salesperson_id'))
        batch_op.drop_index(batch_op.f('ix_crm_order_quote_id'))
        batch_op.drop_index(batch_op.f('ix_crm_order_partner_id'))

    op.drop_table('crm_order')
    with op.batch_alter_table('crm_ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_ticket_partner_id'))

    op.drop_table('crm_ticket')
    with op.batch_alter_table('crm_quote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_quote_salesperson_id'))
        batch_op.drop_index(batch_op.f('ix_crm_quote_partner_id'))

    op.drop_table('crm_quote')
    op.drop_table('crm_partner_profile')
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_contact_partner_id'))

    op.drop_table('crm_contact')
    with op.batch_alter_table('crm_partner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_partner_salesperson_id'))

    op.drop_table('crm_partner')
    op.drop_table('crm_user')
    op.drop_table('crm_sync_state')
    op.drop_table('crm_sync_seen')
    op.drop_table('crm_sync_run')
    op.drop_table('crm_quarantine')
    op.drop_table('crm_product')
