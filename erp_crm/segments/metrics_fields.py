"""The customer metrics as filter fields: every figure of `crm_partner_metrics` by its column name.

They are tracked (`FieldDef.tracked`): a metrics run tells the change feed whose rows it wrote.

A partner without a metrics row (never computed, or deleted) has every metric empty, and
filters treat a test on an empty value as false (docs/filters.md, "Empty values"). The
figures are those of the last `erp-crm metrics compute`, as of its `as_of` (the field
`metrics_as_of`); `revenue_12m` alone is computed from the invoices, relative to the
filter's today.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from erp_crm.metrics.history import invoice_filter, signed_amount
from erp_crm.metrics.rfm import NO_PURCHASE, default_group_map
from erp_crm.model.tables import SYNCED, partner_metrics
from erp_crm.segments.fields import Context, Expr, FieldDef, FieldRegistry, Kind, Window, per_partner, shift

# Bookkeeping columns, and `complaints`, which the `complaints(within:)` predicate already counts.
_SKIPPED = ("partner_id", "source", "computed_at", "as_of", "complaints")


def rfm_groups(grid: Iterable[str] | None = None) -> tuple[str, ...]:
    """The RFM group names a filter may ask for: those of the grid (the default one if None), `no_purchase` and `unclassified`."""
    names = {*(default_group_map().values() if grid is None else grid), NO_PURCHASE, "unclassified"}
    return tuple(sorted(names))


def _kind(column: sa.Column[Any]) -> Kind:
    if isinstance(column.type, sa.Boolean):
        return "bool"
    if isinstance(column.type, sa.Integer | sa.Float | sa.Numeric):
        return "number"
    if isinstance(column.type, sa.Date | sa.DateTime):
        return "date"
    return "text"


def metrics_fields(groups: Iterable[str] | None = None) -> list[FieldDef]:
    """One field per metrics column; `groups`: the RFM group names of a configured grid (None: the default grid)."""
    fields = [
        FieldDef("metrics_as_of", "date", per_partner(partner_metrics.c.as_of), doc="the day the metrics were computed for", tracked=True)
    ]
    for column in partner_metrics.columns:
        if column.name in _SKIPPED:
            continue
        expression = per_partner(column)
        if column.name == "rfm_group":
            fields.append(FieldDef("rfm_group", "choice", expression, rfm_groups(groups), doc="the RFM group", tracked=True))
        else:
            fields.append(FieldDef(column.name, _kind(column), expression, doc=column.comment or f"metrics: {column.name}", tracked=True))
    fields.append(FieldDef("revenue_12m", "number", _revenue_12m, doc="net invoiced revenue over the 12 months up to today", tracked=True))
    return fields


def _revenue_12m(ctx: Context) -> Expr:
    """Invoices minus credit notes dated in the 12 months up to today, counted as the metrics count them."""
    inv = SYNCED["invoice"]
    counted = sa.and_(invoice_filter(ctx.today), Window(shift(ctx.today, -12, "month"), ctx.today).contains(inv.c.date))
    total = sa.select(sa.func.coalesce(sa.func.sum(signed_amount(inv)), 0)).where(inv.c.partner_id == ctx.partner_id, counted)
    return sa.cast(total.scalar_subquery(), sa.Float())


def add_metrics_fields(registry: FieldRegistry, groups: Iterable[str] | None = None) -> FieldRegistry:
    """Register the metrics fields in `registry` (see `metrics_fields`); returns it."""
    for field in metrics_fields(groups):
        registry.add(field)
    return registry


def segment_registry(custom: dict[str, Kind] | None = None, groups: Iterable[str] | None = None) -> FieldRegistry:
    """What segment filters may use: the overlay's fields and the metrics."""
    from erp_crm.segments.fields import default_registry

    return add_metrics_fields(default_registry(custom), groups)


__all__ = ["add_metrics_fields", "metrics_fields", "rfm_groups", "segment_registry"]
