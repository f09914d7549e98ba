"""chain triggers

Chains triggered by ERP records and dates: the last day each chain's trigger looked at,
and indexes on the dates the tick looks up by day (invoices falling due, tickets closed,
contacts' birthdays, partners' first purchases).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 23:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_INDEXES = (
    ('crm_invoice', 'ix_crm_invoice_due_date', 'due_date'),
    ('crm_ticket', 'ix_crm_ticket_closed_at', 'closed_at'),
    ('crm_contact', 'ix_crm_contact_birth_date', 'birth_date'),
    ('crm_partner_metrics', 'ix_crm_partner_metrics_first_purchase', 'first_purchase'),
)


def upgrade() -> None:
    with op.batch_alter_table('crm_chain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('days_seen', sa.Date(), nullable=True, comment='the last day (company time) whose ERP records and dates its trigger looked at'))
    for table, name, column in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, [column], unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table('crm_chain', schema=None) as batch_op:
        batch_op.drop_column('days_seen')
