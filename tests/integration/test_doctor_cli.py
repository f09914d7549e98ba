"""`erp-crm doctor` through the real command, against real servers: each problem found, with what to do about it.

Every run is the command in a subprocess (tests/support/cli.py) with `--json`, whose
output must parse whatever was found; the servers are real (PostgreSQL and MariaDB roles,
an aiosmtpd relay, loopback HTTP servers, ports nobody listens on or nobody answers on).
Nothing the doctor does may send a message: the relay and the gateway keep what they get.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.model import migrate
from erp_crm.settings.home import DEFAULTS_DIR
from tests.support.cli import erp_crm
from tests.support.homes import make_home
from tests.support.http_gateway import LoopbackGateway, closed_port, silent_port
from tests.support.odbc import POSTGRESQL_DRIVER, odbc_connection_string
from tests.support.roles import mariadb_user, pg_role
from tests.support.smtp import LoopbackSmtp, self_signed
from tests.support.tiny_erp import TinyErp, tiny_home

HOOK_SECRET = {"ERP_CRM_HOOK_SECRET": "whsec_" + base64.b64encode(b"a webhook key of 16+ bytes").decode()}
Findings = dict[str, dict[str, str]]


def doctor(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], Findings]:
    """Run `erp-crm doctor --json`; the process and its findings by name (the JSON must parse, whatever was found)."""
    done = erp_crm("--home", home, "doctor", "--json", *args, env=env, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    return done, {f["name"]: f for f in report["findings"]}


def statuses(findings: Findings) -> dict[str, str]:
    return {name: f["status"] for name, f in findings.items()}


@pytest.fixture
def tiny_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    TinyErp.create(url, partners=3, invoices=5, lines=5).dispose()
    return url


# -- a healthy home ------------------------------------------------------------------------------


def test_a_healthy_home_passes_and_nothing_is_sent(tmp_path: Path, tiny_sqlite: str, overlay_url: str) -> None:
    with LoopbackSmtp() as smtp, LoopbackGateway() as gateway:
        home = tiny_home(
            tmp_path,
            tiny_sqlite,
            overlay_url=overlay_url,
            email={"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}},
            sms={"url": f"{gateway.url}/send"},
            webhooks={"shop": {"url": f"{gateway.url}/hook", "secret_env": "ERP_CRM_HOOK_SECRET"}},
        )
        shutil.copytree(DEFAULTS_DIR / "jobs", home / "jobs")
        done, findings = doctor(home, env=HOOK_SECRET)
        text = erp_crm("--home", home, "doctor", env=HOOK_SECRET)
        assert smtp.received == [] and gateway.received == []
    on_postgresql = overlay_url.startswith("postgresql")
    assert done.returncode == 0, done.stdout
    expected_skips = {"odbc.driver", "disk.overlay" if on_postgresql else "clock.overlay", "scheduler.lease"}  # no scheduler ran here yet
    assert {name for name, status in statuses(findings).items() if status != "ok"} == expected_skips
    assert "no message was sent" in findings["email.smtp"]["message"] and "nothing was sent" in findings["webhook.shop"]["message"]
    assert text.returncode == 0 and text.stdout.splitlines()[-1].endswith("3 skipped")
    assert all(line.startswith(("OK ", "SKIP ", " ")) for line in text.stdout.splitlines()[1:-1]), text.stdout


# -- what it must find ---------------------------------------------------------------------------


def test_a_wrong_erp_password_is_named_with_where_the_password_comes_from(tmp_path: Path, mariadb_url: str) -> None:
    with mariadb_user(mariadb_url, ["GRANT SELECT ON `{database}`.* TO {user}"], password="right-pw") as url:
        home = tiny_home(tmp_path, url, erp={"require_read_only": True})
        done, findings = doctor(home, env={"ERP_CRM_ERP_PASSWORD": "wrong-pw"})
        assert done.returncode == 4
        refused = findings["erp.reachable"]
        assert refused["status"] == "fail" and "Access denied" in refused["message"]
        assert "ERP_CRM_ERP_PASSWORD" in refused["fix"] and "erp.password_env" in refused["fix"] and "erp.password_file" in refused["fix"]
        assert findings["erp.read_only"]["status"] == "skipped"
        assert "wrong-pw" not in done.stdout + done.stderr and "right-pw" not in done.stdout + done.stderr
        done, findings = doctor(home, env={"ERP_CRM_ERP_PASSWORD": "right-pw"})
    assert statuses(findings)["erp.reachable"] == "ok" and statuses(findings)["erp.read_only"] == "ok", findings
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    ("driver", "hint"),
    [("No Such Driver 99", "install the driver's package"), ("ODBC Driver 18 for SQL Server", "msodbcsql18 from Microsoft's package repository")],
    ids=["unknown", "sql-server"],
)
def test_a_missing_odbc_driver_is_named_with_its_package(tmp_path: Path, odbc_driver: Callable[[str], str], driver: str, hint: str) -> None:
    odbc_driver(POSTGRESQL_DRIVER)  # unixODBC and one driver are there: only the named one is missing
    home = tiny_home(tmp_path, erp={"odbc": f"DRIVER={{{driver}}};SERVER=127.0.0.1;DATABASE=erp;UID=crm_reader", "dialect": "postgresql"})
    done, findings = doctor(home)
    assert done.returncode == 4
    missing = findings["odbc.driver"]
    assert missing["status"] == "fail" and repr(driver) in missing["message"] and POSTGRESQL_DRIVER in missing["message"]
    assert hint in missing["fix"]
    assert findings["erp.reachable"]["status"] == "skipped"


def test_an_odbc_connection_with_its_driver_installed_passes_and_an_undefined_dsn_fails(tmp_path: Path, pg_url: str, odbc_driver: Callable[[str], str]) -> None:
    odbc_driver(POSTGRESQL_DRIVER)
    _, working = doctor(tiny_home(tmp_path, erp={"odbc": odbc_connection_string(pg_url), "dialect": "postgresql"}))
    assert statuses(working)["odbc.driver"] == "ok" and statuses(working)["erp.reachable"] == "ok", working
    _, undefined = doctor(tiny_home(tmp_path, erp={"odbc": "DSN=no_such_dsn;UID=crm_reader", "dialect": "postgresql"}))
    assert undefined["odbc.driver"]["status"] == "fail" and "'no_such_dsn'" in undefined["odbc.driver"]["message"]
    assert "/etc/odbc.ini" in undefined["odbc.driver"]["fix"]


@pytest.mark.parametrize(("required", "status", "code"), [(True, "fail", 4), (False, "warn", 1)])
def test_a_writable_erp_account_fails_when_read_only_is_required_and_warns_when_not(
    tmp_path: Path, pg_url: str, required: bool, status: str, code: int
) -> None:
    with pg_role(pg_url, ["GRANT CREATE ON DATABASE {database} TO {role}"]) as url:
        home = tiny_home(tmp_path, url, erp={"require_read_only": required})
        done, findings = doctor(home)
    writable = findings["erp.read_only"]
    assert writable["status"] == status and "CREATE on database" in writable["message"], writable
    assert "A read-only role for the ERP" in writable["fix"]
    assert done.returncode == code


def test_unapplied_migrations_fail_until_db_upgrade(tmp_path: Path, tiny_sqlite: str, overlay_url: str) -> None:
    behind = sorted(migrate.known())[-2]
    home = tiny_home(tmp_path, tiny_sqlite, overlay_url=overlay_url, upgrade_to=behind)
    done, findings = doctor(home)
    assert done.returncode == 4
    assert findings["overlay.migrations"]["status"] == "fail" and behind in findings["overlay.migrations"]["message"]
    assert findings["overlay.migrations"]["fix"] == "erp-crm db upgrade"
    assert erp_crm("--home", home, "db", "upgrade").returncode == 0
    done, findings = doctor(home)
    assert findings["overlay.migrations"]["status"] == "ok" and done.returncode == 0


def test_an_overlay_role_that_may_not_read_the_schema_version_is_told_which_role_to_use(tmp_path: Path, tiny_sqlite: str, pg_url: str) -> None:
    tiny_home(tmp_path, tiny_sqlite, overlay_url=pg_url)  # upgraded as postgres, who owns the tables
    with pg_role(pg_url) as stranger:
        _, findings = doctor(tiny_home(tmp_path, tiny_sqlite, overlay_url=stranger, upgrade_to=None))
    assert findings["overlay.reachable"]["status"] == "ok"
    refused = findings["overlay.migrations"]
    assert refused["status"] == "fail" and "permission denied" in refused["message"] and "erp-crm db upgrade" in refused["fix"]


def test_an_overlay_not_made_yet_says_db_upgrade_and_is_not_created(tmp_path: Path, tiny_sqlite: str) -> None:
    home = tiny_home(tmp_path, tiny_sqlite, upgrade_to=None)
    _, findings = doctor(home)
    assert findings["overlay.reachable"]["status"] == "fail" and "erp-crm db upgrade" in findings["overlay.reachable"]["fix"]
    assert not (home / "var" / "crm.sqlite").exists()


def test_an_unreachable_smtp_server_fails_and_the_other_checks_still_run(tmp_path: Path, tiny_sqlite: str) -> None:
    port = closed_port()
    home = tiny_home(tmp_path, tiny_sqlite, email={"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": port}})
    done, findings = doctor(home)
    assert done.returncode == 4
    smtp = findings["email.smtp"]
    assert smtp["status"] == "fail" and f"127.0.0.1:{port}" in smtp["message"] and "refused" in smtp["message"].lower()
    assert "email.smtp.host" in smtp["fix"] and "email.smtp.port" in smtp["fix"]
    assert statuses(findings)["erp.reachable"] == "ok" and statuses(findings)["overlay.migrations"] == "ok"


def test_a_wrong_smtp_password_points_at_the_smtp_password(tmp_path: Path, tiny_sqlite: str) -> None:
    with LoopbackSmtp(login=("crm", "right-pw")) as smtp:
        home = tiny_home(
            tmp_path, tiny_sqlite, email={"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "username": "crm"}}
        )
        _, wrong = doctor(home, env={"ERP_CRM_SMTP_PASSWORD": "wrong-pw"})
        _, right = doctor(home, env={"ERP_CRM_SMTP_PASSWORD": "right-pw"})
        assert smtp.received == []
    assert wrong["email.smtp"]["status"] == "fail" and "535" in wrong["email.smtp"]["message"]
    assert "ERP_CRM_SMTP_PASSWORD" in wrong["email.smtp"]["fix"] and "email.smtp.username" in wrong["email.smtp"]["fix"]
    assert right["email.smtp"]["status"] == "ok" and "logged in as crm" in right["email.smtp"]["message"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_to_the_relay_passes_with_its_authority_and_points_at_ca_file_without(tmp_path: Path, tiny_sqlite: str, security: str) -> None:
    ca = self_signed(tmp_path)
    with LoopbackSmtp(tls=(security, tmp_path)) as smtp:
        relay = {"host": "127.0.0.1", "port": smtp.port, "security": security}
        _, trusted = doctor(tiny_home(tmp_path, tiny_sqlite, email={"sender": "crm@example.hu", "smtp": {**relay, "ca_file": str(ca)}}))
        _, untrusted = doctor(tiny_home(tmp_path, tiny_sqlite, email={"sender": "crm@example.hu", "smtp": relay}))
        assert smtp.received == []
    assert trusted["email.smtp"]["status"] == "ok" and f"({security})" in trusted["email.smtp"]["message"]
    assert untrusted["email.smtp"]["status"] == "fail" and "certificate" in untrusted["email.smtp"]["message"]
    assert "email.smtp.ca_file" in untrusted["email.smtp"]["fix"]


def test_a_login_the_relay_does_not_offer_points_at_the_security_setting(tmp_path: Path, tiny_sqlite: str) -> None:
    with LoopbackSmtp() as smtp:  # no AUTH offered at all
        home = tiny_home(
            tmp_path, tiny_sqlite, email={"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "username": "crm"}}
        )
        _, findings = doctor(home)
    assert findings["email.smtp"]["status"] == "fail" and "email.smtp.security" in findings["email.smtp"]["fix"]


# -- nothing hangs -------------------------------------------------------------------------------


def test_servers_that_take_the_connection_and_never_answer_cost_seconds(tmp_path: Path) -> None:
    with silent_port() as port:
        home = tiny_home(
            tmp_path,
            f"postgresql+psycopg://crm_reader@127.0.0.1:{port}/erp",
            overlay_url=f"postgresql+psycopg://crm@127.0.0.1:{port}/crm",
            upgrade_to=None,
            email={"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": port}},
            sms={"url": f"https://127.0.0.1:{port}/send"},
        )
        started = time.monotonic()
        done, findings = doctor(home, "--timeout", "2")
        took = time.monotonic() - started
    assert took < 15, f"took {took:.1f} s"
    assert done.returncode == 4
    for name in ("overlay.reachable", "erp.reachable", "email.smtp", "sms.gateway"):
        assert findings[name]["status"] == "fail" and "time" in findings[name]["message"].lower(), findings[name]
    assert findings["clock.overlay"]["status"] == "skipped"


def test_an_odbc_login_that_never_answers_meets_the_deadline_under_its_own_name(tmp_path: Path, odbc_driver: Callable[[str], str]) -> None:
    """ODBC logins take no timeout from erp-crm: the deadline on the whole run ends them."""
    odbc_driver(POSTGRESQL_DRIVER)
    with silent_port() as port:
        home = tiny_home(tmp_path, erp={"odbc": f"DRIVER={{{POSTGRESQL_DRIVER}}};SERVER=127.0.0.1;PORT={port};DATABASE=erp;UID=crm", "dialect": "postgresql"})
        started = time.monotonic()
        done, findings = doctor(home, "--timeout", "1")
        took = time.monotonic() - started
    assert took < 15, f"took {took:.1f} s"
    assert (statuses(findings)["erp.reachable"], statuses(findings)["erp.read_only"]) == ("fail", "skipped")
    assert "no answer within 3 s" in findings["erp.reachable"]["message"] and done.returncode == 4


# -- hostile settings and exit codes ----------------------------------------------------------------


def test_hostile_urls_and_host_names_are_findings_not_tracebacks(tmp_path: Path, tiny_sqlite: str) -> None:
    home = tiny_home(
        tmp_path,
        tiny_sqlite,
        sms={"url": "https://user:hunter2@gateway.example:99999/send?key=hunter3"},
        webhooks={
            "bracket": {"url": "https://[::1/hook", "secret_env": "ERP_CRM_HOOK_SECRET"},
            "nosecret": {"url": "https://127.0.0.1/hook", "secret_env": "ERP_CRM_NOT_SET"},
        },
    )
    done, findings = doctor(home, env=HOOK_SECRET)
    assert done.returncode == 4
    assert "cannot be read" in findings["sms.gateway"]["message"] and "hunter" not in done.stdout
    assert "cannot be read" in findings["webhook.bracket"]["message"]
    assert "ERP_CRM_NOT_SET" in findings["webhook.nosecret"]["message"]


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"email": {"sender": "crm@example.hu", "smtp": {"host": "a" * 64 + ".example", "port": 25}}}, "email.smtp.host"),
        ({"webhooks": {"long": {"url": "https://" + "b" * 64 + ".example/hook", "secret_env": "ERP_CRM_HOOK_SECRET"}}}, "webhooks.long.url"),
    ],
    ids=["smtp", "webhook"],
)
def test_a_host_name_the_resolver_refuses_is_a_settings_finding(tmp_path: Path, tiny_sqlite: str, section: dict[str, object], key: str) -> None:
    done, findings = doctor(tiny_home(tmp_path, tiny_sqlite, upgrade_to=None, **section), env=HOOK_SECRET)
    assert done.returncode == 4 and findings["settings"]["status"] == "fail"
    assert f"{key}: host name label longer than 63 characters" in findings["settings"]["message"], findings["settings"]


@pytest.mark.parametrize("kind", ["postgresql+psycopg", "mysql+pymysql"])
def test_database_urls_with_a_host_the_resolver_refuses_are_a_settings_finding(tmp_path: Path, kind: str) -> None:
    host = "a" * 64 + ".example"
    home = tiny_home(tmp_path, f"{kind}://crm@{host}/erp", overlay_url=f"postgresql+psycopg://crm@{host}/crm", upgrade_to=None)
    done, findings = doctor(home)
    assert done.returncode == 4 and findings["settings"]["status"] == "fail"
    assert "overlay.url: host name label longer than 63 characters" in findings["settings"]["message"], findings["settings"]
    assert findings["erp.reachable"]["status"] == findings["clock.overlay"]["status"] == "skipped"


def test_database_hosts_in_the_query_the_resolver_refuses_are_findings(tmp_path: Path) -> None:
    """The drivers let the resolver's UnicodeError through as it is: without care it is "the check itself failed"."""
    query = "?host=" + "a" * 64 + ".example"
    home = tiny_home(tmp_path, f"postgresql+psycopg://crm@/erp{query}", overlay_url=f"postgresql+psycopg://crm@/crm{query}", upgrade_to=None)
    done, findings = doctor(home)
    assert done.returncode == 4
    for name, key in (("erp.reachable", "erp.url"), ("overlay.reachable", "overlay.url")):
        assert "not a host name" in findings[name]["message"] and findings[name]["fix"] == f"correct the host in {key}", findings[name]
    assert findings["clock.overlay"]["status"] == "skipped"


def test_a_control_character_in_the_settings_is_a_finding_shown_as_an_escape(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "config" / "erp_crm.yaml").write_text('erp:\n  source: "shop\\e[2J"\n', encoding="utf-8")
    done, findings = doctor(home)
    assert done.returncode == 4 and findings["settings"]["status"] == "fail" and "erp_crm.yaml:2" in findings["settings"]["message"]
    text = erp_crm("--home", home, "doctor")
    assert text.returncode == 4 and "\x1b" not in text.stdout and "FAIL  settings" in text.stdout


def test_no_home_is_a_failure_with_valid_json(tmp_path: Path) -> None:
    done = erp_crm("doctor", "--json", cwd=tmp_path)
    report = json.loads(done.stdout)
    assert set(report) == {"home", "status", "counts", "findings"} and report["home"] is None
    assert done.returncode == 4 and report["status"] == "fail" and report["findings"][0]["name"] == "settings"
    assert "erp-crm init" in report["findings"][0]["fix"]


@pytest.mark.parametrize("option", [("--timeout", "0"), ("--timeout", "nan"), ("--timeout", "1e9"), ("--jsn",)])
def test_a_mistake_on_the_command_line_exits_2(tmp_path: Path, option: tuple[str, ...]) -> None:
    done = erp_crm("--home", make_home(tmp_path), "doctor", *option)
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_clock_skew_of_a_postgresql_overlay_is_measured(tmp_path: Path, tiny_sqlite: str, pg_url: str) -> None:
    home = tiny_home(tmp_path, tiny_sqlite, overlay_url=pg_url)
    _, findings = doctor(home)
    assert findings["clock.overlay"]["status"] == "ok" and "this machine's" in findings["clock.overlay"]["message"]
    with sa.create_engine(pg_url).connect() as conn:  # the overlay was only read
        assert conn.execute(sa.text("SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version'")).scalar_one() == 1
