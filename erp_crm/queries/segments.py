"""Segments as people see them: the list with member counts, one segment's details and latest events, its members."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.synced import SYNCED

# The metrics a campaign list carries beside the contact data.
MEMBER_METRICS = (
    "rfm_group", "last_purchase", "recency_days", "purchase_days", "revenue_net", "avg_order_value",
    "p_alive", "clv_12m", "lapse_score", "lapsed_score", "lapsed_rule", "lapsed_rhythm", "lapsed_model", "lapse_reason",
)  # fmt: skip


def _find(conn: Connection, name: str) -> sa.RowMapping:
    """The segment's row; a UserError naming the known segments if there is none of that name."""
    row = conn.execute(sa.select(segment).where(segment.c.name == name)).mappings().first()
    if row is None:
        known = ", ".join(conn.execute(sa.select(segment.c.name).order_by(segment.c.name)).scalars()) or "none yet: run `erp-crm segments refresh`"
        raise UserError(f"no segment named {name!r} (known: {known})")
    return row


def list_segments(conn: Connection, config_names: Iterable[str]) -> list[dict[str, Any]]:
    """Every stored segment with its current member count and last refresh; `active` unless gone from the config file."""
    members = (
        sa.select(segment_member.c.segment_id, sa.func.count().label("n"))
        .where(segment_member.c.left_at.is_(None))
        .group_by(segment_member.c.segment_id)
        .subquery()
    )
    query = (
        sa.select(segment, sa.func.coalesce(members.c.n, 0).label("members"))
        .outerjoin(members, members.c.segment_id == segment.c.id)
        .order_by(segment.c.name)
    )
    names = set(config_names)
    rows = []
    for r in conn.execute(query).mappings():
        row = dict(r)
        row["active"] = row["source"] == "user" or row["name"] in names
        rows.append(row)
    return rows


def segment_details(conn: Connection, name: str, events: int = 20) -> dict[str, Any]:
    """A segment's definition, member count and latest events."""
    row = _find(conn, name)
    details = dict(row)
    details["members"] = conn.execute(
        sa.select(sa.func.count()).where(segment_member.c.segment_id == row["id"], segment_member.c.left_at.is_(None))
    ).scalar_one()
    partner = SYNCED["partner"]
    latest = (
        sa.select(segment_event.c.kind, segment_event.c.at, partner.c.erp_key, partner.c.name)
        .join(partner, partner.c.id == segment_event.c.partner_id)
        .where(segment_event.c.segment_id == row["id"])
        .order_by(segment_event.c.id.desc())
        .limit(events)
    )
    details["events"] = [dict(e) for e in conn.execute(latest).mappings()]
    return details


def members_frame(conn: Connection, name: str) -> pd.DataFrame:
    """The current members of segment `name` with their contact data and main metrics (`MEMBER_METRICS`), by name."""
    segment_id = _find(conn, name)["id"]
    partner, user, m = SYNCED["partner"], SYNCED["user"], segment_member
    query = (
        sa.select(
            partner.c.erp_key.label("partner_key"),
            partner.c.name,
            partner.c.tax_number,
            partner.c.email,
            partner.c.phone,
            partner.c.city,
            user.c.name.label("salesperson"),
            m.c.entered_at,
            *(partner_metrics.c[c] for c in MEMBER_METRICS),
        )
        .select_from(m)
        .join(partner, partner.c.id == m.c.partner_id)
        .outerjoin(user, user.c.id == partner.c.salesperson_id)
        .outerjoin(partner_metrics, partner_metrics.c.partner_id == partner.c.id)
        .where(m.c.segment_id == segment_id, m.c.left_at.is_(None))
        .order_by(partner.c.name, partner.c.id)
    )
    result = conn.execute(query)
    frame = pd.DataFrame.from_records(result.all(), columns=list(result.keys()))
    frame["entered_at"] = pd.to_datetime(frame["entered_at"]).dt.floor("s")
    return frame
