"""one current membership row per segment and partner

Two segment refreshes that ran at once could both insert the partners that entered, with
two "entered" events each; the unique index below keeps that from happening again. An
overlay that already holds such doubles is repaired first, so the index can be built:

- a membership row that starts while an earlier row of the same segment and partner is
  still open is a double: it is closed at its own start (`left_at = entered_at`, a
  period of no length, kept so that what happened can still be seen);
- its "entered" event, and its "left" event if the doubles left together, are removed:
  the events then say once what happened once, as notification chains must read it.

The earliest row of each double stays as it was. The number of repaired rows is logged.
A downgrade drops the index only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00
"""
import logging

from alembic import op
import sqlalchemy as sa
from sqlalchemy.engine import Connection


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEX = 'uq_crm_segment_member_current'
CURRENT = sa.text('left_at IS NULL')

log = logging.getLogger('erp_crm.model.migrations')

member = sa.table(
    'crm_segment_member',
    sa.column('id', sa.Integer), sa.column('segment_id', sa.Integer), sa.column('partner_id', sa.Integer),
    sa.column('entered_at', sa.DateTime), sa.column('left_at', sa.DateTime),
)
event = sa.table(
    'crm_segment_event',
    sa.column('id', sa.Integer), sa.column('segment_id', sa.Integer), sa.column('partner_id', sa.Integer),
    sa.column('kind', sa.String), sa.column('at', sa.DateTime),
)


def _doubles() -> sa.Select:
    """Rows that begin inside an earlier, still open row of the same segment and partner (zero-length rows are done)."""
    earlier = member.alias('earlier')
    before = sa.or_(earlier.c.entered_at < member.c.entered_at, sa.and_(earlier.c.entered_at == member.c.entered_at, earlier.c.id < member.c.id))
    open_then = sa.or_(earlier.c.left_at.is_(None), earlier.c.left_at > member.c.entered_at)
    inside = sa.exists().where(earlier.c.segment_id == member.c.segment_id, earlier.c.partner_id == member.c.partner_id, before, open_then)
    has_length = sa.or_(member.c.left_at.is_(None), member.c.left_at > member.c.entered_at)
    return sa.select(member).where(inside, has_length).order_by(member.c.id)


def _drop_one_event(conn: Connection, row: sa.Row, kind: str, at: object) -> None:
    """One of the events a double wrote (the newest of its kind at that time: the double's own)."""
    same = (event.c.segment_id == row.segment_id, event.c.partner_id == row.partner_id, event.c.kind == kind, event.c.at == at)
    newest = sa.select(sa.func.max(event.c.id)).where(*same).scalar_subquery()
    conn.execute(sa.delete(event).where(event.c.id == newest))


def upgrade() -> None:
    conn = op.get_bind()
    doubles = conn.execute(_doubles()).all()
    for row in doubles:
        _drop_one_event(conn, row, 'entered', row.entered_at)
        if row.left_at is not None:
            _drop_one_event(conn, row, 'left', row.left_at)
        conn.execute(sa.update(member).where(member.c.id == row.id).values(left_at=member.c.entered_at))
    if doubles:
        log.warning('segment membership: %d doubled rows closed and their events removed', len(doubles))
    op.create_index(INDEX, 'crm_segment_member', ['segment_id', 'partner_id'], unique=True, sqlite_where=CURRENT, postgresql_where=CURRENT)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='crm_segment_member')
