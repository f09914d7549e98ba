"""lapse reasons as codes with their numbers, not as finished sentences

The reasons of rows computed before are rebuilt from the figures stored beside them
(recency, the usual gap and its ratio, P(alive)); which parts a reason had is read from
its English text. A downgrade brings the text columns back empty: the next metrics run
fills the current rows again, older snapshots keep no reason.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ('crm_partner_metrics', 'crm_partner_metrics_history')
COMMENT = 'why lapsed: reason codes with their numbers, rendered per language when read'
FEED = 'crm_partner_change'
FEED_COMMENT_BEFORE = 'the partner change feed (erp_crm.model.changes): who changed when, for incremental metrics and segments'
FEED_COMMENT = 'the partner change feed (erp_crm.store.change_feed): who changed when, for incremental metrics and segments'


def _reason_sql(dialect: str) -> str:
    obj = 'json_build_object' if dialect == 'postgresql' else 'json_object'
    return (
        f"{obj}('silent', {obj}('days', recency_days), "
        f"'off_rhythm', CASE WHEN lapse_reason_en LIKE '%usually orders every%' "
        f"THEN {obj}('usual_gap_days', typical_gap_days, 'ratio', overdue_ratio) END, "
        f"'p_active', CASE WHEN lapse_reason_en LIKE '%P(active)%' THEN {obj}('p', p_alive) END)"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lapse_reason', sa.JSON(none_as_null=True), nullable=True, comment=COMMENT))
        op.execute(f"UPDATE {table} SET lapse_reason = {_reason_sql(dialect)} WHERE lapse_reason_en IS NOT NULL AND lapse_reason_en <> ''")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lapse_reason_hu')
            batch_op.drop_column('lapse_reason_en')
    if dialect == 'postgresql':
        op.create_table_comment(FEED, FEED_COMMENT, existing_comment=FEED_COMMENT_BEFORE)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.create_table_comment(FEED, FEED_COMMENT_BEFORE, existing_comment=FEED_COMMENT)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lapse_reason_hu', sa.Text(), nullable=True))
            batch_op.add_column(sa.Column('lapse_reason_en', sa.Text(), nullable=True))
            batch_op.drop_column('lapse_reason')
