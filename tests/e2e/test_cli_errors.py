"""The CLI in the hands of a careless user: every mistake is one clear line, never a traceback.

Each case runs `erp-crm` in a subprocess, as a user would, and asserts what the
settings promise: a non-zero exit, exactly one line on stderr naming the file, key or
entity at fault and what is expected, no traceback (unless `--debug`), and no secret
in the output or the log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.homes import make_home
from tests.support.tiny_erp import CONNECTOR_FILE, TinyErp, install_connector

ERP_CRM = [sys.executable, "-c", "from erp_crm.entrypoints.cli import main; main()"]
SECRET = "s3cr3t-xyz"
CLOSED_PG = "postgresql+psycopg://crm_reader@127.0.0.1:1/erp"  # nothing listens on port 1
LEVELS = ("OK ", "WARN ", "FAIL ")


def erp_crm(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command with a clean environment (no ERP_CRM* from the caller) plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERP_CRM")}
    return subprocess.run([*ERP_CRM, *args], capture_output=True, text=True, env={**clean, **(env or {})}, cwd=cwd, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """Assert the run failed with one traceback-free line on stderr that contains every name; return it."""
    shown = f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode != 0, shown
    assert "Traceback" not in done.stdout + done.stderr, shown
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr\n{shown}"
    for name in names:
        assert name in lines[0], f"{name!r} not named\n{shown}"
    return lines[0]


def write_home(tmp_path: Path, config: str, name: str = "home") -> Path:
    """A home whose `config/erp_crm.yaml` is exactly `config` (so line numbers are known), with the tiny connector."""
    home = tmp_path / name
    (home / "config").mkdir(parents=True)
    (home / "config" / "erp_crm.yaml").write_text(config, encoding="utf-8")
    install_connector(home)
    return home


def config_of(home: Path) -> str:
    return str(home / "config" / "erp_crm.yaml")


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of `text` containing `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def no_secret(home: Path, secret: str, *runs: subprocess.CompletedProcess[str]) -> None:
    """Assert `secret` is neither in the runs' output nor in any log file of the home."""
    for done in runs:
        assert secret not in done.stdout and secret not in done.stderr, "the password was printed"
    logs = home / "var" / "log"
    for path in logs.rglob("*") if logs.is_dir() else ():
        assert secret not in path.read_text(encoding="utf-8", errors="replace"), f"the password is in {path}"


@pytest.fixture
def tiny_sqlite(tmp_path: Path) -> str:
    """A small tiny-ERP SQLite file's URL."""
    url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    TinyErp.create(url, partners=5, invoices=10, lines=20).dispose()
    return url


@pytest.fixture(scope="session")
def upgraded_overlay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite overlay at the newest schema, made once (by the command itself) and copied into homes."""
    home = make_home(tmp_path_factory.mktemp("template"), connector=None)
    upgraded = erp_crm("--home", str(home), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return home / "var" / "crm.sqlite"


def with_overlay(home: Path, upgraded: Path) -> Path:
    """Give `home` its default overlay (var/crm.sqlite), already at the newest schema."""
    (home / "var").mkdir(exist_ok=True)
    shutil.copyfile(upgraded, home / "var" / "crm.sqlite")
    return home


@pytest.fixture
def tiny_home(tmp_path: Path, tiny_sqlite: str, upgraded_overlay: Path) -> Callable[..., Path]:
    """Make a home on the tiny ERP with an upgraded overlay; `connector` replaces the definition's text."""

    def make(connector: str | None = None, **erp: object) -> Path:
        home = make_home(tmp_path, erp_url=tiny_sqlite, connector="tiny", extra={"erp": erp})
        install_connector(home)
        if connector is not None:
            (home / "connectors" / "tiny.yaml").write_text(connector, encoding="utf-8")
        return with_overlay(home, upgraded_overlay)

    return make


# -- the settings file --------------------------------------------------------------------


def test_unknown_key_names_file_line_and_key(tmp_path: Path, tiny_sqlite: str) -> None:
    config = f"erp:\n  connector: tiny\n  url: {tiny_sqlite}\n  batch_sise: 500\n"
    home = write_home(tmp_path, config)
    line = one_line_error(erp_crm("--home", str(home), "sync"), f"{config_of(home)}:4", "erp.batch_sise", "unknown key")
    assert line.startswith("error: ")


def test_wrong_type_says_what_is_expected(tmp_path: Path) -> None:
    home = write_home(tmp_path, "erp:\n  connector: tiny\n  batch_size: many\n")
    one_line_error(erp_crm("--home", str(home), "sync"), f"{config_of(home)}:3", "erp.batch_size", "integer")


def test_bad_duration_says_what_is_expected(tmp_path: Path) -> None:
    home = write_home(tmp_path, "erp:\n  lookback: 10 minutes\n")
    one_line_error(erp_crm("--home", str(home), "check"), f"{config_of(home)}:2", "erp.lookback", "10m")


def test_bad_overlay_url_says_what_is_expected(tmp_path: Path) -> None:
    home = write_home(tmp_path, "overlay:\n  url: my database\n")
    one_line_error(erp_crm("--home", str(home), "db", "upgrade"), f"{config_of(home)}:2", "overlay.url", "sqlite:///")


@pytest.mark.parametrize(
    ("config", "line"),
    [("erp:\n  url: [sqlite:///x\n", 3), ("erp:\n\tconnector: tiny\n", 2), ("erp:\n  url: a\n url: b\n", 3)],
    ids=["unclosed-list", "tab", "bad-indent"],
)
def test_invalid_yaml_names_file_and_line(tmp_path: Path, config: str, line: int) -> None:
    home = write_home(tmp_path, config)
    message = one_line_error(erp_crm("--home", str(home), "sync"), config_of(home), "invalid YAML")
    found = re.search(re.escape(config_of(home)) + r":(\d+)", message)
    assert found and abs(int(found.group(1)) - line) <= 1, message


def test_config_that_is_not_a_mapping(tmp_path: Path) -> None:
    home = write_home(tmp_path, "- erp\n- overlay\n")
    one_line_error(erp_crm("--home", str(home), "sync"), config_of(home), "mapping")


def test_section_that_is_not_a_mapping(tmp_path: Path) -> None:
    home = write_home(tmp_path, "erp: tiny\n")
    one_line_error(erp_crm("--home", str(home), "sync"), f"{config_of(home)}:1", "erp")


def test_missing_home(tmp_path: Path) -> None:
    missing = tmp_path / "nohome"
    one_line_error(erp_crm("--home", str(missing), "sync"), str(missing), "config/erp_crm.yaml", "erp-crm init")


def test_no_home_in_the_current_folder(tmp_path: Path) -> None:
    one_line_error(erp_crm("sync", cwd=tmp_path), str(tmp_path), "config/erp_crm.yaml", "--home", "ERP_CRM_HOME")


def test_home_from_the_environment_that_is_not_one(tmp_path: Path) -> None:
    one_line_error(erp_crm("check", env={"ERP_CRM_HOME": str(tmp_path)}), str(tmp_path), "config/erp_crm.yaml")


def test_environment_override_of_the_wrong_type_names_the_variable(tmp_path: Path, tiny_sqlite: str) -> None:
    # The value comes from the environment, not from the file: pointing at a line of the
    # file (where batch_size is not even written) sends the user looking in the wrong place.
    home = write_home(tmp_path, f"erp:\n  connector: tiny\n  url: {tiny_sqlite}\n")
    one_line_error(erp_crm("--home", str(home), "sync", env={"ERP_CRM__ERP__BATCH_SIZE": "many"}), "ERP_CRM__ERP__BATCH_SIZE", "integer")


def test_unknown_connector_names_the_key_and_where_it_looked(tmp_path: Path, tiny_sqlite: str) -> None:
    home = write_home(tmp_path, f"erp:\n  connector: tiyn\n  url: {tiny_sqlite}\n")
    one_line_error(erp_crm("--home", str(home), "sync"), "'tiyn'", str(home / "connectors"), "erp.connector")


LONG_LABEL = "a" * 64 + ".example.com"


@pytest.mark.parametrize(
    ("command", "config", "key"),
    [
        (("db", "upgrade"), "overlay:\n  url: postgresql+psycopg://crm@HOST/crm\n", "overlay.url"),
        (("check",), "erp:\n  connector: tiny\n  url: postgresql+psycopg://crm@HOST/erp\n", "erp.url"),
        (("sync",), "erp:\n  connector: tiny\n  url: mysql+pymysql://crm@HOST/erp\n", "erp.url"),
        (("outbox", "dispatch"), "email:\n  sender: crm@example.hu\n  smtp:\n    host: HOST\n", "email.smtp.host"),
        (("outbox", "dispatch"), "sms:\n  url: https://HOST/send\n", "sms.url"),
        (("outbox", "dispatch"), "webhooks:\n  crm: {url: 'https://HOST/hook', secret_env: S}\n", "webhooks.crm.url"),
    ],
    ids=["db-upgrade-overlay", "check-erp", "sync-erp", "dispatch-smtp", "dispatch-sms", "dispatch-webhook"],
)
def test_a_host_name_the_resolver_refuses_is_one_line_naming_file_line_and_key(tmp_path: Path, command: tuple[str, ...], config: str, key: str) -> None:
    """Python's IDNA codec refuses a label over 63 characters with a UnicodeError from inside a connection: it was an internal error (exit 70)."""
    config = config.replace("HOST", LONG_LABEL)
    home = write_home(tmp_path, config)
    done = erp_crm("--home", str(home), *command)
    one_line_error(done, f"{config_of(home)}:{line_of(config, LONG_LABEL)}:", f"{key}: host name label longer than 63 characters")
    assert done.returncode == 2


@pytest.mark.parametrize(("host", "words"), [("erp..example.com", "empty label"), ("erp db", "a space"), ("erp\ufffd.example", "Invalid character")])
def test_other_host_names_the_resolver_refuses_are_one_line_too(tmp_path: Path, host: str, words: str) -> None:
    config = f"erp:\n  connector: tiny\n  url: 'postgresql+psycopg://crm@{host}/erp'\n"
    home = write_home(tmp_path, config)
    done = erp_crm("--home", str(home), "check")
    one_line_error(done, f"{config_of(home)}:3:", "erp.url: ", words)
    assert done.returncode == 2


@pytest.mark.parametrize(
    ("command", "config", "key"),
    [
        (("db", "upgrade"), f"overlay:\n  url: 'postgresql+psycopg://crm@/crm?host={LONG_LABEL}'\n", "overlay.url"),
        (("check",), f"erp:\n  connector: tiny\n  url: 'postgresql+psycopg://crm@/erp?host={LONG_LABEL}'\n", "erp.url"),
    ],
    ids=["db-upgrade-overlay", "check-erp"],
)
def test_a_refused_host_the_settings_cannot_see_is_one_line_naming_the_key(tmp_path: Path, command: tuple[str, ...], config: str, key: str) -> None:
    """A host in the URL's query reaches the driver's resolver: the connection names the key instead of an internal error."""
    done = erp_crm("--home", str(write_home(tmp_path, config)), *command)
    one_line_error(done, f"{key}: not a host name that can be looked up (label")
    assert done.returncode == 2


# -- reaching the ERP and the overlay ---------------------------------------------------------


@pytest.mark.parametrize("command", ["sync", "check"])
def test_unreachable_postgresql_erp(tiny_home: Callable[..., Path], command: str) -> None:
    home = tiny_home(url=CLOSED_PG)
    one_line_error(erp_crm("--home", str(home), command), "127.0.0.1:1", "erp.url")


@pytest.mark.parametrize("command", ["sync", "check"])
def test_erp_sqlite_file_that_does_not_exist(tiny_home: Callable[..., Path], tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nowhere" / "erp.sqlite"
    home = tiny_home(url=f"sqlite:///{missing}")
    one_line_error(erp_crm("--home", str(home), command), str(missing), "erp.url")
    assert not missing.exists(), "a missing ERP file must not be created"


def test_password_is_never_printed_when_the_connection_fails(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home(url="postgresql+psycopg://no_such_role_xyz@127.0.0.1:5432/postgres")
    env = {"ERP_CRM_ERP_PASSWORD": SECRET}
    runs = [erp_crm("--home", str(home), command, env=env) for command in ("sync", "check")]
    for done in runs:
        one_line_error(done, "no_such_role_xyz", "127.0.0.1:5432")
    debug = erp_crm("--home", str(home), "--debug", "sync", env=env)
    assert "Traceback" in debug.stderr
    no_secret(home, SECRET, *runs, debug)


def test_password_in_a_url_from_the_environment_is_never_printed(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home()
    done = erp_crm("--home", str(home), "sync", env={"ERP_CRM__ERP__URL": f"postgresql+psycopg://bob:{SECRET}@127.0.0.1:1/erp"})
    one_line_error(done, "bob", "127.0.0.1:1")
    no_secret(home, SECRET, done)


def test_password_file_that_does_not_exist(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home(url="postgresql+psycopg://crm_reader@127.0.0.1:5432/postgres", password_file="secrets/erp.password")
    one_line_error(erp_crm("--home", str(home), "sync"), "erp.password_file", str(home / "secrets" / "erp.password"))


def test_sync_before_db_upgrade_says_to_run_it(tmp_path: Path, tiny_sqlite: str) -> None:
    home = write_home(tmp_path, f"erp:\n  connector: tiny\n  url: {tiny_sqlite}\n")
    one_line_error(erp_crm("--home", str(home), "sync"), "erp-crm db upgrade")
    one_line_error(erp_crm("--home", str(home), "sync", "quarantine"), "erp-crm db upgrade")


@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current"), ("sync",)], ids=["upgrade", "current", "sync"])
def test_unreachable_postgresql_overlay(tmp_path: Path, tiny_sqlite: str, command: tuple[str, ...]) -> None:
    config = f"overlay:\n  url: postgresql+psycopg://crm@127.0.0.1:1/crm\nerp:\n  connector: tiny\n  url: {tiny_sqlite}\n"
    home = write_home(tmp_path, config)
    done = erp_crm("--home", str(home), *command, env={"ERP_CRM_OVERLAY_PASSWORD": SECRET})
    one_line_error(done, "overlay", "127.0.0.1:1")
    no_secret(home, SECRET, done)


def test_odbc_without_a_dialect(tmp_path: Path, upgraded_overlay: Path) -> None:
    odbc = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;DATABASE=erp;UID=crm_reader"
    home = with_overlay(write_home(tmp_path, f'erp:\n  connector: tiny\n  odbc: "{odbc}"\n'), upgraded_overlay)
    for command in ("sync", "check"):
        one_line_error(erp_crm("--home", str(home), command), config_of(home), "erp.dialect", "postgresql", "mssql")


def test_read_only_sync_refuses_a_postgresql_superuser(pg_url: str, tmp_path: Path, upgraded_overlay: Path) -> None:
    TinyErp.create(pg_url, partners=3, invoices=3, lines=6).dispose()
    extra = {"erp": {"require_read_only": True}, "logging": {"level": "DEBUG"}}
    home = with_overlay(make_home(tmp_path, erp_url=pg_url, connector="tiny", extra=extra), upgraded_overlay)
    install_connector(home)
    env = {"ERP_CRM_ERP_PASSWORD": SECRET}
    done = erp_crm("--home", str(home), "sync", env=env)
    one_line_error(done, "superuser postgres", "read-only", "erp.require_read_only")
    check = erp_crm("--home", str(home), "check", env=env)
    assert check.returncode != 0 and "Traceback" not in check.stdout + check.stderr
    assert any(line.startswith("FAIL") and "superuser postgres" in line for line in check.stdout.splitlines()), check.stdout
    # With the guard turned off the same sync runs, and its debug log keeps the password out too.
    synced = erp_crm("--home", str(home), "sync", env={**env, "ERP_CRM__ERP__REQUIRE_READ_ONLY": "false"})
    assert synced.returncode == 0, synced.stderr
    assert any(path.stat().st_size for path in (home / "var" / "log").iterdir()), "nothing was logged"
    no_secret(home, SECRET, done, check, synced)


# -- the connector definition -------------------------------------------------------------------

TINY = CONNECTOR_FILE.read_text(encoding="utf-8")


def _edit(old: str, new: str) -> str:
    assert old in TINY, old
    return TINY.replace(old, new, 1)


DEFINITION_MISTAKES = {
    # id: (definition text, the text on the line the message must point at, names the message must contain)
    "unknown-entity": (_edit("  invoice_line:", "  invoice_lines:"), "invoice_lines:", ("invoice_lines", "unknown entity", "invoice_line")),
    "unknown-field": (_edit("description: descr", "descripton: descr"), "descripton:", ("descripton", "unknown field", "description")),
    "value-not-allowed": (_edit("2: credit_note", "2: refund"), "kind: {column: type", ("'refund'", "invoice kind", "credit_note")),
    "required-field-missing": (_edit("      partner: fk_soc\n", ""), "number: ref", ("entities.invoice", "'partner'", "required")),
    "required-key-missing": (_edit("    key: rowid\n    change: tms\n    fields:\n      name", "    change: tms\n    fields:\n      name"), "table: soc", ("entities.partner.key", "required")),
    "invalid-yaml": (_edit("number: ref", "number: [ref"), "number: [ref", ("invalid YAML",)),
    "two-sources": (_edit("      number: ref", "      number: {column: ref, value: X}"), "number:", ("entities.invoice.fields.number", "column")),
}


@pytest.mark.parametrize("command", ["sync", "check"])
@pytest.mark.parametrize("mistake", sorted(DEFINITION_MISTAKES))
def test_connector_definition_mistakes_name_file_and_line(tiny_home: Callable[..., Path], mistake: str, command: str) -> None:
    text, at, names = DEFINITION_MISTAKES[mistake]
    home = tiny_home(connector=text)
    path = str(home / "connectors" / "tiny.yaml")
    message = one_line_error(erp_crm("--home", str(home), command), path, *names)
    found = re.search(re.escape(path) + r":(\d+)", message)
    assert found, f"no line number: {message}"
    # The line of the mistake, or within the entry it belongs to (a missing key has no line of its own).
    assert abs(int(found.group(1)) - line_of(text, at)) <= 2, message


def test_sync_of_an_entity_the_connector_does_not_map(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home()
    one_line_error(erp_crm("--home", str(home), "sync", "--entity", "nosuch"), "nosuch", "partner, invoice, invoice_line")


# -- `erp-crm check` against the live schema -------------------------------------------------------


def _report_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The check report; every line is one verdict (or the closing summary)."""
    lines = done.stdout.strip().splitlines()
    stray = [line for line in lines[:-1] if not line.startswith(LEVELS)]
    assert not stray, f"report lines that are not a verdict: {stray}\n{done.stdout}"
    return lines


@pytest.mark.parametrize(
    ("old", "new", "named", "suggested"),
    [("number: ref", "number: reff", "'reff'", "'ref'"), ("    table: fac\n", "    table: facc\n", "facc", "'fac'")],
    ids=["column", "table"],
)
def test_check_reports_what_is_missing_with_a_suggestion(tiny_home: Callable[..., Path], old: str, new: str, named: str, suggested: str) -> None:
    home = tiny_home(connector=_edit(old, new))
    done = erp_crm("--home", str(home), "check")
    assert done.returncode != 0 and not done.stderr and "Traceback" not in done.stdout
    fails = [line for line in _report_lines(done) if line.startswith("FAIL")]
    assert any(f.startswith("FAIL invoice") and named in f and f"did you mean {suggested}" in f for f in fails), done.stdout


def test_sync_with_a_missing_column_names_the_entity_and_column(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home(connector=_edit("number: ref", "number: reff"))
    one_line_error(erp_crm("--home", str(home), "sync"), "invoice", "reff")


# -- --debug --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["config", "erp"])
def test_debug_shows_the_traceback_of_the_same_error(tmp_path: Path, tiny_home: Callable[..., Path], where: str) -> None:
    if where == "config":
        home = write_home(tmp_path, "erp:\n  batch_size: many\n", name="broken")
        expected = "erp.batch_size"
    else:
        home = tiny_home(url=CLOSED_PG)
        expected = "127.0.0.1:1"
    plain = erp_crm("--home", str(home), "sync")
    one_line_error(plain, expected)
    debug = erp_crm("--home", str(home), "--debug", "sync")
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr, debug.stderr
    assert plain.stderr.strip().removeprefix("error: ") in debug.stderr
