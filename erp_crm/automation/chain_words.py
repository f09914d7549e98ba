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

from erp_crm.automation.occurrences import DOCUMENT_PREFIXES
from erp_crm.metrics.purchases import PURCHASES
from erp_crm.model.tables.chains import enrolment
from erp_crm.model.tables.outbox import communication
from erp_crm.model.tables.segments import segment, segment_member
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.fields import Context, Expr, FieldDef, FieldRegistry, Param, PredicateDef
from erp_crm.settings.metrics import PurchasesFrom

CHAIN_WORDS = ("bought_since_enrolment", "replied", "in_segment", "trigger_settled")


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

    registry.add(
        FieldDef("trigger_settled", "bool", trigger_settled, doc="the record that started the enrolment needs it no more: paid, ordered, reopened, deleted")
    )
    registry.add(FieldDef("bought_since_enrolment", "bool", bought_since, doc=f"{documents.wording} dated on or after the day of enrolment"))
    registry.add(FieldDef("replied", "bool", replied, doc="an incoming message logged for the partner since enrolment"))
    registry.add(PredicateDef("in_segment", {"name": Param("text", required=True, doc="the segment's name")}, in_segment, "a current member of the segment"))
    return registry


def _still_open(kind: str, record: sa.Table) -> sa.ColumnElement[bool]:
    """The record of a `kind` occurrence still asks for its chain (its status, or for a quote, no order made from it)."""
    status = record.c.status
    if kind == "invoice_overdue":
        return sa.func.coalesce(status, "posted").not_in(("paid", "cancelled"))
    if kind == "quote_not_ordered":
        order = SYNCED["order"]
        ordered = sa.exists().where(order.c.quote_id == record.c.id, sa.func.coalesce(order.c.status, "") != "cancelled", order.c.erp_deleted_at.is_(None))
        return sa.and_(sa.func.coalesce(status, "sent").not_in(("accepted", "refused", "cancelled")), ~ordered)
    if kind == "complaint_closed":
        return status == "closed"
    return sa.func.coalesce(status, "") != "cancelled"  # a purchase


def trigger_settled(ctx: Context) -> Expr:
    """True when the enrolment's record (named by its occurrence) is settled or gone; never for birthdays, segments and the like.

    The record's id is cut from the occurrence only where its prefix matches (a CASE, so
    no database casts another occurrence's text), and found by its primary key.
    """
    occurrence = enrolment.c.occurrence
    settled = []
    for prefix, (kind, entity) in DOCUMENT_PREFIXES.items():
        record = SYNCED[entity]
        named = occurrence.startswith(prefix, autoescape=True)
        record_id = sa.case((named, sa.cast(sa.func.substr(occurrence, len(prefix) + 1), sa.BigInteger)))
        open_record = sa.exists().where(
            record.c.id == record_id, record.c.partner_id == ctx.partner_id, record.c.erp_deleted_at.is_(None), _still_open(kind, record)
        )
        settled.append(sa.and_(named, ~open_record))
    return sa.or_(*settled)
