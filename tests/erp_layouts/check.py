"""Checks of a connector definition against a database, independent of the sync engine.

`schema_problems` proves that every table, column and SQL expression a definition uses
exists in (and compiles against) a database built with the ERP's layout, the way
`erp-crm check` must find it; `source_counts` counts what each entity's source and
filter select, which is what a sync must bring into the overlay.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

_TABLE_REF = re.compile(r'\b(?:FROM|JOIN)\s+("[^"]+"|`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)', re.IGNORECASE)


def load(path: Path) -> dict[str, Any]:
    """The definition as plain data (no engine involved)."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _field_specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"column": f} if isinstance(f, str) else f for f in spec["fields"].values()]


def _parts(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The change spec, every field spec and every negate_when condition, as mappings."""
    change = spec.get("change")
    parts = [{"column": change} if isinstance(change, str) else change or {}]
    for field in _field_specs(spec):
        parts += [field, field.get("negate_when") or {}]
    return parts


def referenced_columns(spec: dict[str, Any]) -> set[str]:
    """Columns an entity names directly: key, change column, field columns, negate_when columns."""
    keys = spec["key"] if isinstance(spec["key"], list) else [spec["key"]]
    return set(keys) | {part["column"] for part in _parts(spec) if part.get("column")}


def expressions(spec: dict[str, Any]) -> list[str]:
    """SQL expressions an entity uses: change, field and negate_when `sql`."""
    return [part["sql"] for part in _parts(spec) if part.get("sql")]


def _quote(engine: sa.Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def source_sql(engine: sa.Engine, spec: dict[str, Any]) -> str:
    """The entity's rows as a sub-select named `src`, its filter applied."""
    if spec.get("table"):
        source = f"SELECT * FROM {_quote(engine, spec['table'])}"
    else:
        source = spec["query"]
    where = f" WHERE {spec['filter']}" if spec.get("filter") else ""
    return f"SELECT * FROM ({source}) src{where}"


def _existing_tables(conn: sa.Connection) -> set[str]:
    schema = "DATABASE()" if conn.dialect.name == "mysql" else "current_schema()"
    rows = conn.exec_driver_sql(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = {schema}"
    ).scalars()
    return set(rows)


def _existing_columns(conn: sa.Connection, table: str) -> set[str]:
    schema = "DATABASE()" if conn.dialect.name == "mysql" else "current_schema()"
    placeholder = "%s" if conn.dialect.name == "mysql" else "%(t)s"
    params: Any = (table,) if conn.dialect.name == "mysql" else {"t": table}
    rows = conn.exec_driver_sql(
        f"SELECT column_name FROM information_schema.columns WHERE table_schema = {schema} "
        f"AND table_name = {placeholder}",
        params,
    ).scalars()
    return set(rows)


def schema_problems(engine: sa.Engine, definition: dict[str, Any]) -> list[str]:
    """Everything the definition uses that the database does not have; empty when all fit."""
    problems: list[str] = []
    with engine.connect() as conn:
        tables = _existing_tables(conn)
        for name, spec in definition["entities"].items():
            wanted = referenced_columns(spec)
            if spec.get("table"):
                table = spec["table"]
                if table not in tables:
                    problems.append(f"{name}: table {table} does not exist")
                    continue
                have = _existing_columns(conn, table)
            else:
                for ref in _TABLE_REF.findall(spec["query"]):
                    table = ref.strip('"`')
                    if table not in tables:
                        problems.append(f"{name}: query reads {table}, which does not exist")
                try:
                    result = conn.exec_driver_sql(f"SELECT * FROM ({spec['query']}) src WHERE 1 = 0")
                    have = set(result.keys())
                    result.close()
                except sa.exc.DBAPIError as exc:
                    problems.append(f"{name}: query fails: {exc.orig}")
                    conn.rollback()
                    continue
            for column in sorted(wanted - have):
                problems.append(f"{name}: column {column} does not exist")
            for expr in expressions(spec) + ([spec["filter"]] if spec.get("filter") else []):
                try:
                    conn.exec_driver_sql(f"SELECT {expr} FROM ({source_sql(engine, spec)}) e WHERE 1 = 0").close()
                except sa.exc.DBAPIError as exc:
                    problems.append(f"{name}: expression {expr!r} fails: {exc.orig}")
                    conn.rollback()
    return problems


def source_counts(engine: sa.Engine, definition: dict[str, Any]) -> dict[str, int]:
    """Rows each entity's source selects after its filter."""
    counts = {}
    with engine.connect() as conn:
        for name, spec in definition["entities"].items():
            counts[name] = conn.exec_driver_sql(f"SELECT COUNT(*) FROM ({source_sql(engine, spec)}) c").scalar_one()
    return counts
