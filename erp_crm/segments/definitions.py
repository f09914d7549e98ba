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
from erp_crm.model.tables.segments import segment
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


def load_config_segments(path: Path, registry: FieldRegistry, today: dt.date) -> list[SegmentDef]:
    """The segments of `path` (a home's config/segments.yaml), each filter parsed and checked against `registry`.

    No file: no built-in segments. Any mistake is a ConfigError of one line naming the
    file, the line, the segment and the place in the filter; a folder or a pipe in the
    file's place is such a mistake, not an absent file.
    """
    if not path.exists():
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


def config_names(path: Path) -> list[str]:
    """Segment names in the config file (config/segments.yaml), without checking the filters (for listing)."""
    if not path.exists():
        return []
    data = load_yaml(path).data
    items = data.get("segments") if isinstance(data, dict) else None
    return [str(n) for n in items] if isinstance(items, dict) else []
