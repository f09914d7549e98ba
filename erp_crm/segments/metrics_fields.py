"""The customer metrics as filter fields: every figure of `crm_partner_metrics` by its column name.

They are tracked (`FieldDef.tracked`): a metrics run tells the change feed whose rows it wrote.

A partner without a metrics row (never computed, or deleted) has every metric empty, and
filters treat a test on an empty value as false (docs/filters.md, "Empty values"). The
figures are those of the last `erp-crm metrics compute`, as of its `as_of` (the field
`metrics_as_of`); `revenue_12m` alone is computed from the purchase documents (invoices,
or orders: `metrics.purchases_from`), relative to the filter's today.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from erp_crm.metrics.purchases import PURCHASES, Documents
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.segments.fields import Context, Expr, FieldDef, FieldRegistry, Kind, Window, default_registry, per_partner, shift
from erp_crm.settings.metrics import PurchasesFrom, RfmSection
from erp_crm.settings.profile import ProfileSection

# Bookkeeping columns; `complaints`, which the `complaints(within:)` predicate already
# counts; and the lapse reason, codes for people to read, which the lapse flags say as yes/no.
_SKIPPED = ("partner_id", "source", "computed_at", "as_of", "complaints", "lapse_reason")


def _kind(column: sa.Column[Any]) -> Kind:
    if isinstance(column.type, sa.Boolean):
        return "bool"
    if isinstance(column.type, sa.Integer | sa.Float | sa.Numeric):
        return "number"
    if isinstance(column.type, sa.Date | sa.DateTime):
        return "date"
    return "text"


def metrics_fields(groups: tuple[str, ...], purchases_from: PurchasesFrom = "invoices") -> list[FieldDef]:
    """One field per metrics column; `groups`: the RFM group names a partner can be in; `purchases_from`: what `revenue_12m` sums."""
    fields = [
        FieldDef("metrics_as_of", "date", per_partner(partner_metrics.c.as_of), doc="the day the metrics were computed for", tracked=True)
    ]
    for column in partner_metrics.columns:
        if column.name in _SKIPPED:
            continue
        expression = per_partner(column)
        if column.name == "rfm_group":
            fields.append(FieldDef("rfm_group", "choice", expression, groups, doc="the RFM group", tracked=True))
        else:
            fields.append(FieldDef(column.name, _kind(column), expression, doc=column.comment or f"metrics: {column.name}", tracked=True))
    documents = PURCHASES[purchases_from]
    doc = f"net revenue over the 12 months up to today, from the {documents.wording}"
    fields.append(FieldDef("revenue_12m", "number", lambda ctx: _revenue_12m(ctx, documents), doc=doc, tracked=True))
    return fields


def _revenue_12m(ctx: Context, documents: Documents) -> Expr:
    """The purchase documents (credit notes negative) dated in the 12 months up to today, counted as the metrics count them."""
    t = documents.table
    counted = sa.and_(documents.counted(ctx.today), Window(shift(ctx.today, -12, "month"), ctx.today).contains(t.c.date))
    total = sa.select(sa.func.coalesce(sa.func.sum(documents.signed(t)), 0)).where(t.c.partner_id == ctx.partner_id, counted)
    return sa.cast(total.scalar_subquery(), sa.Float())


def segment_registry(profile: ProfileSection | None = None, rfm: RfmSection | None = None, purchases_from: PurchasesFrom = "invoices") -> FieldRegistry:
    """What segment filters may use: the overlay's fields, the profile's custom fields and the metrics (defaults: default sections).

    `purchases_from` (`metrics.purchases_from`) says which documents `bought` and
    `revenue_12m` look at, so that they agree with the metrics.
    """
    registry = default_registry(dict((profile or ProfileSection()).custom_fields), purchases_from)
    for field in metrics_fields((rfm or RfmSection()).group_names(), purchases_from):
        registry.add(field)
    return registry
