"""the lapse score's flag and each customer's longest gap between purchases

The lapse score now comes from a model fitted on the company's own history, and flags
customers on its own (`lapsed_score`); one of its features is the longest gap between a
customer's purchase days (`longest_gap_days`). Rows computed before get both empty: the
next metrics run is a full one (the settings it compares with changed) and fills them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TABLES = ('crm_partner_metrics', 'crm_partner_metrics_history')
SCORE_BEFORE = None
SCORE = 'the chance of no purchase in the lapse horizon (or, without a fitted lapse model, the hand-weighted score)'


def _comment(table: str, comment: str | None, before: str | None) -> None:
    """The lapse score's column comment; SQLite keeps none, and altering it there would copy the whole table."""
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column(table, 'lapse_score', existing_type=sa.Float(), comment=comment, existing_comment=before, existing_nullable=True)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('longest_gap_days', sa.Integer(), nullable=True, comment='the longest gap between purchase days; 0 with one'))
            batch_op.add_column(sa.Column('lapsed_score', sa.Boolean(create_constraint=False), nullable=True, comment='the lapse score at or above its threshold'))
        _comment(table, SCORE, SCORE_BEFORE)


def downgrade() -> None:
    for table in TABLES:
        _comment(table, SCORE_BEFORE, SCORE)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lapsed_score')
            batch_op.drop_column('longest_gap_days')
