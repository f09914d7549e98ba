"""The field registry the segment-filter tests compile against, with stand-in tables.

The overlay schema is the real one (erp_crm.model.tables); metrics, tags and consent
have no tables yet, so stand-ins are defined here and registered the way their owners
will (docs/filters.md, "Registering fields"). Filters are compiled for today = 2024-06-30.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from erp_crm.segments.fields import (
    Context,
    FieldDef,
    FieldRegistry,
    Param,
    PredicateDef,
    default_registry,
    per_partner,
    text_equals,
)

TODAY = date(2024, 6, 30)

stand_ins = sa.MetaData()
metrics = sa.Table(
    "test_metrics",
    stand_ins,
    sa.Column("partner_id", sa.Integer, primary_key=True),
    sa.Column("revenue_12m", sa.Numeric(18, 2)),
    sa.Column("last_purchase", sa.Date),
    sa.Column("rfm_group", sa.Text),
    sa.Column("lapsed_rule", sa.Boolean),
    sa.Column("lapse_score", sa.Float),
    sa.Column("p_alive", sa.Float),
)
tags = sa.Table("test_tag", stand_ins, sa.Column("partner_id", sa.Integer), sa.Column("tag", sa.Text))
consents = sa.Table(
    "test_consent",
    stand_ins,
    sa.Column("partner_id", sa.Integer),
    sa.Column("channel", sa.Text),
    sa.Column("granted", sa.Boolean),
)
RFM_GROUPS = ("champions", "loyal", "at_risk", "hibernating", "lost")


def _tag(ctx: Context, name: str) -> Any:
    return sa.exists().where(tags.c.partner_id == ctx.partner_id, text_equals(tags.c.tag, name))


def _consent(ctx: Context, channel: str) -> Any:
    granted = sa.and_(consents.c.channel == sa.literal(channel, sa.Text()), consents.c.granted.is_(True))
    return sa.exists().where(consents.c.partner_id == ctx.partner_id, granted)


def make_registry() -> FieldRegistry:
    """The overlay's fields plus metrics, tags and consent, as their owners would add them."""
    registry = default_registry({"branch": "text", "employees": "number"})
    for name, kind in (("revenue_12m", "number"), ("last_purchase", "date"), ("lapsed_rule", "bool")):
        registry.add(FieldDef(name, kind, per_partner(metrics.c[name])))  # type: ignore[arg-type]
    for name in ("lapse_score", "p_alive"):
        registry.add(FieldDef(name, "number", per_partner(metrics.c[name])))
    registry.add(FieldDef("rfm_group", "choice", per_partner(metrics.c.rfm_group), RFM_GROUPS))
    registry.add(PredicateDef("tag", {"name": Param("text", required=True)}, _tag, "has this tag"))
    channels = ("email", "sms", "phone", "post")
    registry.add(PredicateDef("consent", {"channel": Param("choice", True, channels)}, _consent, "agreed to contact"), replace=True)  # more channels than the real one
    return registry


REGISTRY = make_registry()
