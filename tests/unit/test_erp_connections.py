"""Connecting to the ERP without a server: ODBC strings and their passwords, missing drivers,
SQLite files opened without leaving anything beside them.

Each failure must be one line that says what to do, never a traceback; a password must
never reach a message, whatever the connection string looks like.
"""

from __future__ import annotations

import builtins
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from erp_crm.errors import ConfigError, SourceError, UserError
from erp_crm.settings.root import load_settings
from erp_crm.sync.connection import connection_hint
from erp_crm.sync.definition import load_connector
from erp_crm.sync.source import ErpSource, mask_odbc
from tests.support.homes import make_home
from tests.support.require import unavailable

# -- ODBC strings ---------------------------------------------------------------------------

PASSWORD_TEXT = st.text(st.sampled_from("ab;{}= Pő"), min_size=1, max_size=12)


@pytest.mark.parametrize(
    "text, shown",
    [
        ("DRIVER={X};UID=u;PWD=a;bcd", "DRIVER={X};UID=u;PWD=***"),
        ("DRIVER={X};PWD=a;bcd;SERVER=h", "DRIVER={X};PWD=***"),
        ("Password=se;cret;Server=h", "Password=***"),
        ("DRIVER={X};PWD={a;b}}c;d};SERVER=h", "DRIVER={X};PWD=***"),
        ("DRIVER={X};PWD={};P=Q", "DRIVER={X};PWD=***"),  # `{}` may begin an unbraced password
        ("DRIVER={X};PWD={abc}def;SERVER=h", "DRIVER={X};PWD=***"),
        ("DRIVER={X};PWD={abc;SERVER=h", "DRIVER={X};PWD=***"),
        ("DRIVER={X;PWD=secret", "DRIVER=***"),
        (" pwd = {s} ;UID=u", "pwd=***"),
    ],
)
def test_masking_shows_nothing_that_could_belong_to_a_password(text: str, shown: str) -> None:
    assert mask_odbc(text) == shown


@given(password=PASSWORD_TEXT, braced=st.booleans(), name=st.sampled_from(["PWD", "pwd", "Password", " PASSWORD "]))
@example(password="a;bcd", braced=False, name="PWD")
@example(password="{};P=P", braced=False, name="PWD")
def test_no_piece_of_a_password_is_ever_shown(password: str, braced: bool, name: str) -> None:
    value = "{" + password.replace("}", "}}") + "}" if braced else password
    masked = mask_odbc(f"DRIVER={{X}};SERVER=h;UID=u;{name}={value};DATABASE=d")
    assert masked == f"DRIVER={{X}};SERVER=h;UID=u;{name.strip()}=***"


def _settings_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "erp_crm.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("attribute", ["PWD=s3cret", "pwd={s3;cret}", "Password=s3cret", " PASSWORD =x"])
def test_a_password_in_the_settings_odbc_is_refused_with_where_it_goes(tmp_path: Path, attribute: str) -> None:
    home = _settings_file(tmp_path, f"erp:\n  dialect: mssql\n  odbc: 'DRIVER={{X}};SERVER=s;UID=u;{attribute}'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(home, environ={})
    message = str(caught.value)
    assert "erp_crm.yaml:3: erp.odbc:" in message and "erp.password_env" in message and "erp.password_file" in message
    assert "s3" not in message and "\n" not in message


@pytest.mark.parametrize("key, value", [("URL", "postgresql+psycopg://u:env-pw@db/erp"), ("ODBC", "DRIVER={X};UID=u;PWD={env-pw}")])
def test_a_password_given_in_the_environment_is_used_as_given(tmp_path: Path, key: str, value: str) -> None:
    """The environment is where secrets live: an override may carry the password, in a URL as in an ODBC string."""
    home = _settings_file(tmp_path, "erp:\n  dialect: mssql\n")
    settings = load_settings(home, environ={f"ERP_CRM__ERP__{key}": value, "ERP_CRM_ERP_PASSWORD": "other"})
    url = settings.erp.full_url()
    if key == "URL":
        assert url is not None and url.password == "env-pw"
    else:
        assert settings.erp.full_odbc() == value  # its own password kept, the variable's not added


def test_a_password_in_a_connectors_odbc_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "name: mine\nconnection:\n  odbc: 'DRIVER={X};UID=u;PWD=s3cret'\n  dialect: mssql\n"
        "entities:\n  partner:\n    table: t\n    key: id\n    fields:\n      name: n\n",
        encoding="utf-8",
    )
    settings = load_settings(make_home(tmp_path, connector=str(tmp_path / "mine.yaml")), environ={})
    with pytest.raises(ConfigError, match=r"mine.yaml:3: connection.odbc: .*erp.password_env") as caught:
        load_connector(settings.erp)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("connection", ["url: postgresql+psycopg://reader@db/erp", "odbc: 'DRIVER={X};UID=reader'\n  dialect: mssql"])
def test_a_connectors_own_connection_gets_the_password_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connection: str) -> None:
    (tmp_path / "mine.yaml").write_text(
        f"name: mine\nconnection:\n  {connection}\nentities:\n  partner:\n    table: t\n    key: id\n    fields:\n      name: n\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ERP_CRM_ERP_PASSWORD", "t0p;s3cret}")
    settings = load_settings(make_home(tmp_path, connector=str(tmp_path / "mine.yaml")))
    source = ErpSource(settings.erp, load_connector(settings.erp))
    if source.url is not None:
        assert source.url.password == "t0p;s3cret}"
    else:
        assert source.odbc == "DRIVER={X};UID=reader;PWD={t0p;s3cret}}}"
    assert "s3cret" not in source.label


# -- drivers that are not installed -----------------------------------------------------------


def _source(tmp_path: Path, url: str) -> ErpSource:
    settings = load_settings(make_home(tmp_path, erp_url=url), environ={})
    return ErpSource(settings.erp, load_connector(settings.erp))


@pytest.mark.parametrize(
    "url, package",
    [
        ("mssql+pymssql://reader@db/erp", "pip install pymssql"),
        ("mysql+mysqldb://reader@db/erp", "pip install mysqlclient"),
        ("postgresql+psycopg2://reader@db/erp", "pip install psycopg2-binary"),
    ],
)
def test_a_missing_driver_module_names_the_package(tmp_path: Path, url: str, package: str) -> None:
    with pytest.raises(SourceError) as caught:
        _source(tmp_path, url).connect()
    message = str(caught.value)
    assert package in message and "erp.url" in message and "\n" not in message
    assert "postgresql+psycopg" in message and "mysql+pymysql" in message  # the drivers erp-crm brings


def test_pyodbc_without_unixodbc_through_a_url_names_the_system_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def failing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyodbc":
            raise ImportError("libodbc.so.2: cannot open shared object file: No such file or directory", name="pyodbc")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing)
    with pytest.raises(SourceError, match=r"unixODBC.*apt-get install unixodbc"):
        _source(tmp_path, "mssql+pyodbc://reader@dsn").connect()


@pytest.mark.parametrize(
    "message",
    [
        'connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  password authentication failed for user "crm_reader"',
        "connection failed: connection to server at \"10.0.0.5\", port 5432 failed: fe_sendauth: no password supplied",
        "(1045, \"Access denied for user 'crm_reader'@'10.0.0.9' (using password: YES)\")",
        "('28000', \"[28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user 'crm_reader'. (18456) (SQLDriverConnect)\")",
    ],
)
def test_a_refused_login_points_at_where_the_password_comes_from(tmp_path: Path, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ERP_CRM_ERP_PASSWORD", raising=False)
    erp = load_settings(make_home(tmp_path, erp_url="postgresql+psycopg://crm_reader@db/erp"), environ={}).erp
    assert connection_hint(message, erp) == (
        "; check the user and the password: the password is read from the environment variable ERP_CRM_ERP_PASSWORD "
        "(erp.password_env, which is not set) or a file named by erp.password_file"
    )
    with_file = erp.model_copy(update={"password_file": "secrets/erp.txt"})
    assert connection_hint(message, with_file) == "; check the user and the password: the password is read from secrets/erp.txt (erp.password_file)"


def test_other_connection_failures_get_no_password_hint(tmp_path: Path) -> None:
    erp = load_settings(make_home(tmp_path, erp_url="postgresql+psycopg://crm_reader@db/erp"), environ={}).erp
    assert connection_hint("(1044, \"Access denied for user 'crm_reader'@'%' to database 'erp'\")", erp) == ""
    assert connection_hint('connection failed: connection to server at "10.0.0.5", port 5432 failed: Connection refused', erp) == ""


# -- SQLite: read-only, and nothing left beside the ERP's file ----------------------------------


def _sqlite_erp(folder: Path, *, wal: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "erp.sqlite"
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE TABLE llx_societe (rowid INTEGER PRIMARY KEY, nom TEXT)")
    conn.execute("INSERT INTO llx_societe VALUES (1, 'Kovács Kft.')")
    conn.commit()
    conn.close()  # the last connection of a WAL database removes its -wal and -shm files
    return path


def _read(tmp_path: Path, url: str) -> Any:
    with _source(tmp_path, url) as erp:
        cursor = erp.conn.cursor()
        cursor.execute("SELECT nom FROM llx_societe")
        return cursor.fetchall()


@pytest.mark.parametrize("wal", [False, True], ids=["rollback journal", "WAL, open by the ERP"])
def test_reading_sqlite_creates_no_file_beside_it(tmp_path: Path, wal: bool) -> None:
    path = _sqlite_erp(tmp_path / "erp", wal=wal)
    writer = sqlite3.connect(path)  # the ERP, running: its WAL files exist while it has the database open
    writer.execute("SELECT count(*) FROM llx_societe").fetchall()
    before = sorted(p.name for p in path.parent.iterdir())
    assert _read(tmp_path, f"sqlite:///{path}") == [("Kovács Kft.",)]
    assert sorted(p.name for p in path.parent.iterdir()) == before
    writer.close()


def test_the_files_sqlite_must_create_for_a_wal_database_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # Earlier tests in the same process may have cut the logger off: a CLI run stops propagation,
    # import-linter's logging setup disables the loggers that already exist.
    monkeypatch.setattr(logging.getLogger("erp_crm"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("erp_crm.sync.connection"), "disabled", False)
    path = _sqlite_erp(tmp_path / "erp", wal=True)
    with caplog.at_level("INFO", logger="erp_crm.sync.connection"):
        assert _read(tmp_path, f"sqlite:///{path}") == [("Kovács Kft.",)]
    assert "WAL mode" in caplog.text and f"{path}-shm" in caplog.text


def test_the_files_sqlite_creates_take_the_databases_owner_and_mode(tmp_path: Path) -> None:
    """So the ERP, under its own user, can still write them (docs/operations.md, SQLite ERPs)."""
    if os.geteuid() != 0:
        pytest.skip("only root can give the database file to another user")
    path = _sqlite_erp(tmp_path / "erp", wal=True)
    os.chown(path, 65534, 65534)
    path.chmod(0o640)
    assert _read(tmp_path, f"sqlite:///{path}") == [("Kovács Kft.",)]
    for name in ("erp.sqlite-wal", "erp.sqlite-shm"):
        made = (path.parent / name).stat()
        assert (made.st_uid, made.st_gid, made.st_mode & 0o777) == (65534, 65534, 0o640)


def test_immutable_reads_a_wal_database_without_creating_its_files(tmp_path: Path) -> None:
    path = _sqlite_erp(tmp_path / "erp", wal=True)
    assert _read(tmp_path, f"sqlite:///{path}?immutable=1") == [("Kovács Kft.",)]
    assert [p.name for p in path.parent.iterdir()] == ["erp.sqlite"]


def test_an_unknown_sqlite_option_is_refused(tmp_path: Path) -> None:
    path = _sqlite_erp(tmp_path / "erp", wal=False)
    with pytest.raises(ConfigError, match=r"erp.url: .*'mode'.*immutable=1"):
        _read(tmp_path, f"sqlite:///{path}?mode=rw")


@pytest.fixture
def locked_erp(tmp_path: Path) -> Iterator[Callable[[bool], Path]]:
    """Makes the ERP's SQLite file (in WAL mode or not) in a folder where nobody can then
    create files, root included (`chattr +i`: root ignores permission bits)."""
    folder = tmp_path / "erp"
    chattr = shutil.which("chattr") or "chattr"

    def make(wal: bool) -> Path:
        path = _sqlite_erp(folder, wal=wal)
        if subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
            unavailable("chattr +i is not available here (it needs root and a filesystem with the immutable flag)")
        return path

    yield make
    if folder.exists():
        subprocess.run([chattr, "-i", str(folder)], capture_output=True)


def test_a_wal_database_in_a_folder_nobody_may_write_is_one_line_saying_what_to_do(tmp_path: Path, locked_erp: Callable[[bool], Path]) -> None:
    path = locked_erp(True)
    with pytest.raises(SourceError) as caught:
        _read(tmp_path, f"sqlite:///{path}")
    message = str(caught.value)
    assert "WAL" in message and "erp.sqlite-wal" in message and "immutable=1" in message and "writable" in message
    assert "\n" not in message
    assert sorted(p.name for p in path.parent.iterdir()) == ["erp.sqlite"]
    assert _read(tmp_path, f"sqlite:///{path}?immutable=1") == [("Kovács Kft.",)]


def test_a_rollback_journal_database_reads_in_a_folder_nobody_may_write(tmp_path: Path, locked_erp: Callable[[bool], Path]) -> None:
    path = locked_erp(False)
    assert _read(tmp_path, f"sqlite:///{path}") == [("Kovács Kft.",)]


def test_a_missing_sqlite_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope.sqlite \(erp.url\): there is no file .*nope.sqlite$"):
        _read(tmp_path, f"sqlite:///{tmp_path / 'nope.sqlite'}")
    assert not (tmp_path / "nope.sqlite").exists()
