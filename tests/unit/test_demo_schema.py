"""The demo ERP's Dolibarr tables, and connectors/dolibarr.yaml against their description."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from erp_crm.demo.dolibarr_schema import INDEXES, TABLES, create_schema, create_statements, render

DEFINITION = Path(__file__).resolve().parents[2] / "connectors" / "dolibarr.yaml"
_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(llx_\w+)\s+(?:AS\s+)?(\w+)", re.IGNORECASE)
_QUALIFIED = re.compile(r"\b([a-z]\w*)\.(\w+)\b")


def test_sqlite_ddl_creates_every_described_column() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        create_schema(conn)
        create_schema(conn, drop=True)  # rebuilding over an existing demo works
        for name, table in TABLES.items():
            columns = [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({name})")]
            assert columns == list(table.column_names), name
        indexes = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {name for _, name, _, _ in INDEXES} <= indexes


def test_mysql_ddl_is_dolibarrs_own() -> None:
    ddl = render("mariadb")
    assert "rowid integer AUTO_INCREMENT PRIMARY KEY" in ddl
    assert "tms timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP" in ddl
    assert "total_ttc double(24,8) DEFAULT 0" in ddl
    assert "fk_statut smallint DEFAULT 0 NOT NULL" in ddl
    assert "KEY idx_facturedet_fk_facture (fk_facture)" in ddl
    assert ddl.count("ENGINE=innodb") == len(TABLES)
    assert len(create_statements("mysql")) == len(TABLES)  # indexes inline: one statement per table
    with pytest.raises(ValueError):
        create_statements("oracle")


def test_postgresql_ddl_uses_serials() -> None:
    ddl = render("postgresql")
    assert "rowid SERIAL PRIMARY KEY" in ddl and "double precision" in ddl and "AUTO_INCREMENT" not in ddl


def _definition() -> dict:
    return yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))


def test_definition_reads_only_columns_dolibarr_has() -> None:
    """Every table, key, change column, field column and qualified column in a query exists."""
    for name, spec in _definition()["entities"].items():
        if "table" in spec:
            assert spec["table"] in TABLES, name
            have = set(TABLES[spec["table"]].column_names)
            keys = spec["key"] if isinstance(spec["key"], list) else [spec["key"]]
            wanted = set(keys) | ({spec["change"]} if isinstance(spec.get("change"), str) else set())
            for field in spec["fields"].values():
                if isinstance(field, str):
                    wanted.add(field)
                elif "column" in field:
                    wanted.add(field["column"])
            assert wanted <= have, (name, wanted - have)
        else:
            aliases = {alias: table for table, alias in _ALIAS.findall(spec["query"])}
            assert aliases and set(aliases.values()) <= set(TABLES), name
            for alias, column in _QUALIFIED.findall(spec["query"]):
                if alias in aliases:
                    assert column in TABLES[aliases[alias]].column_names, (name, f"{alias}.{column}")


def test_the_foreign_keys_the_sync_reads_by_are_indexed() -> None:
    first_columns = {(table, cols[0]) for table, _, cols, _ in INDEXES}
    for table, column in [
        ("llx_propaldet", "fk_propal"), ("llx_commandedet", "fk_commande"), ("llx_facturedet", "fk_facture"),
        ("llx_paiement_facture", "fk_facture"), ("llx_paiement_facture", "fk_paiement"),
        ("llx_socpeople", "fk_soc"), ("llx_propal", "fk_soc"), ("llx_commande", "fk_soc"),
        ("llx_facture", "fk_soc"), ("llx_element_element", "fk_target"), ("llx_societe_commerciaux", "fk_soc"),
        ("llx_categorie_product", "fk_product"), ("llx_categorie_societe", "fk_soc"), ("llx_ticket", "fk_soc"),
    ]:
        assert (table, column) in first_columns, (table, column)
