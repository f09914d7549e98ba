"""The few words chain conditions add to the filter language (docs/chains.md, "Conditions").

One language, not two: a chain's `if`, `wait_for`, `exit_when` and `goal` are segment
filters, with every field a segment may use, plus words about the enrolment itself.
Those read the enrolment row of the query they are compiled into: the tick asks
"which of these enrolments meet the condition?" as one statement over
`crm_chain_enrolment` joined to the partner, so a condition costs one query per batch,
not one per customer.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.metrics.purchases import PURCHASES
from erp_crm.model.tables.chains import enrolment
from erp_crm.model.tables.outbox import communication
from erp_crm.model.tables.segments import segment, segment_member
from erp_crm.segments.fields import Context, Expr, FieldDef, FieldRegistry, Param, PredicateDef
from erp_crm.settings.metrics import PurchasesFrom

CHAIN_WORDS = ("bought_since_enrolment", "replied", "in_segment")


def with_chain_words(registry: FieldRegistry, purchases_from: PurchasesFrom) -> FieldRegistry:
    """`registry` (the segment fields) plus the chain words; it is changed and returned."""
    documents = PURCHASES[purchases_from]
    doc = documents.table

    def bought_since(ctx: Context) -> Expr:
        return sa.exists().where(
            doc.c.partner_id == ctx.partner_id, documents.counted(None), sa.not_(documents.credit()), doc.c.date >= enrolment.c.enrolled_on
        )

    def replied(ctx: Context) -> Expr:
        c = communication.c
        return sa.exists().where(c.partner_id == ctx.partner_id, c.direction == "in", c.at >= enrolment.c.enrolled_at)

    def in_segment(ctx: Context, name: str | None = None) -> Expr:
        m = segment_member.c
        return sa.exists().where(
            m.partner_id == ctx.partner_id, m.left_at.is_(None), m.segment_id == segment.c.id, segment.c.name == sa.literal(name, sa.Text())
        )

    registry.add(FieldDef("bought_since_enrolment", "bool", bought_since, doc=f"{documents.wording} dated on or after the day of enrolment"))
    registry.add(FieldDef("replied", "bool", replied, doc="an incoming message logged for the partner since enrolment"))
    registry.add(PredicateDef("in_segment", {"name": Param("text", required=True, doc="the segment's name")}, in_segment, "a current member of the segment"))
    return registry
