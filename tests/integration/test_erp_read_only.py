"""The ERP stays untouched: the read-only guard on real roles, and connections that fail in one line.

A role made from the GRANTs docs/operations.md gives must sync; a role with any one of the
privileges that docs/operations.md lists as a way to write must be refused before anything
is read, with that privilege named. The roles are real (PostgreSQL roles and MariaDB
users and roles, made in the test's scratch database and dropped afterwards), and the
refusal is the sync's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from erp_crm.errors import SourceError, UserError
from erp_crm.settings.root import Settings, load_settings
from erp_crm.sync.check import check_connector
from erp_crm.sync.definition import load_connector
from erp_crm.sync.source import ErpSource, Query
from tests.support.homes import make_home
from tests.support.mini_erp import MiniErp, mini_settings
from tests.support.odbc import MARIADB_DRIVER, POSTGRESQL_DRIVER, SQLITE_DRIVER, odbc_connection_string
from tests.support.roles import mariadb_user, pg_role
from tests.support.services import compare, run_sync

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def docs_block(after: str, language: str) -> str:
    """The first ```language block after the line that starts with `after` in docs/operations.md."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(f"```{language}\n", text.index(f"\n{after}")) + len(language) + 4
    return text[start : text.index("```", start)]


def docs_statements(after: str, replacements: dict[str, str]) -> list[str]:
    """The SQL statements of a docs block, without the one creating the login (the test makes it)."""
    text = docs_block(after, "sql")
    for old, new in replacements.items():
        text = text.replace(old, new)
    return [s.strip() for s in text.split(";") if s.strip() and not s.strip().upper().startswith(("CREATE ROLE", "CREATE USER"))]


PG_DOCS = docs_statements(
    "PostgreSQL (e.g. Odoo", {"crm_reader": "{role}", "DATABASE odoo": "DATABASE {database}", "FOR ROLE odoo": "FOR ROLE postgres"}
)
MARIADB_DOCS = docs_statements("MariaDB / MySQL (e.g.", {"'crm_reader'@'%'": "{user}", "dolibarr.*": "`{database}`.*"})


class Case(NamedTuple):
    grants: str  # statements run as the administrator, `;`-separated, on top of the docs' GRANTs
    named: str | None  # what the refusal must name; None: the role is read-only and must sync
    undo: str = ""  # statements that undo what outlives the role (grants to PUBLIC)


PG_CASES = [
    Case("GRANT INSERT ON fac TO {role}", "INSERT on public.fac"),
    Case("GRANT UPDATE ON fac TO {role}", "UPDATE on public.fac"),
    Case("GRANT DELETE ON fac TO {role}", "DELETE on public.fac"),
    Case("GRANT TRUNCATE ON fac TO {role}", "TRUNCATE on public.fac"),
    Case("GRANT TRIGGER ON fac TO {role}", "TRIGGER on public.fac"),
    Case("GRANT INSERT (ref) ON fac TO {role}", "INSERT on columns of public.fac"),
    Case("GRANT UPDATE (total_ht) ON fac TO {role}", "UPDATE on columns of public.fac"),
    Case("GRANT INSERT ON fac_view TO {role}", "INSERT on public.fac_view"),
    Case("GRANT USAGE ON SEQUENCE fac_seq TO {role}", "USAGE on sequence public.fac_seq"),
    Case("GRANT UPDATE ON SEQUENCE fac_seq TO {role}", "UPDATE on sequence public.fac_seq"),
    Case("GRANT CREATE ON SCHEMA public TO {role}", "CREATE on schema public"),
    Case("GRANT CREATE ON DATABASE {database} TO {role}", "CREATE on database {database}"),
    Case("CREATE TABLE reader_owns (a int); ALTER TABLE reader_owns OWNER TO {role}", "INSERT on public.reader_owns"),
    Case("ALTER ROLE {role} SUPERUSER", "superuser {role}"),
    Case("ALTER ROLE {role} BYPASSRLS", "BYPASSRLS {role}"),
    Case("ALTER ROLE {role} CREATEROLE", "CREATEROLE {role}"),
    Case("GRANT INSERT ON fac TO {other}; GRANT {other} TO {role}", "INSERT on public.fac through role {other}"),
    Case("ALTER ROLE {role} NOINHERIT; GRANT UPDATE ON fac TO {other}; GRANT {other} TO {role}", "UPDATE on public.fac through role {other}"),
    Case("GRANT pg_write_all_data TO {role}", "DELETE on public.fac through role pg_write_all_data"),
    Case("GRANT pg_execute_server_program TO {role}", "member of pg_execute_server_program"),
    Case("GRANT DELETE ON facdet TO PUBLIC", "DELETE on public.facdet", undo="REVOKE DELETE ON facdet FROM PUBLIC"),
    Case('CREATE TABLE "odd ""q"" ON x" (a int); GRANT UPDATE (a) ON "odd ""q"" ON x" TO {role}', 'UPDATE on columns of public."odd ""q"" ON x"', undo='DROP TABLE "odd ""q"" ON x"'),
    # Not writes:
    Case("", None),
    Case("GRANT TEMP ON DATABASE {database} TO {role}", None),
    Case("GRANT SELECT ON SEQUENCE fac_seq TO {role}", None),
    Case("GRANT SELECT ON fac TO {other}; GRANT {other} TO {role}", None),
]

MARIADB_CASES = [
    *(Case(f"GRANT {p} ON *.* TO {{user}}", f"{p} on *.*") for p in (
        "INSERT", "UPDATE", "DELETE", "DELETE HISTORY", "CREATE", "DROP", "ALTER", "INDEX", "CREATE VIEW", "CREATE ROUTINE",
        "ALTER ROUTINE", "TRIGGER", "EVENT", "FILE", "SUPER", "CREATE USER", "ALL PRIVILEGES",
    )),
    Case("GRANT INSERT ON `{database}`.* TO {user}", "INSERT on {database}.*"),
    Case("GRANT ALTER ON `{database}`.* TO {user}", "ALTER on {database}.*"),
    Case("GRANT DELETE ON `erpcrm\\_t\\_%`.* TO {user}", "DELETE on erpcrm\\_t\\_%.*"),
    Case("GRANT UPDATE ON `{database}`.fac TO {user}", "UPDATE on {database}.fac"),
    Case("GRANT DROP ON `{database}`.fac TO {user}", "DROP on {database}.fac"),
    Case("GRANT TRIGGER ON `{database}`.fac TO {user}", "TRIGGER on {database}.fac"),
    Case("GRANT UPDATE (total_ht) ON `{database}`.fac TO {user}", "UPDATE on columns of {database}.fac"),
    Case("GRANT INSERT (ref) ON `{database}`.fac TO {user}", "INSERT on columns of {database}.fac"),
    Case("GRANT INSERT ON `{database}`.fac TO {role}; GRANT {role} TO {user}; SET DEFAULT ROLE {role} FOR {user}", "INSERT on {database}.fac through role {role_name}"),
    Case("GRANT DELETE ON `{database}`.* TO {role}; GRANT {role} TO {user}", "DELETE on {database}.* through role {role_name}"),
    Case("GRANT UPDATE ON `{database}`.fac TO {role2}; GRANT {role2} TO {role}; GRANT {role} TO {user}", "UPDATE on {database}.fac through role {role2_name}"),
    Case("GRANT INSERT ON `{database}`.facdet TO PUBLIC", "INSERT on {database}.facdet through PUBLIC", undo="REVOKE INSERT ON `{database}`.facdet FROM PUBLIC"),
    Case("CREATE TABLE `{database}`.`odd ON t`` TO x` (a int); GRANT UPDATE (a) ON `{database}`.`odd ON t`` TO x` TO {user}", "UPDATE on columns of {database}.odd ON t` TO x", undo="DROP TABLE `{database}`.`odd ON t`` TO x`"),
    # Not writes:
    Case("", None),
    Case("GRANT CREATE TEMPORARY TABLES, LOCK TABLES, SHOW VIEW, EXECUTE ON `{database}`.* TO {user}", None),
    Case("GRANT SELECT (ref) ON `{database}`.fac TO {user}", None),
    Case("GRANT INSERT ON `erpcrm_elsewhere`.* TO {user}", None),
    Case("GRANT SELECT ON `{database}`.* TO {role}; GRANT {role} TO {user}; SET DEFAULT ROLE {role} FOR {user}", None),
]  # fmt: skip


def _guarded(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"erp": settings.erp.model_copy(update={"url": url, "require_read_only": True})})


def _admin(url: str, statements: str, **names: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for statement in filter(str.strip, statements.format(**names).split(";")):
            conn.execute(sa.text(statement))
    engine.dispose()


def _verdict(settings: Settings, case: Case, names: dict[str, str]) -> str | None:
    """What is wrong with how the sync treated the role of `case` (None: as it should)."""
    try:
        report = run_sync(settings, mode="reconcile")  # every read the engine can do, as this role
    except SourceError as exc:
        message = str(exc)
        if case.named is None:
            return f"a read-only role was refused: {message}"
        expected = case.named.format(**names)
        if expected not in message or "can write" not in message or "\n" in message:
            return f"refused without naming {expected!r}: {message}"
        return None
    if case.named is not None:
        return "a role that can write was let through"
    if report.entities["invoice"].read == 0 or not all(c.complete for c in compare(settings)):
        return "a read-only role did not sync completely"
    return None


def _verdicts(settings: Settings, admin_url: str, cases: Sequence[Case], role: Callable[..., Any], names: Callable[[str], dict[str, str]]) -> list[str]:
    """Each case's role, made from the docs' GRANTs and the case's, through the sync: what went wrong, per case."""
    docs = PG_DOCS if role is pg_role else MARIADB_DOCS
    found = []
    for case in cases:
        with role(admin_url, [*docs, *filter(str.strip, case.grants.split(";"))]) as url:
            given = names(url)
            problem = _verdict(_guarded(settings, url), case, given)
            if case.undo:
                _admin(admin_url, case.undo, **given)
        if problem:
            found.append(f"{case.grants or 'the docs GRANTs only'}: {problem}")
    return found


def _pg_names(url: str) -> dict[str, str]:
    parsed = make_url(url)
    return {"role": str(parsed.username), "other": f"{parsed.username}_w", "database": str(parsed.database)}


def _mariadb_names(url: str) -> dict[str, str]:
    parsed = make_url(url)
    return {"role_name": f"{parsed.username}_r", "role2_name": f"{parsed.username}_r2", "database": str(parsed.database)}


def test_postgresql_roles_from_the_docs_sync_and_every_writing_privilege_is_refused(tmp_path: Path, pg_url: str) -> None:
    erp = MiniErp(pg_url)
    erp.run("CREATE SEQUENCE fac_seq")
    erp.run("CREATE VIEW fac_view AS SELECT * FROM fac")
    settings = mini_settings(tmp_path, erp_url=pg_url)
    assert _verdicts(settings, pg_url, PG_CASES, pg_role, _pg_names) == []


def test_mariadb_users_from_the_docs_sync_and_every_writing_privilege_is_refused(tmp_path: Path, mariadb_url: str) -> None:
    MiniErp(mariadb_url)
    settings = mini_settings(tmp_path, erp_url=mariadb_url)
    assert _verdicts(settings, mariadb_url, MARIADB_CASES, mariadb_user, _mariadb_names) == []


def test_check_names_the_privilege_on_its_read_only_line(tmp_path: Path, mariadb_url: str) -> None:
    MiniErp(mariadb_url)
    settings = mini_settings(tmp_path, erp_url=mariadb_url)
    with mariadb_user(mariadb_url, [*MARIADB_DOCS, "GRANT UPDATE (total_ht) ON `{database}`.fac TO {user}"]) as url:
        report = check_connector(_guarded(settings, url).erp)
    line = next(line for line in report.lines if "read-only" in line)
    assert line.startswith("FAIL") and "UPDATE on columns of" in line and not report.ok


WRITING_ROUTINES = {
    "pg": [
        "CREATE FUNCTION erp_write() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'INSERT INTO soc (rowid, nom) VALUES (99, ''x'') RETURNING rowid'",
        "CREATE SEQUENCE fac_seq",
    ],
    "mariadb": ["CREATE PROCEDURE erp_write() SQL SECURITY DEFINER INSERT INTO soc (rowid, nom) VALUES (99, 'x')"],
}
WRITING_CALLS = {"pg": ["SELECT erp_write()", "SELECT nextval('fac_seq')"], "mariadb": ["CALL erp_write()"]}


@pytest.mark.parametrize("kind", ["pg", "mariadb"])
def test_the_read_only_session_refuses_writes_inside_routines(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> None:
    """As the administrator, who may write: the session alone stops a routine that writes, and nextval."""
    url = request.getfixturevalue("pg_url" if kind == "pg" else "mariadb_url")
    erp = MiniErp(url)
    for statement in WRITING_ROUTINES[kind]:
        erp.run(statement)
    settings = mini_settings(tmp_path, erp_url=url)
    with ErpSource(settings.erp, load_connector(settings.erp)) as source:
        for call in WRITING_CALLS[kind]:
            with pytest.raises(SourceError, match="(?i)read.only"):
                list(source.rows(Query(call, ()), 10))
    with erp.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM soc WHERE rowid = 99")).scalar() == 0


# -- SQL Server's path: no read-only session, so a check that cannot run stops the sync, and reads roll back


def _odbc_settings(tmp_path: Path, url: str, dialect: str, odbc_driver: Callable[[str], str], **erp: Any) -> Settings:
    odbc_driver(POSTGRESQL_DRIVER if url.startswith("postgresql") else MARIADB_DRIVER)
    extra = {"erp": {"require_read_only": True, **erp}}
    return load_settings(make_home(tmp_path, odbc=odbc_connection_string(url), dialect=dialect, connector="dolibarr", extra=extra), environ={})


def test_a_write_check_that_cannot_run_stops_the_sync(tmp_path: Path, pg_url: str, odbc_driver: Callable[[str], str]) -> None:
    """SQL Server's check run where it cannot work (PostgreSQL has no fn_my_permissions): refused, with the server's reason."""
    settings = _odbc_settings(tmp_path, pg_url, "mssql", odbc_driver)
    with pytest.raises(SourceError) as caught, ErpSource(settings.erp, load_connector(settings.erp)) as erp:
        erp.can_write()
    message = str(caught.value)
    assert "cannot tell whether" in message and "fn_my_permissions" in message and "erp.require_read_only" in message
    assert "\n" not in message


def test_check_says_when_it_cannot_tell_and_goes_on(tmp_path: Path, pg_url: str, odbc_driver: Callable[[str], str]) -> None:
    MiniErp(pg_url)
    odbc_driver(POSTGRESQL_DRIVER)
    settings = mini_settings(tmp_path, odbc=odbc_connection_string(pg_url), dialect="mssql")
    report = check_connector(settings.erp.model_copy(update={"require_read_only": True}))
    assert any(line.startswith("FAIL") and "cannot tell whether" in line for line in report.lines), report.lines
    assert report.lines[-1] == "some checks failed"


@pytest.mark.parametrize("kind", ["pg", "mariadb"])
def test_a_write_through_the_sql_server_path_is_rolled_back(request: pytest.FixtureRequest, tmp_path: Path, kind: str, odbc_driver: Callable[[str], str]) -> None:
    """pyodbc without a read-only session, as SQL Server is read: a statement that wrote is undone when its rows are read."""
    url = request.getfixturevalue("pg_url" if kind == "pg" else "mariadb_url")
    MiniErp(url)
    settings = _odbc_settings(tmp_path, url, "mssql", odbc_driver)
    with ErpSource(settings.erp, load_connector(settings.erp)) as erp:
        written = [row for batch in erp.rows(Query("INSERT INTO soc (rowid, nom) VALUES (9, 'x') RETURNING rowid", ()), 10) for row in batch]
        assert [tuple(r) for r in written] == [(9,)]  # the server did write it, inside the read's transaction
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM soc WHERE rowid = 9")).scalar() == 0
    engine.dispose()


# -- connections that fail: one line that says what to do ----------------------------------------


def _connect(settings: Settings) -> str:
    with pytest.raises(UserError) as caught, ErpSource(settings.erp, load_connector(settings.erp)):
        pass
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("via", ["native", "odbc"])
def test_a_refused_login_says_where_the_password_comes_from(tmp_path: Path, mariadb_url: str, via: str, odbc_driver: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_CRM_ERP_PASSWORD", "wrong-s3cret")
    with mariadb_user(mariadb_url, MARIADB_DOCS, password="right") as url:
        if via == "odbc":
            settings = _odbc_settings(tmp_path, url, "mysql", odbc_driver)
        else:
            settings = load_settings(make_home(tmp_path, erp_url=url), environ={})
        message = _connect(settings)
    assert "Access denied" in message and "ERP_CRM_ERP_PASSWORD" in message and "erp.password_file" in message
    assert "wrong-s3cret" not in message


@pytest.mark.parametrize("via", ["native", "odbc"])
def test_a_mariadb_password_with_hungarian_letters_logs_in(tmp_path: Path, mariadb_url: str, via: str, odbc_driver: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    """PyMySQL alone would send these as Latin-1: "jelszó" refused, "tűzfal" not even encodable."""
    MiniErp(mariadb_url)
    for password in ("jelszó", "tűzfal-ő"):
        monkeypatch.setenv("ERP_CRM_ERP_PASSWORD", password)
        with mariadb_user(mariadb_url, MARIADB_DOCS, password=password) as url:
            if via == "odbc":
                settings = _odbc_settings(tmp_path, url, "mysql", odbc_driver)
            else:
                settings = load_settings(make_home(tmp_path, erp_url=url, extra={"erp": {"require_read_only": True}}), environ={})
            with ErpSource(settings.erp, load_connector(settings.erp)) as erp:
                assert erp.can_write() is None


@pytest.mark.parametrize("odbc", ["DRIVER={No Such Driver 99};SERVER=127.0.0.1", "DSN=no_such_dsn"])
def test_an_odbc_driver_or_dsn_that_is_not_there_points_at_odbcinst(tmp_path: Path, odbc: str, odbc_driver: Callable[[str], str]) -> None:
    odbc_driver(POSTGRESQL_DRIVER)
    settings = load_settings(make_home(tmp_path, odbc=odbc, dialect="postgresql"), environ={})
    message = _connect(settings)
    assert "odbcinst -q -d" in message and POSTGRESQL_DRIVER in message and "odbc-postgresql" in message and "msodbcsql18" in message


def test_an_odbc_dialect_that_is_not_the_servers_is_one_line(tmp_path: Path, mariadb_url: str, odbc_driver: Callable[[str], str]) -> None:
    settings = _odbc_settings(tmp_path, mariadb_url, "postgresql", odbc_driver)
    message = _connect(settings)
    assert "read-only" in message and "erp.dialect 'postgresql'" in message


# -- the ODBC examples of docs/operations.md, as they stand there -------------------------------


def _docs_odbc(comment: str) -> tuple[str, str]:
    """`erp.odbc` and `erp.dialect` of the docs' YAML example that starts with `# comment`."""
    block = _yaml_block_after_comment(comment)
    odbc = re.search(r'^  odbc: "(.*)"$', block, re.MULTILINE)
    dialect = re.search(r"^  dialect: (\w+)$", block, re.MULTILINE)
    assert odbc and dialect, block
    return odbc.group(1), dialect.group(1)


def _yaml_block_after_comment(comment: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(f"```yaml\n# {comment}")
    return text[start : text.index("```", start + 7)]


@pytest.mark.parametrize("kind", ["PostgreSQL", "MariaDB / MySQL", "SQLite"])
def test_the_docs_odbc_examples_connect_read_only(request: pytest.FixtureRequest, tmp_path: Path, kind: str, odbc_driver: Callable[[str], str]) -> None:
    odbc, dialect = _docs_odbc(kind)
    if kind == "SQLite":
        odbc_driver(SQLITE_DRIVER)
        MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
        odbc = odbc.replace("/srv/erp/erp.sqlite", str(tmp_path / "erp.sqlite"))
        _run_docs_example(tmp_path, odbc, dialect)
        return
    admin = request.getfixturevalue("pg_url" if kind == "PostgreSQL" else "mariadb_url")
    odbc_driver(POSTGRESQL_DRIVER if kind == "PostgreSQL" else MARIADB_DRIVER)
    MiniErp(admin)
    role, grants = (pg_role, PG_DOCS) if kind == "PostgreSQL" else (mariadb_user, MARIADB_DOCS)
    with role(admin, grants) as url:
        parsed = make_url(url)
        odbc = re.sub(r"SERVER=erp-db", "SERVER=127.0.0.1", odbc)
        odbc = re.sub(r"DATABASE=\w+", f"DATABASE={parsed.database}", odbc)
        odbc = odbc.replace("UID=crm_reader", f"UID={parsed.username}")
        _run_docs_example(tmp_path, odbc, dialect)


def _run_docs_example(tmp_path: Path, odbc: str, dialect: str) -> None:
    settings = load_settings(make_home(tmp_path, odbc=odbc, dialect=dialect, extra={"erp": {"require_read_only": True}}), environ={})
    with ErpSource(settings.erp, load_connector(settings.erp)) as erp:
        assert erp.can_write() is None
        assert erp.scalar(sa.select(sa.func.count()).select_from(sa.table("fac"))) == 3


def test_a_mistyped_sqlite_path_creates_nothing_in_the_docs_odbc_form(tmp_path: Path, odbc_driver: Callable[[str], str]) -> None:
    """The reason the docs write `file:...?mode=ro`: a plain path to a missing file makes an empty database there."""
    odbc_driver(SQLITE_DRIVER)
    odbc, dialect = _docs_odbc("SQLite")
    missing = tmp_path / "typo.sqlite"
    settings = load_settings(make_home(tmp_path, odbc=odbc.replace("/srv/erp/erp.sqlite", str(missing)), dialect=dialect), environ={})
    message = _connect(settings)
    assert "cannot connect to the ERP database" in message and not missing.exists()

    plain = load_settings(make_home(tmp_path, odbc=f"DRIVER={{{SQLITE_DRIVER}}};Database={missing}", dialect=dialect), environ={})
    with ErpSource(plain.erp, load_connector(plain.erp)):
        assert missing.exists()
