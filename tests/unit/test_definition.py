"""Connector definitions: the shipped ones load, and mistakes point at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from erp_crm.errors import ConfigError
from erp_crm.settings.home import DEFAULTS_DIR
from erp_crm.sync.definition import find_definition, load_definition

SHIPPED = sorted((DEFAULTS_DIR / "connectors").glob("*.yaml"))

BASE = """\
name: t
params: {entity: 1}
entities:
  partner:
    table: soc
    key: rowid
    fields:
      name: nom
  invoice:
    table: fac
    key: rowid
    filter: "entity = :entity"
    fields:
      partner: fk_soc
      date: datef
      kind: {column: type, map: {0: invoice, 2: credit_note}}
"""


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return load_definition(path)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_definitions_load(path: Path) -> None:
    definition = load_definition(path)
    assert definition.entities, path
    assert "partner" in definition.entities and "invoice" in definition.entities


def test_a_valid_definition_orders_entities_by_dependency(tmp_path: Path) -> None:
    definition = load(tmp_path, BASE)
    assert [e.name for e, _ in definition.ordered()] == ["partner", "invoice"]
    assert definition.entities["invoice"].fields["kind"].map == {0: "invoice", 2: "credit_note"}
    assert definition.entities["partner"].key == ["rowid"]


@pytest.mark.parametrize(
    "change, expected",
    [
        (("  partner:\n", "  partnr:\n"), r"t.yaml:4: entities.partnr: unknown entity"),
        (("      name: nom\n", "      name: nom\n      nickname: x\n"), r"t.yaml:9: entities.partner.fields.nickname: unknown field of partner"),
        (("2: credit_note", "2: refund"), r"t.yaml:16: entities.invoice.fields.kind: 'refund' is not a invoice kind"),
        (("      date: datef\n", ""), r"entities.invoice.fields: required field 'date' is not mapped"),
        (("    key: rowid\n    fields:\n      name", "    fields:\n      name"), r"t.yaml:4: entities.partner.key: required key is missing"),
        (("    table: soc\n", "    table: soc\n    query: SELECT 1\n"), r"entities.partner: .*exactly one of table or query"),
        (("entity = :entity", "entity = :company"), r"entities.invoice.filter: uses :company but params has no 'company'"),
        (("      date: datef\n", "      date: {column: datef, sql: x}\n"), r"fields.date: .*exactly one of column, sql or value"),
        (("      date: datef\n", "      date: datef\n      amount_net: {column: t, negate_when: {column: type, in: []}}\n"), r"negate_when.in"),
        (("name: t\n", "name: T-1\n"), r"t.yaml:1: name: String should match pattern"),
    ],
)
def test_mistakes_point_at_the_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in BASE
    with pytest.raises(ConfigError, match=expected) as caught:
        load(tmp_path, BASE.replace(change[0], change[1], 1))
    assert "\n" not in str(caught.value)


def test_required_reference_to_an_unmapped_entity(tmp_path: Path) -> None:
    text = BASE.replace("  partner:\n    table: soc\n    key: rowid\n    fields:\n      name: nom\n", "")
    with pytest.raises(ConfigError, match="entities.invoice.fields.partner: refers to partner, which this definition does not map"):
        load(tmp_path, text)


def test_lines_without_change_column_must_name_their_parent_by_column(tmp_path: Path) -> None:
    text = BASE + "  invoice_line:\n    table: det\n    key: rowid\n    fields:\n      invoice: {sql: \"fk + 0\"}\n"
    with pytest.raises(ConfigError, match="invoice_line.fields.invoice: must be a column"):
        load(tmp_path, text)


def test_find_definition_prefers_the_home(tmp_path: Path) -> None:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "dolibarr.yaml").write_text(BASE)
    assert find_definition("dolibarr", tmp_path) == tmp_path / "connectors" / "dolibarr.yaml"
    assert find_definition("odoo", tmp_path) == DEFAULTS_DIR / "connectors" / "odoo.yaml"
    with pytest.raises(ConfigError, match="no connector definition named 'sage'"):
        find_definition("sage", tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        find_definition("custom/none.yaml", tmp_path)


def test_params_bind_in_queries_and_are_refused_in_sql_expressions(tmp_path: Path) -> None:
    text = BASE.replace("    table: soc\n", "    query: \"SELECT * FROM soc WHERE entity = :entity\"\n")
    assert load(tmp_path, text).entities["partner"].query
    with pytest.raises(ConfigError, match="entities.partner.query: uses :tenant but params has no 'tenant'"):
        load(tmp_path, text.replace(":entity\"", ":tenant\""))
    with pytest.raises(ConfigError, match="parameters .* not in sql expressions"):
        load(tmp_path, BASE.replace("      name: nom\n", "      name: {sql: \"CASE WHEN x = :entity THEN nom END\"}\n"))


def test_a_section_with_only_comments_is_empty(tmp_path: Path) -> None:
    definition = load(tmp_path, BASE.replace("params: {entity: 1}\n", "params: {entity: 1}\nconnection:\n  # url: mysql+pymysql://reader@host/db\n"))
    assert definition.connection.url is None
