"""The unit tier needs no database server and no ODBC driver.

A unit test may use SQLite (a file in tmp_path, or in memory); a test that needs
PostgreSQL, MariaDB or an ODBC driver belongs in tests/integration. So that none creeps
in, inside tests/unit:

- the server and driver fixtures of tests/conftest.py (`pg_url`, `mariadb_url`,
  `pg_url_factory`, `mariadb_url_factory`, `odbc_driver`, and so the PostgreSQL
  parameter of `overlay_url`) fail when a test asks for them;
- an autouse guard makes the scratch-database helpers (`ScratchDatabases`,
  `create_database`, `drop_database`) and the drivers' connect functions (psycopg,
  PyMySQL, pyodbc, and pyodbc's list of drivers) fail the test at once, however the
  test reached them.

Each says "unit tests need no database server: move this test to tests/integration".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

from tests.support import databases

MOVE = "unit tests need no database server: move this test to tests/integration"

# The functions that reach a server or an ODBC driver, by module; a module that does not
# import (pyodbc without unixODBC) cannot be reached either.
CONNECTS = {"psycopg": ("connect",), "pymysql": ("connect",), "pyodbc": ("connect", "drivers")}


def refuse(what: str) -> NoReturn:
    pytest.fail(f"{what}: {MOVE}", pytrace=False)


def _refusing(what: str) -> Callable[..., NoReturn]:
    def refused(*args: Any, **kwargs: Any) -> NoReturn:
        refuse(what)

    return refused


def _refusing_fixture(name: str, what: str = "") -> Any:
    @pytest.fixture(name=name)
    def fixture() -> NoReturn:
        refuse(what or f"the {name} fixture")

    return fixture


pg_url = _refusing_fixture("pg_url")
mariadb_url = _refusing_fixture("mariadb_url")
pg_url_factory = _refusing_fixture("pg_url_factory", "the pg_url_factory fixture (or overlay_url on PostgreSQL)")
mariadb_url_factory = _refusing_fixture("mariadb_url_factory")
odbc_driver = _refusing_fixture("odbc_driver")


@pytest.fixture(scope="module", autouse=True)
def no_database_server() -> Iterator[None]:
    """Make every way to a server or an ODBC driver fail, for each unit test module.

    Module scope, so the guard is in place before a module-scoped fixture of the test
    module is set up, and is lifted when the module is done (integration tests in the
    same run are not affected). The class itself is patched, so a `ScratchDatabases`
    imported by name before the guard is caught as well.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(databases.ScratchDatabases, "__init__", _refusing("ScratchDatabases"))
        for name in ("create_database", "drop_database"):
            patch.setattr(databases, name, _refusing(f"tests.support.databases.{name}"))
        for module_name, functions in CONNECTS.items():
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            for function in functions:
                patch.setattr(module, function, _refusing(f"{module_name}.{function}"))
        yield
