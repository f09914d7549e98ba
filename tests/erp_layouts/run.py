"""Running `erp-crm check` and `erp-crm sync` on a home, and reading what the sync wrote.

The commands run in a child process through the same entry point as the console
script, so a test sees exactly what a sysadmin sees: the exit code and the lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from erp_crm.model.canonical import BY_NAME

_ENTRY = "from erp_crm.entrypoints.cli import main; main()"


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def erp_crm(home: Path, *args: str, timeout: float = 180) -> Outcome:
    """Run `erp-crm --home HOME ARGS...` and collect its exit code and output."""
    done = subprocess.run(
        [sys.executable, "-c", _ENTRY, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def sync_report(home: Path, *args: str) -> dict[str, Any]:
    """`erp-crm sync --json`: the run report; fails the test with the output if the run failed."""
    outcome = erp_crm(home, "sync", "--json", *args)
    assert outcome.code == 0, outcome.explain()
    return json.loads(outcome.stdout)


def overlay_engine(home: Path) -> sa.Engine:
    """The default overlay of a test home: `<home>/var/crm.sqlite`."""
    return sa.create_engine(f"sqlite:///{home / 'var' / 'crm.sqlite'}")


def overlay_counts(engine: sa.Engine, entities: list[str]) -> dict[str, int]:
    """Rows per entity the overlay holds and the ERP still has."""
    counts = {}
    with engine.connect() as conn:
        for name in entities:
            table = BY_NAME[name].table
            counts[name] = conn.exec_driver_sql(
                f"SELECT COUNT(*) FROM {table} WHERE erp_deleted_at IS NULL"
            ).scalar_one()
    return counts


def overlay_keys(engine: sa.Engine, entity: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.exec_driver_sql(f"SELECT erp_key FROM {BY_NAME[entity].table}").scalars())


def quarantined(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT entity, erp_key, reason FROM crm_quarantine")]


def invoice_row(engine: sa.Engine, erp_key: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT kind, amount_net, amount_tax, amount_total FROM crm_invoice WHERE erp_key = ?", (erp_key,)
        ).mappings().one()
    return {k: (Decimal(str(v)) if k.startswith("amount") and v is not None else v) for k, v in row.items()}


def unresolved_refs(engine: sa.Engine, entity: str) -> list[tuple[str, str, str]]:
    """(field, erp_key, referenced key) of references that kept a key but found no row."""
    found = []
    with engine.connect() as conn:
        for field in BY_NAME[entity].refs:
            rows = conn.exec_driver_sql(
                f"SELECT erp_key, {field.name}_key FROM {BY_NAME[entity].table} "
                f"WHERE {field.name}_key IS NOT NULL AND {field.name}_id IS NULL"
            )
            found += [(field.name, key, ref) for key, ref in rows]
    return found


def erp_home(tmp_path: Path, url: str, definition: Path, odbc_driver: Any = None) -> Path:
    """A test home reading the ERP at `url` with `definition`: through its SQLAlchemy
    driver, or through pyodbc when `odbc_driver` (the fixture) is given."""
    from tests.support.homes import make_home
    from tests.support.odbc import MARIADB_DRIVER, POSTGRESQL_DRIVER, odbc_connection_string

    if odbc_driver is None:
        return make_home(tmp_path, erp_url=url, connector=str(definition.resolve()))
    dialect = sa.engine.make_url(url).get_backend_name()
    odbc_driver(POSTGRESQL_DRIVER if dialect == "postgresql" else MARIADB_DRIVER)
    return make_home(tmp_path, odbc=odbc_connection_string(url), dialect=dialect, connector=str(definition.resolve()))


def build_layout(url: str, layout: Any) -> Any:
    """Build an ERP layout module's tables in the database at `url` and fill them."""
    engine = sa.create_engine(url)
    try:
        return layout.build(engine)
    finally:
        engine.dispose()


def assert_definition_fits(url: str, definition: Path, expected: Any) -> None:
    """Every table, column and expression exists; each filter selects the expected rows."""
    from tests.erp_layouts.check import load, schema_problems, source_counts

    spec = load(definition)
    engine = sa.create_engine(url)
    try:
        assert schema_problems(engine, spec) == []
        counts = source_counts(engine, spec)
    finally:
        engine.dispose()
    assert counts == {name: expected.counts[name] for name in spec["entities"]}


def check_and_sync(home: Path, definition: Path, expected: Any) -> None:
    """`erp-crm check`, `db upgrade` and three syncs; assert the overlay matches `expected`.

    The first sync must bring exactly the expected rows per entity, quarantine nothing,
    resolve every reference, leave out the rows the filters exclude and store the credit
    note with negative amounts; with nothing changed in the ERP, a second incremental run
    and a reconciliation must write nothing.
    """
    from tests.erp_layouts.check import load

    check = erp_crm(home, "check")
    assert check.code == 0, check.explain()
    upgrade = erp_crm(home, "db", "upgrade")
    assert upgrade.code == 0, upgrade.explain()

    mapped = list(load(definition)["entities"])
    want = {name: expected.counts[name] for name in mapped}
    first = sync_report(home)
    assert {e: r["read"] for e, r in first["entities"].items()} == want
    overlay = overlay_engine(home)
    try:
        assert overlay_counts(overlay, mapped) == want
        assert quarantined(overlay) == []
        for entity in mapped:
            assert unresolved_refs(overlay, entity) == [], entity
        for entity, keys in expected.excluded.items():
            assert not overlay_keys(overlay, entity) & set(keys), entity

        credit_note = invoice_row(overlay, expected.credit_note_key)
        assert credit_note["kind"] == "credit_note"
        assert credit_note["amount_total"] == expected.credit_note_total
        assert credit_note["amount_net"] < 0 and credit_note["amount_tax"] < 0

        # Nothing changed in the ERP: an incremental run and a reconciliation write nothing.
        for args in ((), ("--reconcile",)):
            again = sync_report(home, *args)
            for entity, row in again["entities"].items():
                assert row["inserted"] == row["updated"] == row["quarantined"] == row["deleted"] == 0, (args, entity, row)
        assert overlay_counts(overlay, mapped) == want
    finally:
        overlay.dispose()


def erp_execute(url: str, *statements: str) -> None:
    """Change the test ERP the way the ERP itself would: statements in one transaction."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def synced_home(tmp_path: Path, url: str, definition: Path) -> Path:
    """A home with its overlay created and a first sync done."""
    home = erp_home(tmp_path, url, definition)
    upgrade = erp_crm(home, "db", "upgrade")
    assert upgrade.code == 0, upgrade.explain()
    sync_report(home)
    return home


def overlay_value(home: Path, sql: str) -> Any:
    """One value from the home's overlay."""
    engine = overlay_engine(home)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar_one()
    finally:
        engine.dispose()
