"""The rules settings, connector definitions and segment files are held to, one defect each.

Duplicate keys, NaN and unordered RFM cut points, passwords in URLs, empty definitions,
unquoted `: ` in a filter: each was accepted or crashed before, and is now one line
naming the file, the line and the key. The broad attack list is test_yaml_attacks.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from erp_crm.errors import ConfigError
from erp_crm.segments.definitions import load_config_segments
from erp_crm.settings.root import load_settings
from erp_crm.sync.definition import load_definition
from tests.support.filter_registry import REGISTRY, TODAY
from tests.support.tiny_erp import CONNECTOR_FILE

SECRET = "s3cr3t-pw"


def settings_file(home: Path, text: str) -> Path:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "erp_crm.yaml").write_text(text, encoding="utf-8")
    return home


def refused(home: Path, pattern: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError, match=pattern) as caught:
        load_settings(home, environ=environ or {})
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_a_second_require_read_only_does_not_switch_the_guard_off(tmp_path: Path) -> None:
    home = settings_file(tmp_path, "erp:\n  connector: tiny\n  require_read_only: true\n  require_read_only: false\n")
    refused(home, r"erp_crm.yaml:4: erp.require_read_only: duplicate key \(first at line 3\)")


def test_merged_keys_may_be_overridden(tmp_path: Path) -> None:
    """`<<: *base` then a key of base is YAML's way to override, not a duplicate."""
    text = "metrics:\n  lapse: &base {no_purchase_days: 100, rhythm_factor: 2}\n  rfm: {group_on: f}\n"
    text += "  horizon_days: 30\nprofile:\n  custom_fields: {branch: text}\n"
    settings = load_settings(settings_file(tmp_path, text), environ={})
    assert settings.metrics.lapse.no_purchase_days == 100


@pytest.mark.parametrize(
    "cuts, problem",
    [
        ("[1, .nan, 3, 4]", "finite number"),
        ("[1, 2, 3, .inf]", "finite number"),
        ("[.nan, .nan, .nan, .nan]", "finite number"),
        ("[4, 3, 2, 1]", "four ascending numbers"),
        ("[1, 2, 3]", "too few items: item 4 is missing"),
    ],
)
def test_rfm_cut_points_are_four_ascending_finite_numbers(tmp_path: Path, cuts: str, problem: str) -> None:
    home = settings_file(tmp_path, f"metrics:\n  rfm:\n    frequency: {cuts}\n")
    refused(home, rf"erp_crm.yaml:3: metrics.rfm.frequency(\.\d)?: .*{problem}")


@pytest.mark.parametrize("key", ["horizon_days", "refit_days", "clv_months", "change_margin_minutes", "lapse: {no_purchase_days", "lapse: {no_purchase_days_by_group: {vip"])
def test_a_span_beyond_a_century_is_refused(tmp_path: Path, key: str) -> None:
    closing = "}" * key.count("{")
    home = settings_file(tmp_path, f"metrics:\n  {key}: 99999999999999{closing}\n")
    refused(home, r"erp_crm.yaml:2: metrics\..*less than or equal")


def test_a_non_text_key_at_the_top_is_unknown_not_a_crash(tmp_path: Path) -> None:
    refused(settings_file(tmp_path, "erp:\n  connector: tiny\n1: x\n"), r"erp_crm.yaml:3: 1: unknown key")


@pytest.mark.parametrize("section", ["erp", "overlay"])
def test_a_password_in_a_url_of_the_settings_file_is_refused(tmp_path: Path, section: str) -> None:
    home = settings_file(tmp_path, f"{section}:\n  url: postgresql+psycopg://crm:{SECRET}@db.local/crm\n")
    message = refused(home, rf"erp_crm.yaml:2: {section}.url: holds a password.*ERP_CRM_{section.upper()}_PASSWORD")
    assert SECRET not in message


def test_the_refusal_names_the_variable_the_section_reads(tmp_path: Path) -> None:
    home = settings_file(tmp_path, f"erp:\n  password_env: ERP_PW\n  url: postgresql+psycopg://crm:{SECRET}@db.local/erp\n")
    refused(home, r"the environment variable named by erp.password_env \(ERP_PW\)")


def test_a_user_without_a_password_is_fine(tmp_path: Path) -> None:
    home = settings_file(tmp_path, "erp:\n  url: postgresql+psycopg://crm@db.local/erp\noverlay:\n  url: mysql+pymysql://root:@h/d\n")
    assert load_settings(home, environ={}).erp.url == "postgresql+psycopg://crm@db.local/erp"


def test_an_environment_override_may_carry_the_password(tmp_path: Path) -> None:
    """The environment is where secrets live; a container may pass the whole URL."""
    home = settings_file(tmp_path, "erp:\n  url: postgresql+psycopg://crm@db.local/erp\n")
    settings = load_settings(home, environ={"ERP_CRM__ERP__URL": f"postgresql+psycopg://crm:{SECRET}@db.local/erp"})
    url = settings.erp.full_url()
    assert url is not None and url.password == SECRET


def connector(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connectors" / "tiny.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_password_in_a_definition_url_is_refused(tmp_path: Path) -> None:
    text = CONNECTOR_FILE.read_text(encoding="utf-8") + f"connection:\n  url: mysql+pymysql://crm:{SECRET}@h/erp\n"
    with pytest.raises(ConfigError, match=r"tiny.yaml:\d+: connection.url: holds a password") as caught:
        load_definition(connector(tmp_path, text))
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("entities", ["entities: {}\n", "entities:\n  # all of them commented out\n"])
def test_a_definition_that_maps_no_entity_is_refused(tmp_path: Path, entities: str) -> None:
    with pytest.raises(ConfigError, match=r"tiny.yaml:2: entities: "):
        load_definition(connector(tmp_path, "name: tiny\n" + entities))


@pytest.mark.parametrize(
    "line, hint",
    [
        ('    filter: city = "Győr": x', """must be quoted: filter: 'city = "Győr": x'"""),
        ("    filter: note contains a: b", "must be quoted: filter: 'note contains a: b'"),
        ("    filter: name = 'O''Brien': x", "must be quoted: filter: 'name = ''O''''Brien'': x'"),
    ],
)
def test_an_unquoted_colon_in_a_filter_gets_a_hint_to_quote_it(tmp_path: Path, line: str, hint: str) -> None:
    path = tmp_path / "segments.yaml"
    path.write_text(f"segments:\n  gyor:\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config_segments(path, REGISTRY, TODAY)
    assert str(caught.value).startswith(f"{path}:3: invalid YAML: mapping values are not allowed here")
    assert str(caught.value).endswith(hint)


def test_an_unquoted_colon_in_a_list_item_gets_the_hint_too(tmp_path: Path) -> None:
    """`- note contains a: b` is a mapping to YAML, so the filter language sees an odd key."""
    path = tmp_path / "segments.yaml"
    path.write_text("segments:\n  a:\n    filter:\n      any:\n        - key_account\n        - note contains a: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"segments.yaml:6: .*unknown key 'note contains a'; a text filter holding ': ' must be quoted"):
        load_config_segments(path, REGISTRY, TODAY)


@pytest.mark.parametrize(
    ("roles", "words"),
    [
        ("    Sales: [a]\n", r"erp_crm.yaml:2: chains.roles: role 'Sales': lower-case letters"),
        ("    sales: ['a b']\n", r"erp_crm.yaml:2: chains.roles: role sales: login 'a b': 1 to 200 characters without spaces"),
        ('    sales: ["x\\0y"]\n', r"erp_crm.yaml:3: character U\+0000 is not allowed"),
        ("    sales: kovacs\n", r"erp_crm.yaml:3: chains.roles.sales: "),
        ("    " + "r" * 41 + ": []\n", r"at most 40"),
    ],
)
def test_roles_are_names_with_lists_of_logins(tmp_path: Path, roles: str, words: str) -> None:
    refused(settings_file(tmp_path, "chains:\n  roles:\n" + roles), words)


def test_roles_default_to_sales_and_finance_with_nobody_in_them(tmp_path: Path) -> None:
    assert load_settings(settings_file(tmp_path, "logging: {}\n"), environ={}).chains.roles == {"sales": (), "finance": ()}
    given = load_settings(settings_file(tmp_path, "chains:\n  roles:\n    key_accounts: [kovacs.anna, nagy.eva]\n"), environ={})
    assert given.chains.roles == {"key_accounts": ("kovacs.anna", "nagy.eva")}
