"""`erp-crm check`'s type rules and the ODBC import message, without a database."""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from erp_crm.errors import SourceError
from erp_crm.model.canonical import Kind
from erp_crm.sync.check import _fit, type_class
from erp_crm.sync.source import import_pyodbc, mask_odbc


@pytest.mark.parametrize(
    "declared, kind",
    [
        ("INTEGER", "number"),
        ("numeric(24,8)", "number"),
        ("double precision", "number"),
        ("tinyint(1)", "number"),
        ("DATETIME", "temporal"),
        ("timestamp without time zone", "temporal"),
        ("nvarchar(100)", "text"),
        ("varchar(255)", "text"),
        ("", "text"),  # SQLite columns may have no declared type
        ("boolean", "bool"),
        ("bit", "bool"),
        ("blob", "other"),
    ],
)
def test_declared_types_are_classified(declared: str, kind: str) -> None:
    assert type_class(declared) == kind


def test_fit_rules() -> None:
    assert _fit(Kind.DATE, "temporal") is None
    assert _fit(Kind.DATE, "text")[0] == "WARN"  # type: ignore[index]
    assert _fit(Kind.DATE, "number") == ("FAIL", "is number, cannot become a date")
    assert _fit(Kind.DECIMAL, "temporal")[0] == "FAIL"  # type: ignore[index]
    assert _fit(Kind.DECIMAL, "number") is None
    assert _fit(Kind.BOOL, "text") is None  # Y/N columns are common (SAP Business One)
    assert _fit(Kind.TEXT, "other") is None


def test_missing_unixodbc_is_one_line_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def failing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyodbc":
            raise ImportError("libodbc.so.2: cannot open shared object file: No such file or directory")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing)
    with pytest.raises(SourceError, match=r"^ODBC needs the unixODBC library: install it \(Debian/Ubuntu: apt-get install unixodbc\)$"):
        import_pyodbc()


def test_odbc_passwords_are_masked() -> None:
    assert mask_odbc("DRIVER={X};UID=u;PWD={s3cret};Server=h") == "DRIVER={X};UID=u;PWD=***"
    assert "s3cret" not in mask_odbc("Driver=x;password=s3cret")
    masked = mask_odbc("DRIVER={X};PWD={a;b}}c;d};SERVER=h")
    assert masked == "DRIVER={X};PWD=***"
