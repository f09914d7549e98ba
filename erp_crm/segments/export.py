"""`erp-crm segments export`: a segment's current members as a campaign list, CSV or XLSX.

One row per current member, ordered by name: the partner's ERP key, name, tax number,
e-mail, phone, city and salesperson, when it entered the segment, and its main metrics.
CSV is UTF-8 with a byte order mark, so Excel reads Hungarian accents right, separated by
`;` by default (Excel's list separator in Hungarian settings) or `,`. XLSX is written by
pandas with openpyxl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.model.tables import SYNCED, partner_metrics, segment, segment_member

Format = Literal["csv", "xlsx"]
METRICS = (
    "rfm_group", "last_purchase", "recency_days", "purchase_days", "revenue_net", "avg_order_value",
    "p_alive", "clv_12m", "lapse_score", "lapsed_rule", "lapsed_rhythm", "lapsed_model", "lapse_reason_hu",
)  # fmt: skip


def members_frame(conn: Connection, name: str) -> pd.DataFrame:
    """The current members of segment `name` with their contact data and main metrics."""
    segment_id = conn.execute(sa.select(segment.c.id).where(segment.c.name == name)).scalar()
    if segment_id is None:
        known = ", ".join(conn.execute(sa.select(segment.c.name).order_by(segment.c.name)).scalars()) or "none yet: run `erp-crm segments refresh`"
        raise UserError(f"no segment named {name!r} (known: {known})")
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
            *(partner_metrics.c[c] for c in METRICS),
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


def write_members(frame: pd.DataFrame, output: Path, fmt: Format, separator: str = ";") -> None:
    """Write the list: CSV (UTF-8 with BOM) or XLSX."""
    if fmt == "csv":
        frame.to_csv(output, sep=separator, index=False, encoding="utf-8-sig")
    else:
        frame.to_excel(output, index=False, sheet_name="members", engine="openpyxl")


def export_segment(settings: Any, name: str, fmt: Format = "csv", output: Path | None = None, separator: str = ";") -> tuple[Path, int]:
    """Export segment `name`'s current members; returns the file written and the number of rows."""
    from erp_crm.segments.refresh import read_overlay

    output = output or Path(f"{name}.{fmt}")
    frame = read_overlay(settings, lambda conn: members_frame(conn, name))
    try:
        write_members(frame, output, fmt, separator)
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    return output, len(frame)
