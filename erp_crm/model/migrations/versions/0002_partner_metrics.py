"""partner metrics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:37:59.276433
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crm_metrics_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('partners', sa.Integer(), nullable=True, comment='partners whose figures were written'),
    sa.Column('recomputed', sa.Integer(), nullable=True, comment='partners whose documents were aggregated again'),
    sa.Column('models', sa.JSON(), nullable=True, comment='fitted model parameters, or why a model was not fitted'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_metrics_run'))
    )
    op.create_table('crm_partner_metrics',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('quotes', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('order_value', sa.Float(), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('revenue_net', sa.Float(), nullable=False, comment='invoices minus credit notes, net of tax'),
    sa.Column('services_value', sa.Float(), nullable=False, comment='invoice lines of service products'),
    sa.Column('credit_notes', sa.Integer(), nullable=False),
    sa.Column('credit_note_value', sa.Float(), nullable=False, comment='credited amount, positive'),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.Column('quote_conversion', sa.Float(), nullable=True, comment='share of quotes that led to an order; NULL without quotes'),
    sa.Column('first_purchase', sa.Date(), nullable=True),
    sa.Column('last_purchase', sa.Date(), nullable=True),
    sa.Column('purchase_days', sa.Integer(), nullable=False, comment='days with a positive net invoiced amount'),
    sa.Column('purchase_value', sa.Float(), nullable=False, comment='net amount of the purchase days'),
    sa.Column('repeat_value', sa.Float(), nullable=True, comment='mean net amount of the repeat purchase days'),
    sa.Column('avg_order_value', sa.Float(), nullable=True, comment='purchase_value / purchase_days'),
    sa.Column('tenure_days', sa.Integer(), nullable=True),
    sa.Column('recency_days', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.Integer(), nullable=True),
    sa.Column('monetary', sa.Float(), nullable=True),
    sa.Column('r_score', sa.SmallInteger(), nullable=True),
    sa.Column('f_score', sa.SmallInteger(), nullable=True),
    sa.Column('m_score', sa.SmallInteger(), nullable=True),
    sa.Column('rfm_group', sa.String(length=40), nullable=True),
    sa.Column('typical_gap_days', sa.Float(), nullable=True),
    sa.Column('overdue_ratio', sa.Float(), nullable=True),
    sa.Column('p_alive', sa.Float(), nullable=True, comment='MBG/NBD probability of still being a customer'),
    sa.Column('expected_purchases_90d', sa.Float(), nullable=True),
    sa.Column('expected_value', sa.Float(), nullable=True, comment='Gamma-Gamma expected mean purchase value'),
    sa.Column('clv_12m', sa.Float(), nullable=True),
    sa.Column('lapsed_rule', sa.Boolean(), nullable=True),
    sa.Column('lapsed_rhythm', sa.Boolean(), nullable=True),
    sa.Column('lapsed_model', sa.Boolean(), nullable=True),
    sa.Column('lapse_score', sa.Float(), nullable=True),
    sa.Column('lapse_reason_hu', sa.Text(), nullable=True),
    sa.Column('lapse_reason_en', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_partner_metrics_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_crm_partner_metrics')),
    comment="each live partner's figures as of the last metrics run"
    )
    op.create_table('crm_partner_metrics_history',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('quotes', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('order_value', sa.Float(), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('revenue_net', sa.Float(), nullable=False, comment='invoices minus credit notes, net of tax'),
    sa.Column('services_value', sa.Float(), nullable=False, comment='invoice lines of service products'),
    sa.Column('credit_notes', sa.Integer(), nullable=False),
    sa.Column('credit_note_value', sa.Float(), nullable=False, comment='credited amount, positive'),
    sa.Column('complaints', sa.Integer(), nullable=False),
    sa.Column('quote_conversion', sa.Float(), nullable=True, comment='share of quotes that led to an order; NULL without quotes'),
    sa.Column('first_purchase', sa.Date(), nullable=True),
    sa.Column('last_purchase', sa.Date(), nullable=True),
    sa.Column('purchase_days', sa.Integer(), nullable=False, comment='days with a positive net invoiced amount'),
    sa.Column('purchase_value', sa.Float(), nullable=False, comment='net amount of the purchase days'),
    sa.Column('repeat_value', sa.Float(), nullable=True, comment='mean net amount of the repeat purchase days'),
    sa.Column('avg_order_value', sa.Float(), nullable=True, comment='purchase_value / purchase_days'),
    sa.Column('tenure_days', sa.Integer(), nullable=True),
    sa.Column('recency_days', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.Integer(), nullable=True),
    sa.Column('monetary', sa.Float(), nullable=True),
    sa.Column('r_score', sa.SmallInteger(), nullable=True),
    sa.Column('f_score', sa.SmallInteger(), nullable=True),
    sa.Column('m_score', sa.SmallInteger(), nullable=True),
    sa.Column('rfm_group', sa.String(length=40), nullable=True),
    sa.Column('typical_gap_days', sa.Float(), nullable=True),
    sa.Column('overdue_ratio', sa.Float(), nullable=True),
    sa.Column('p_alive', sa.Float(), nullable=True, comment='MBG/NBD probability of still being a customer'),
    sa.Column('expected_purchases_90d', sa.Float(), nullable=True),
    sa.Column('expected_value', sa.Float(), nullable=True, comment='Gamma-Gamma expected mean purchase value'),
    sa.Column('clv_12m', sa.Float(), nullable=True),
    sa.Column('lapsed_rule', sa.Boolean(), nullable=True),
    sa.Column('lapsed_rhythm', sa.Boolean(), nullable=True),
    sa.Column('lapsed_model', sa.Boolean(), nullable=True),
    sa.Column('lapse_score', sa.Float(), nullable=True),
    sa.Column('lapse_reason_hu', sa.Text(), nullable=True),
    sa.Column('lapse_reason_en', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['crm_partner.id'], name=op.f('fk_crm_partner_metrics_history_partner_id_crm_partner')),
    sa.PrimaryKeyConstraint('partner_id', 'as_of', name=op.f('pk_crm_partner_metrics_history')),
    comment='snapshots of crm_partner_metrics, one per partner and date, for trends'
    )
    with op.batch_alter_table('crm_partner_metrics_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_partner_metrics_history_as_of'), ['as_of'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crm_partner_metrics_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_partner_metrics_history_as_of'))

    op.drop_table('crm_partner_metrics_history')
    op.drop_table('crm_partner_metrics')
    op.drop_table('crm_metrics_run')
