"""Fixtures every test can use: scratch databases, ODBC drivers and overlay URLs.

- `pg_url` / `mariadb_url`: the URL of a fresh, empty database, dropped after the test.
- `pg_url_factory` / `mariadb_url_factory`: call for more such databases in one test.
- `overlay_url`: runs a test twice, with a SQLite file and with PostgreSQL as the overlay.
- `odbc_driver`: `odbc_driver("PostgreSQL Unicode")` returns the name, or skips (fails
  under CI=true) when pyodbc or that driver is missing.

A missing server skips the test with the reason, except under CI=true, where it fails.
Under tests/unit these fixtures fail instead (tests/unit/conftest.py): the unit tier
needs no database server and no ODBC driver.
Plain helpers (`odbc_connection_string`, `make_home`) are in `tests/support/`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that test modules can `import tests.support...` in any import mode
    sys.path.insert(0, str(ROOT))

pytest.register_assert_rewrite("tests.support")  # helpers that assert (filter_strategies.check) report like tests

from tests.support.databases import MARIADB, POSTGRESQL, ScratchDatabases  # noqa: E402
from tests.support.odbc import require_odbc_driver  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Soak tests first: under xdist the worker that takes one spends its minutes while the others run the rest, instead of after them."""
    items.sort(key=lambda item: item.get_closest_marker("soak") is None)


@pytest.fixture
def pg_url_factory() -> Iterator[Callable[[], str]]:
    """Make fresh PostgreSQL databases (postgresql+psycopg://postgres@127.0.0.1:5432/<db>)."""
    with ScratchDatabases(POSTGRESQL) as make:
        yield make


@pytest.fixture
def mariadb_url_factory() -> Iterator[Callable[[], str]]:
    """Make fresh utf8mb4 MariaDB databases (mysql+pymysql://root@127.0.0.1:3306/<db>?charset=utf8mb4)."""
    with ScratchDatabases(MARIADB) as make:
        yield make


@pytest.fixture
def pg_url(pg_url_factory: Callable[[], str]) -> str:
    """A fresh PostgreSQL database for this test."""
    return pg_url_factory()


@pytest.fixture
def mariadb_url(mariadb_url_factory: Callable[[], str]) -> str:
    """A fresh MariaDB database for this test."""
    return mariadb_url_factory()


@pytest.fixture
def odbc_driver() -> Callable[[str], str]:
    """Check an ODBC driver is usable before a test relies on it."""
    return require_odbc_driver


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "pg"])
def overlay_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The overlay database URL: the default SQLite file, then production's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'overlay.sqlite'}"
    factory: Callable[[], str] = request.getfixturevalue("pg_url_factory")
    return factory()
