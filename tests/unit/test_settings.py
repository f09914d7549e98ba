"""Settings: defaults, environment overrides, secrets, and one-line errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from erp_crm.errors import ConfigError
from erp_crm.settings.base import check_host, parse_duration
from erp_crm.settings.home import find_home
from erp_crm.settings.root import load_settings


def write(home: Path, text: str) -> Path:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "erp_crm.yaml").write_text(text, encoding="utf-8")
    return home


def test_defaults_anchor_sqlite_paths_at_the_home(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "{}\n"), environ={})
    assert settings.overlay.full_url().database == str(tmp_path / "var" / "crm.sqlite")
    assert settings.erp.require_read_only is True


def test_environment_overrides_nested_keys(tmp_path: Path) -> None:
    home = write(tmp_path, "erp:\n  url: sqlite:///var/a.sqlite\n")
    settings = load_settings(home, environ={"ERP_CRM__ERP__URL": "postgresql+psycopg://u@h/db", "ERP_CRM__ERP__BATCH_SIZE": "100"})
    assert settings.erp.url == "postgresql+psycopg://u@h/db"
    assert settings.erp.batch_size == 100


def test_password_comes_from_environment_and_is_hidden_in_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_CRM_ERP_PASSWORD", "t0p-s3cret")
    settings = load_settings(write(tmp_path, "erp:\n  url: postgresql+psycopg://reader@db/erp\n"))
    url = settings.erp.full_url()
    assert url is not None and url.password == "t0p-s3cret"
    assert "t0p-s3cret" not in url.render_as_string(hide_password=True)
    assert "t0p-s3cret" not in repr(settings)


def test_password_file_and_odbc(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("pw;with{braces}\n")
    settings = load_settings(write(tmp_path, "erp:\n  odbc: DRIVER={X};SERVER=s\n  dialect: mssql\n  password_file: secret.txt\n"), environ={})
    assert settings.erp.full_odbc() == "DRIVER={X};SERVER=s;PWD={pw;with{braces}}}"


def test_missing_password_file_names_the_key(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "erp:\n  url: postgresql+psycopg://r@h/d\n  password_file: nope.txt\n"), environ={})
    with pytest.raises(ConfigError, match=r"erp.password_file: cannot read .*nope.txt"):
        settings.erp.full_url()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("erp:\n  conector: odoo\n", r"erp_crm.yaml:2: erp.conector: unknown key"),
        ("erp:\n  batch_size: many\n", r"erp_crm.yaml:2: erp.batch_size: .*integer"),
        ("overlay:\n  url: not a url\n", r"erp_crm.yaml:2: overlay.url: .*database URL"),
        ("erp:\n  dialect: oracle\n", r"erp_crm.yaml:2: erp.dialect: .*'postgresql'"),
        ("erp:\n  lookback: soon\n", r"erp_crm.yaml:2: erp.lookback: .*duration"),
        ("erp: [1, 2\n", r"erp_crm.yaml:2: invalid YAML"),
        ("- just\n- a list\n", r"expected a mapping"),
        ("home: /tmp\n", r"erp_crm.yaml:1: home: unknown key"),
        ("metrics:\n  rfm:\n    groups: [[a, b, c, d, e]]\n", r"erp_crm.yaml:3: metrics.rfm.groups: "),
        ("metrics:\n  rfm:\n    groups:\n" + "      - [a, b, c, d, 'At Risk']\n" * 5, r"erp_crm.yaml:\d: metrics.rfm.groups: .*'At Risk'.*lower-case word"),
        ("metrics:\n  min_customers: 5\n  aggregate_in: sql\n", r"erp_crm.yaml:3: metrics.aggregate_in: .*'auto', 'database' or 'python'"),
        ("metrics:\n  aggregate_in: 'python; DROP TABLE crm_partner_day'\n", r"erp_crm.yaml:2: metrics.aggregate_in: .*'auto', 'database' or 'python'"),
        ("metrics:\n  aggregate_in: [database]\n", r"erp_crm.yaml:2: metrics.aggregate_in: "),
        ("profile:\n  custom_fields: {branch: colour}\n", r"erp_crm.yaml:2: profile.custom_fields.branch: .*'text'"),
        ("profile:\n  custom_fields: {Branch Office: text}\n", r"erp_crm.yaml:2: profile.custom_fields"),
        ("sms:\n  url: file:///etc/passwd\n", r"erp_crm.yaml:2: sms.url: .*only http:// and https:// URLs are used, not file:"),
        ("sms:\n  url: 'https://gw.hu/x\\r\\nX: 1'\n", r"erp_crm.yaml:2: sms.url: .*one line"),
        ("sms:\n  preset: twilio\n", r"erp_crm.yaml:1: sms: preset twilio needs account"),
        ("sms:\n  preset: vodafone\n", r"erp_crm.yaml:2: sms.preset"),
        ("sms:\n  auth: {kind: basic, env: X}\n", r"erp_crm.yaml:2: sms.auth: .*needs a username"),
        ("sms:\n  auth: {kind: bearer, token: abc}\n", r"erp_crm.yaml:2: sms.auth"),
        ("sms:\n  headers: {'X-A\\r\\nX-B': '1'}\n", r"erp_crm.yaml:2: sms.headers: .*not a field or header name"),
        ("sms:\n  success: {regex: '('}\n", r"erp_crm.yaml:2: sms.success.regex: .*not a regular expression"),
        ("webhooks:\n  'Bad Name': {url: 'https://x.hu', secret_env: S}\n", r"erp_crm.yaml:2: webhooks"),
        ("webhooks:\n  crm: {url: 'gopher://x.hu', secret_env: S}\n", r"erp_crm.yaml:2: webhooks.crm.url: .*not gopher:"),
        ("webhooks:\n  crm: {url: 'https://x.hu', secret: whsec_abc}\n", r"erp_crm.yaml:2: webhooks.crm"),
    ],
)
def test_mistakes_give_one_line_with_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert "\n" not in str(caught.value)


def test_find_home_explains_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ERP_CRM_HOME", raising=False)
    with pytest.raises(ConfigError, match="erp-crm init"):
        find_home(None)
    with pytest.raises(ConfigError, match="not an erp-crm home"):
        find_home(tmp_path / "elsewhere")
    write(tmp_path, "{}\n")
    assert find_home(None) == tmp_path


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), (45, 45)])
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


LONG_LABEL = "a" * 64 + ".example.com"


@pytest.mark.parametrize(
    "host, expected",
    [
        (LONG_LABEL, "host name label longer than 63 characters"),
        ("a..b", "empty label"),
        (".example.com", "empty label"),
        ("erp db.local", "a space or a control character"),
        ("x\ufffd.example", "not a host name that can be looked up .*Invalid character"),
        ("\u05d0a1.example", "not a host name that can be looked up .*BIDI"),
        (".".join(["b" * 63] * 5), "longer than 253 characters"),
    ],
    ids=["label-over-63", "empty-label", "leading-dot", "space", "no-idna-code", "bidi", "name-over-253"],
)
def test_host_names_the_resolver_refuses(host: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        check_host(host)


@pytest.mark.parametrize("host", ["db.example.com", "a" * 63 + ".example", "fqdn.example.", "bolt.példa.hu", "127.0.0.1", "::1", "[::1]", "erp_db", "srv\\SQLEXPRESS"])
def test_host_names_the_resolver_takes(host: str) -> None:
    assert check_host(host) == host
    host.encode("idna")  # and Python's resolver takes it too


@pytest.mark.parametrize(
    "text, key",
    [
        (f"overlay:\n  url: postgresql+psycopg://crm@{LONG_LABEL}/crm\n", "overlay.url"),
        (f"erp:\n  url: mysql+pymysql://crm@{LONG_LABEL}/erp\n", "erp.url"),
        (f"email:\n  smtp:\n    host: {LONG_LABEL}\n", "email.smtp.host"),
        (f"sms:\n  url: https://{LONG_LABEL}/send\n", "sms.url"),
        (f"webhooks:\n  crm: {{url: 'https://{LONG_LABEL}/hook', secret_env: S}}\n", "webhooks.crm.url"),
    ],
    ids=["overlay", "erp", "smtp", "sms", "webhook"],
)
def test_every_setting_that_names_a_host_refuses_one_the_resolver_refuses(tmp_path: Path, text: str, key: str) -> None:
    line = text.count("\n")
    with pytest.raises(ConfigError, match=rf"erp_crm.yaml:{line}: {key}: host name label longer than 63 characters$"):
        load_settings(write(tmp_path, text), environ={})


def test_a_host_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment ERP_CRM__ERP__URL: erp.url: host name 'a..b' has an empty label"):
        load_settings(write(tmp_path, "{}\n"), environ={"ERP_CRM__ERP__URL": "postgresql+psycopg://crm@a..b/erp"})
