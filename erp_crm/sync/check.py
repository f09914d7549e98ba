"""`erp-crm check`: does the connector definition fit the live ERP?

Checks what loading a definition cannot: that every table and column exists, that the
columns' types can become the canonical kinds, that filters and SQL expressions run,
and that the connection cannot write.  It reads only the catalogue and `WHERE 1 = 0`
queries, so it is safe to run against production at any time.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from erp_crm.errors import SourceError
from erp_crm.metrics import purchases
from erp_crm.model.canonical import Kind
from erp_crm.settings.databases import ErpSettings
from erp_crm.settings.metrics import PurchasesFrom
from erp_crm.sync.definition import load_connector
from erp_crm.sync.plan import LinePlan, ReadPlan, build_plans
from erp_crm.sync.source import ErpSource

_CATALOG_SCHEMA = {"postgresql": "current_schema()", "mysql": "DATABASE()", "mssql": "SCHEMA_NAME()"}
_KINDS = (
    ("bool", ("bool", "bit")),
    ("number", ("int", "dec", "num", "real", "float", "double", "money", "serial")),
    ("temporal", ("date", "time")),
    ("text", ("char", "text", "clob", "string", "enum", "json", "uuid")),
)


def type_class(type_name: str) -> str:
    name = type_name.lower()
    for kind, words in _KINDS:
        if any(w in name for w in words):
            return kind
    return "other" if name else "text"  # SQLite columns may have no declared type


def _fit(kind: Kind, column_class: str) -> tuple[str, str] | None:
    """(level, message) when a column of this class is a poor source for the kind."""
    if kind in (Kind.DATE, Kind.DATETIME):
        if column_class == "temporal":
            return None
        if column_class == "text":
            return ("WARN", "is text: dates are parsed, bad ones go to quarantine")
        return ("FAIL", f"is {column_class}, cannot become a {kind.value}")
    if kind in (Kind.DECIMAL, Kind.INT):
        if column_class in ("number", "bool"):
            return None
        if column_class == "text":
            return ("WARN", "is text: numbers are parsed, bad ones go to quarantine")
        return ("FAIL", f"is {column_class}, cannot become a number")
    if kind is Kind.BOOL and column_class == "temporal":
        return ("FAIL", "is a date, cannot become yes/no")
    return None


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def add(self, level: str, text: str) -> None:
        if level == "FAIL":
            self.ok = False
        self.lines.append(f"{level:<5}{text}")


def _run(erp: ErpSource, statement: sa.ClauseElement) -> list[tuple[Any, ...]]:
    return [row for batch in erp.rows(erp.compile(statement), 1000) for row in batch]


def _table_columns(erp: ErpSource, table: str) -> dict[str, str]:
    """Column name → declared type, from the catalogue."""
    schema, _, name = table.rpartition(".")
    if erp.dialect_name == "sqlite":
        rows = _run(erp, sa.text("SELECT name, type FROM pragma_table_info(:t)").bindparams(t=name))
    else:
        owner = sa.literal(schema) if schema else sa.literal_column(_CATALOG_SCHEMA[erp.dialect_name])
        columns = sa.table("columns", sa.column("column_name"), sa.column("data_type"), sa.column("table_name"), sa.column("table_schema"), schema="information_schema")
        rows = _run(erp, sa.select(columns.c.column_name, columns.c.data_type).where(columns.c.table_name == name, columns.c.table_schema == owner))
    return {str(n): str(t or "") for n, t in rows}


def _tables(erp: ErpSource) -> list[str]:
    """Table and view names the connection sees, for "did you mean"."""
    if erp.dialect_name == "sqlite":
        return [r[0] for r in _run(erp, sa.text("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"))]
    tables = sa.table("tables", sa.column("table_name"), sa.column("table_schema"), schema="information_schema")
    owner: sa.ColumnClause[str] = sa.literal_column(_CATALOG_SCHEMA[erp.dialect_name])
    return [str(r[0]) for r in _run(erp, sa.select(tables.c.table_name).where(tables.c.table_schema == owner))]


def _did_you_mean(name: str, candidates: list[str]) -> str:
    hint = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def _query_columns(erp: ErpSource, plan: ReadPlan) -> list[str]:
    return erp.column_names(sa.select(sa.text("*")).select_from(plan.source).where(sa.false()))


def _find(name: str, columns: dict[str, str], case_sensitive: bool) -> str | None:
    if name in columns:
        return name
    if not case_sensitive:
        return next((c for c in columns if c.lower() == name.lower()), None)
    return None


def _check_entity(erp: ErpSource, plan: ReadPlan, report: CheckReport) -> int | None:
    """Report on one entity; return the rows that pass its filter (None: a check failed before they could be counted)."""
    spec, name = plan.spec, plan.entity.name
    source_label = spec.table or "query"
    try:
        columns = _table_columns(erp, spec.table) if spec.table else dict.fromkeys(_query_columns(erp, plan), "")
    except SourceError as exc:
        report.add("FAIL", f"{name}: the query does not run: {exc}")
        return None
    if not columns:
        table = (spec.table or "").rpartition(".")[2]
        report.add("FAIL", f"{name}: table {spec.table} not found" + _did_you_mean(table, _tables(erp)))
        return None
    case_sensitive = erp.dialect_name == "postgresql"
    problems = 0
    for selected in plan.mapper.select:
        if selected.column is None:
            continue
        found = _find(selected.column, columns, case_sensitive)
        if found is None:
            report.add("FAIL", f"{name}: column {selected.column!r} not in {source_label}" + _did_you_mean(selected.column, list(columns)))
            problems += 1
    if problems:
        return None
    for field_name, fspec in spec.fields.items():
        field = plan.entity.by_name[field_name]
        if fspec.column is None or fspec.map is not None or not spec.table:
            continue
        verdict = _fit(field.kind, type_class(columns[_find(fspec.column, columns, case_sensitive) or fspec.column]))
        if verdict:
            report.add(verdict[0], f"{name}.{field_name}: column {fspec.column} {verdict[1]}")
            problems += verdict[0] == "FAIL"
    try:
        count = _run(erp, sa.select(sa.func.count()).select_from(plan.source).where(*plan.whole_pass()))[0][0]
        _run(erp, plan.select(plan.whole_pass(), limit=1))
    except SourceError as exc:
        report.add("FAIL", f"{name}: the entity's query fails (filter or SQL expressions): {exc}")
        return None
    problems += _check_keys(erp, plan, report)
    if isinstance(plan, LinePlan):
        _check_orphans(erp, plan, report)
    if not problems:
        report.add("OK", f"{name}: {source_label}, {count:,} rows pass the filter")
    return int(count)


def _check_keys(erp: ErpSource, plan: ReadPlan, report: CheckReport) -> int:
    """Keys must name one row each: rows that share a key are quarantined, none of them taken."""
    name, key = plan.entity.name, ", ".join(plan.spec.key)
    try:
        shared = _run(erp, plan.shared_keys(plan.whole_pass(), limit=3, with_count=True))
        keyless = _run(erp, plan.keyless())[0][0]
    except SourceError as exc:
        report.add("WARN", f"{name}: could not test whether key {key} is unique: {exc}")
        return 0
    if keyless:
        report.add("WARN", f"{name}: {keyless:,} row{'' if keyless == 1 else 's'} {'has' if keyless == 1 else 'have'} no key ({key} empty): they go to quarantine")
    if not shared:
        return 0
    examples = ", ".join(f"{'|'.join(map(str, row[:-1]))!r} ({row[-1]} rows)" for row in shared)
    report.add("FAIL", f"{name}: key {key} is not unique: {examples}; such rows go to quarantine, none taken (a composite key lists several columns: docs/connectors.md)")
    return 1


def _check_orphans(erp: ErpSource, plan: LinePlan, report: CheckReport) -> None:
    """Lines whose document the ERP does not have are never read (lines are read through their documents): say how many."""
    query = plan.orphans()
    if query is None:
        return
    name, parent = plan.entity.name, plan.parent.entity.name
    try:
        orphans = _run(erp, query)[0][0]
    except SourceError as exc:
        report.add("WARN", f"{name}: could not count lines whose {parent} is missing: {exc}")
        return
    if orphans:
        lines = "1 line names" if orphans == 1 else f"{orphans:,} lines name"
        report.add("WARN", f"{name}: {lines} no {parent} or one the ERP does not have: lines are read through their {parent}, so these are never read")


def _read_only_line(erp: ErpSource, required: bool) -> tuple[str, str]:
    """FAIL where the sync would refuse to start (a role that can write, or one the check cannot read); WARN when the guard is off."""
    level = "FAIL" if required else "WARN"
    try:
        why = erp.can_write()
    except SourceError as exc:
        return level, str(exc)
    if why:
        return level, f"the connection can write ({why}); use a read-only role (docs/operations.md)"
    return "OK", "the connection is read-only"


def check_connector(settings: ErpSettings, purchases_from: PurchasesFrom = "invoices") -> CheckReport:
    """Every check, in order; the report says OK, WARN or FAIL per line (WARN too when no purchase of the kind the metrics count is mapped)."""
    definition = load_connector(settings)
    report = CheckReport()
    report.add("OK", f"connector {definition.name} ({definition.path}) is valid")
    with ErpSource(settings, definition) as erp:
        report.add("OK", f"connected to {erp.label}")
        report.add(*_read_only_line(erp, settings.require_read_only))
        rows = {plan.entity.name: _check_entity(erp, plan, report) for plan in build_plans(definition).values()}
    missing = purchases.in_connector(rows, purchases_from)
    if missing is not None:
        report.add("WARN", missing.line())
    report.lines.append("all checks passed" if report.ok else "some checks failed")
    return report
