"""`erp-crm doctor` in parts, without a server: the runner, the verdicts, hostile values in the settings.

The runner's tests give it checks of their own (one that hangs, one that breaks), since
what is tested is how it copes with them; everything that reaches a server is tested
through the real command in tests/integration/test_doctor_cli.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.doctor import clock, config, examine, gateways, odbc, overlay
from erp_crm.doctor.checks import CHECKS
from erp_crm.doctor.findings import MOST_SHOWN, Check, Finding, Status, ok
from erp_crm.model import migrate
from erp_crm.settings.root import Settings, load_settings
from tests.support.homes import make_home
from tests.support.http_gateway import closed_port, silent_port


def _settings(tmp_path: Path) -> Settings:
    return load_settings(make_home(tmp_path), environ={})


# -- findings ------------------------------------------------------------------------------


def test_a_finding_is_one_printable_line_however_hostile_its_text() -> None:
    finding = Finding("x", Status.FAIL, "server said:\x1b[2J\nrm -rf\r\u202e" + "y" * 5000, "fix\x00it")
    assert "\x1b" not in finding.message and "\n" not in finding.message and "\u202e" not in finding.message
    assert "\\x1b[2J\\nrm -rf" in finding.message and finding.fix == "fix\\x00it"
    assert len(finding.message) == MOST_SHOWN and finding.message.endswith("…")


def test_the_report_is_as_bad_as_its_worst_finding() -> None:
    report = examine.DoctorReport("h", [ok("a", "."), Finding("b", Status.SKIPPED, "."), Finding("c", Status.WARN, ".")])
    assert report.status is Status.WARN
    assert report.counts() == {"ok": 1, "skipped": 1, "warn": 1, "fail": 0}
    assert examine.DoctorReport("h", [Finding("b", Status.SKIPPED, ".")]).status is Status.SKIPPED


# -- the runner ----------------------------------------------------------------------------


def test_a_check_that_hangs_keeps_what_it_found_and_holds_up_no_other(tmp_path: Path) -> None:
    release = threading.Event()

    def hangs(settings: Settings, timeout: float) -> Iterator[Finding]:
        yield ok("slow.first", "came before the hang")
        release.wait(60)
        yield ok("slow.second", "never reached in time")

    def breaks(settings: Settings, timeout: float) -> Iterator[Finding]:
        yield ok("broken.first", "came before the bug")
        raise KeyError("a bug")

    def fine(settings: Settings, timeout: float) -> Iterator[Finding]:
        yield ok("fine", "answered")

    started = time.monotonic()
    try:
        checks = (Check("slow", hangs, ("slow.first", "slow.second", "slow.third")), Check("broken", breaks), Check("fine", fine), Check("unnamed", hangs))
        findings = examine.run_checks(_settings(tmp_path), checks, timeout=0.2)
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert [(f.name, f.status) for f in findings] == [
        ("slow.first", Status.OK),
        ("slow.second", Status.FAIL),
        ("slow.third", Status.SKIPPED),
        ("broken.first", Status.OK),
        ("broken", Status.FAIL),
        ("fine", Status.OK),
        ("slow.first", Status.OK),
        ("unnamed", Status.FAIL),
    ]
    assert "no answer within 0.6 s" in findings[1].message and "--timeout" in findings[1].fix
    assert "slow.second did not answer" in findings[2].message
    assert "KeyError" in findings[4].message and "a bug" in findings[4].message


def test_each_check_makes_the_findings_it_names(tmp_path: Path) -> None:
    """The names stand in for a check that does not answer: they must be the ones it makes."""
    erp = tmp_path / "erp.sqlite"
    with sa.create_engine(f"sqlite:///{erp}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a int)")
    home = make_home(tmp_path, erp_url=f"sqlite:///{erp}")
    settings = load_settings(home, environ={})
    for check in CHECKS:
        made = [f.name for f in check.probe(settings, 1)]
        assert made == list(check.names or made), check.area
        assert check.names or check.area == "webhooks"


def test_settings_that_do_not_load_are_the_first_finding_and_the_checks_are_skipped(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "config" / "erp_crm.yaml").write_text("erp:\n  batch_size: many\n", encoding="utf-8")
    report = examine.examine(home, timeout=1)
    first = report.findings[0]
    assert (first.name, first.status) == ("settings", Status.FAIL)
    assert "erp_crm.yaml:2" in first.message and "erp.batch_size" in first.message and str(home / "config" / "erp_crm.yaml") in first.fix
    assert {f.status for f in report.findings[1:]} == {Status.SKIPPED}
    assert {"overlay.migrations", "erp.reachable", "email.smtp", "webhooks"} <= {f.name for f in report.findings}
    assert report.home is None


def test_no_home_says_how_to_make_one(tmp_path: Path) -> None:
    finding, settings = config.load(tmp_path / "nowhere")
    assert settings is None and finding.status is Status.FAIL and "erp-crm init" in finding.fix


def test_a_bad_environment_override_points_at_the_variable_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_CRM__ERP__BATCH_SIZE", "many")
    finding, _ = config.load(make_home(tmp_path))
    assert "ERP_CRM__ERP__BATCH_SIZE" in finding.message and finding.fix.startswith("correct that environment variable")


# -- verdicts ------------------------------------------------------------------------------


def test_migrations_verdicts() -> None:
    head = migrate.head()
    assert overlay.migrations(head).status is Status.OK
    behind = overlay.migrations("0001")
    assert behind.status is Status.FAIL and behind.fix == "erp-crm db upgrade" and "0001" in behind.message
    assert overlay.migrations(None).fix == "erp-crm db upgrade"
    newer = overlay.migrations("9999")
    assert newer.status is Status.FAIL and "newer erp-crm" in newer.message and "db upgrade" not in newer.fix


def test_a_missing_sqlite_overlay_is_reported_not_created(tmp_path: Path) -> None:
    settings = load_settings(make_home(tmp_path, overlay_url=f"sqlite:///{tmp_path / 'no' / 'crm.sqlite'}"), environ={})
    findings = list(overlay.probe(settings, 1))
    assert [(f.name, f.status) for f in findings] == [("overlay.reachable", Status.FAIL), ("overlay.migrations", Status.SKIPPED)]
    assert "erp-crm db upgrade" in findings[0].fix
    assert not (tmp_path / "no").exists()


def test_a_file_that_is_no_database_in_place_of_the_sqlite_overlay(tmp_path: Path) -> None:
    garbage = tmp_path / "crm.sqlite"
    garbage.write_bytes(b"not a database at all, " * 100)
    settings = load_settings(make_home(tmp_path, overlay_url=f"sqlite:///{garbage}"), environ={})
    reachable, version = overlay.probe(settings, 1)
    assert reachable.status is Status.FAIL and "not a database" in reachable.message and "overlay.url" in reachable.fix
    assert version.status is Status.SKIPPED
    assert garbage.read_bytes().startswith(b"not a database at all")


def test_the_connect_timeout_goes_into_server_urls_only_and_never_replaces_ones_own() -> None:
    url = sa.engine.make_url
    assert overlay.with_connect_timeout(url("postgresql+psycopg://u@h/d"), 0.4).query == {"connect_timeout": "2"}
    assert overlay.with_connect_timeout(url("mysql+pymysql://u@h/d?connect_timeout=30"), 5).query == {"connect_timeout": "30"}
    assert overlay.with_connect_timeout(url("sqlite:///x.sqlite"), 5).query == {}


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(0.3, Status.OK), (-1.9, Status.OK), (2.5, Status.WARN), (-299, Status.WARN), (300, Status.FAIL), (-4000, Status.FAIL)],
)
def test_clock_skew_warns_from_two_seconds_and_fails_beyond_the_change_margin(seconds: float, status: Status) -> None:
    finding = clock.skew(seconds, margin_minutes=5)
    assert finding.status is status
    assert ("ahead of" if seconds > 0 else "behind") in finding.message


def test_a_change_margin_of_zero_still_warns_before_it_fails() -> None:
    assert clock.skew(1.0, margin_minutes=0).status is Status.OK
    assert clock.skew(2.0, margin_minutes=0).status is Status.FAIL


def test_time_zone() -> None:
    assert clock.time_zone("Europe/Budapest").status is Status.OK
    assert clock.time_zone("Mars/Olympus_Mons").status is Status.FAIL


@pytest.mark.parametrize(
    ("driver", "hint"),
    [
        ("PostgreSQL Unicode", "apt-get install odbc-postgresql"),
        ("ODBC Driver 18 for SQL Server", "msodbcsql18 from Microsoft's package repository"),
        ("MariaDB unicode", "did you mean 'MariaDB Unicode'?"),
        ("Totally Other", "install the driver's package"),
    ],
)
def test_a_missing_odbc_driver_names_its_package_or_the_name_meant(driver: str, hint: str) -> None:
    assert hint in odbc.install_hint(driver, installed=["SQLite3"])


# -- hostile URLs for the gateway and webhook hosts ----------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://[::1/send", "cannot be read"),
        ("https://gateway.example:99999/send", "cannot be read"),
        ("https://gateway.example:port/send", "cannot be read"),
        ("https:///send", "names no host"),
        ("https://" + "a" * 64 + ".example/send", "not a host name that can be looked up"),
        ("https://" + ".".join(["b" * 63] * 4) + "/send", "not a host name that can be looked up"),
    ],
    ids=["unclosed-bracket", "port-out-of-range", "port-not-a-number", "no-host", "label-over-63", "name-over-253"],
)
def test_a_url_that_cannot_be_reached_is_a_finding_not_an_exception(url: str, said: str) -> None:
    finding = gateways.connection("sms.gateway", "sms.url", url, timeout=1)
    assert finding.status is Status.FAIL and said in finding.message and finding.fix in ("correct sms.url", "correct the host in sms.url")


def test_a_secret_in_the_url_is_never_shown() -> None:
    port = closed_port()
    finding = gateways.connection("webhook.x", "webhooks.x.url", f"http://user:hunter2@127.0.0.1:{port}/hook?token=hunter3", timeout=1)
    assert finding.status is Status.FAIL and f"127.0.0.1:{port}" in finding.message
    assert "hunter" not in finding.message + finding.fix


def test_a_host_that_takes_the_connection_and_never_answers_tls_is_given_up_on() -> None:
    with silent_port() as port:
        started = time.monotonic()
        finding = gateways.connection("sms.gateway", "sms.url", f"https://127.0.0.1:{port}/send", timeout=1)
    assert time.monotonic() - started < 3
    assert finding.status is Status.FAIL and "timed out" in finding.message


def test_the_scheduler_lease_finding_tells_a_standby_a_stopped_scheduler_and_a_new_home_apart() -> None:
    from erp_crm.doctor.scheduler import lease_finding

    assert lease_finding("vm:10:ab", [], ran=True).status is Status.OK
    standby = lease_finding("vm:10:ab", ["other:20:cd"], ran=True)
    assert standby.status is Status.WARN and "a second scheduler runs: vm:10:ab leads, other:20:cd waits" in standby.message
    stopped = lease_finding(None, [], ran=True)
    assert stopped.status is Status.WARN and "no scheduler leads any more" in stopped.message and "scheduler run" in stopped.fix
    assert lease_finding(None, [], ran=False).status is Status.SKIPPED
