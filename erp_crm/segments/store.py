"""Segment definitions: the built-in ones in the home's config/segments.yaml, users' ones in crm_segment.

Every segment, whatever its source, has a row in `crm_segment` (membership and events
point at it). A refresh first brings the rows of the config file's segments up to date
(`sync_config`); a segment removed from the file keeps its row and history but is no
longer refreshed. Users' segments (`save_segment`, for panels) live only in the table.
The stored filter is always the text form (`format_filter` of the parsed filter).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import ConfigError, UserError
from erp_crm.model.tables import SYNCED, segment, segment_event, segment_member
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import FieldRegistry
from erp_crm.segments.language import FilterError, Node, format_filter, parse_filter
from erp_crm.yamlfile import YamlDocument, load_yaml

SEGMENTS_FILE = Path("config") / "segments.yaml"
SEGMENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_KEYS = ("title", "filter")


@dataclass(frozen=True)
class SegmentDef:
    """A segment as defined: its name, title, parsed filter and where it comes from."""

    name: str
    title: str | None
    node: Node
    source: str  # "config" or "user"

    @property
    def text(self) -> str:
        return format_filter(self.node)


def _segment_error(doc: YamlDocument, name: str, err: FilterError) -> ConfigError:
    """One line: the file and line, the segment, and the place in its filter."""
    path = ("segments", name, "filter")
    where = err.where
    line = doc.where(path + tuple(where.path) if where is not None else path)
    place = f" {where}" if where is not None and str(where) else ""
    return ConfigError(f"{line}: segment {name}: filter{place}: {err.problem}")


def load_config_segments(home: Path, registry: FieldRegistry, today: dt.date) -> list[SegmentDef]:
    """The segments of `home`/config/segments.yaml, each filter parsed and checked against `registry`.

    No file: no built-in segments. Any mistake is a ConfigError of one line naming the
    file, the line, the segment and the place in the filter.
    """
    path = home / SEGMENTS_FILE
    if not path.is_file():
        return []
    doc = load_yaml(path)
    data = doc.data if isinstance(doc.data, dict) else None
    if data is None or set(data) - {"segments"}:
        raise ConfigError(f"{path}: expected one key, segments: a mapping of segment names to title and filter")
    items = data.get("segments") or {}
    if not isinstance(items, dict):
        raise ConfigError(f"{doc.where(('segments',))}: segments: expected a mapping of segment names to title and filter")
    out = []
    for name, body in items.items():
        here = doc.where(("segments", name))
        if not isinstance(name, str) or not SEGMENT_NAME.fullmatch(name):
            raise ConfigError(f"{here}: segment name {name!r}: lower-case letters, digits and _, starting with a letter")
        if not isinstance(body, dict) or "filter" not in body:
            raise ConfigError(f"{here}: segment {name}: expected a mapping with filter: (and title:)")
        unknown = [str(k) for k in body if k not in _KEYS]
        if unknown:
            raise ConfigError(f"{doc.where(('segments', name, unknown[0]))}: segment {name}: unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
        title = body.get("title")
        if title is not None and not isinstance(title, str):
            raise ConfigError(f"{doc.where(('segments', name, 'title'))}: segment {name}: title is text")
        try:
            node = parse_filter(body["filter"])
            compile_filter(node, registry, today)
        except FilterError as err:
            raise _segment_error(doc, name, err) from None
        out.append(SegmentDef(name, title, node, "config"))
    return out


def sync_config(conn: Connection, defs: Iterable[SegmentDef], now: dt.datetime) -> None:
    """Create or update the crm_segment rows of the config file's segments."""
    stored = {r.name: r for r in conn.execute(sa.select(segment.c.name, segment.c.title, segment.c.filter, segment.c.source))}
    for d in defs:
        row = stored.get(d.name)
        if row is None:
            conn.execute(sa.insert(segment).values(name=d.name, title=d.title, filter=d.text, source="config", updated_at=now))
        elif row.source != "config":
            raise UserError(f"segment {d.name} is defined in {SEGMENTS_FILE} and also saved by a user; rename one of them")
        elif (row.title, row.filter) != (d.title, d.text):
            conn.execute(sa.update(segment).where(segment.c.name == d.name).values(title=d.title, filter=d.text, updated_at=now))


def save_segment(conn: Connection, name: str, source: Any, registry: FieldRegistry, today: dt.date, title: str | None = None) -> SegmentDef:
    """Create or replace a user's segment; `source` is a filter in either form. FilterError if it does not fit."""
    if not SEGMENT_NAME.fullmatch(name):
        raise UserError(f"segment name {name!r}: lower-case letters, digits and _, starting with a letter")
    node = parse_filter(source)
    compile_filter(node, registry, today)
    d = SegmentDef(name, title, node, "user")
    row = conn.execute(sa.select(segment.c.id, segment.c.source).where(segment.c.name == name)).first()
    now = dt.datetime.now()
    if row is None:
        conn.execute(sa.insert(segment).values(name=name, title=title, filter=d.text, source="user", updated_at=now))
    elif row.source != "user":
        raise UserError(f"segment {name} is a built-in one from {SEGMENTS_FILE}; change it there")
    else:
        conn.execute(sa.update(segment).where(segment.c.id == row.id).values(title=title, filter=d.text, updated_at=now))
    return d


def user_segments(conn: Connection, registry: FieldRegistry, today: dt.date) -> list[SegmentDef]:
    """The users' segments stored in crm_segment, parsed and checked."""
    out = []
    for row in conn.execute(sa.select(segment.c.name, segment.c.title, segment.c.filter).where(segment.c.source == "user").order_by(segment.c.name)):
        try:
            node = parse_filter(row.filter)
            compile_filter(node, registry, today)
        except FilterError as err:
            raise UserError(f"segment {row.name} (saved in crm_segment): filter {err}") from None
        out.append(SegmentDef(row.name, row.title, node, "user"))
    return out


def list_segments(conn: Connection, config_names: Iterable[str]) -> list[dict[str, Any]]:
    """Every stored segment with its current member count and last refresh."""
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
    """A segment's definition, member count and latest events; UserError naming the known ones if absent."""
    row = conn.execute(sa.select(segment).where(segment.c.name == name)).mappings().first()
    if row is None:
        known = ", ".join(conn.execute(sa.select(segment.c.name).order_by(segment.c.name)).scalars()) or "none yet: run `erp-crm segments refresh`"
        raise UserError(f"no segment named {name!r} (known: {known})")
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


# ---------------------------------------------------------------- what the CLI prints


def list_text(settings: Any) -> str:
    """`segments list`: one line per stored segment."""
    from erp_crm.segments.refresh import read_overlay

    path = settings.home / SEGMENTS_FILE
    config_names = _file_names(path)
    rows = read_overlay(settings, lambda conn: list_segments(conn, config_names))
    stored = {r["name"] for r in rows}
    pending = [n for n in config_names if n not in stored]
    if not rows and not pending:
        return f"no segments: add some to {path}"
    width = max(len(n) for n in [*stored, *pending, "segment"])
    lines = [f"{'segment':<{width}} {'source':<7} {'members':>9}  refreshed            title"]
    for r in rows:
        refreshed = f"{r['refreshed_at']:%Y-%m-%d %H:%M:%S}" if r["refreshed_at"] else "never"
        note = "" if r["active"] else "  (no longer in the config file)"
        lines.append(f"{r['name']:<{width}} {r['source']:<7} {r['members']:>9,}  {refreshed:<20} {r['title'] or ''}{note}")
    for name in pending:
        lines.append(f"{name:<{width}} {'config':<7} {'-':>9}  {'never':<20} (not refreshed yet)")
    return "\n".join(lines)


def _file_names(path: Path) -> list[str]:
    """Segment names in the config file, without checking the filters (for listing)."""
    if not path.is_file():
        return []
    data = load_yaml(path).data
    items = data.get("segments") if isinstance(data, dict) else None
    return [str(n) for n in items] if isinstance(items, dict) else []


def show_text(settings: Any, name: str, as_json: bool = False) -> str:
    """`segments show NAME [--json]`."""
    import json

    from erp_crm.segments.refresh import read_overlay

    d = read_overlay(settings, lambda conn: segment_details(conn, name))
    if as_json:
        return json.dumps(d, indent=2, ensure_ascii=False, default=str)
    lines = [
        f"{d['name']}: {d['title'] or ''}",
        f"  source     {d['source']}",
        f"  filter     {d['filter']}",
        f"  members    {d['members']:,}",
        f"  refreshed  {d['refreshed_at'] or 'never'} (as of {d['refreshed_as_of'] or '-'})",
    ]
    if d["events"]:
        lines.append("  latest events:")
        lines += [f"    {e['at']:%Y-%m-%d %H:%M:%S}  {e['kind']:<7}  {e['erp_key']}  {e['name'] or ''}" for e in d["events"]]
    return "\n".join(lines)
