"""ODBC, when the ERP is reached through it: unixODBC present, and the driver or DSN the connection names installed.

A driver name is easy to get slightly wrong (`PostgreSQL unicode`, `ODBC Driver 17` where
18 is installed), and the driver's own error ("can't open lib") does not say which
package brings it: the finding names the installed drivers and the package to install.
"""

from __future__ import annotations

import difflib

from erp_crm.doctor.findings import Finding, Status, ok, skipped
from erp_crm.errors import SourceError
from erp_crm.settings.odbc import odbc_attributes
from erp_crm.sync.connection import MICROSOFT_PACKAGES, ODBC_PACKAGES
from erp_crm.sync.source import ErpSource, import_pyodbc

NAME = "odbc.driver"
GUIDE = "docs/operations.md, Connecting through ODBC"


def _unbraced(raw: str) -> str:
    value = raw.strip()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1].replace("}}", "}")
    return value.strip()


def named(source: ErpSource) -> tuple[str | None, str | None] | None:
    """(driver, DSN) the connection names, or None when the ERP is not reached through ODBC."""
    if source.is_odbc:
        attributes = {name.strip().lower(): _unbraced(raw) for name, raw in odbc_attributes(source.odbc or "")}
        return attributes.get("driver") or None, attributes.get("dsn") or None
    if source.url is not None and source.url.get_driver_name() == "pyodbc":  # mssql+pyodbc://user@DSN or ...?driver=NAME
        driver = source.url.query.get("driver")
        return (driver if isinstance(driver, str) else None), (None if driver else source.url.host)
    return None


def install_hint(driver: str, installed: list[str]) -> str:
    """What to install for `driver`, or which installed name was probably meant."""
    package = ODBC_PACKAGES.get(driver)
    if package in MICROSOFT_PACKAGES:
        return f"install {package} from Microsoft's package repository ({GUIDE})"
    if package:
        return f"apt-get install {package} (Debian/Ubuntu)"
    close = difflib.get_close_matches(driver, [*installed, *ODBC_PACKAGES], n=1, cutoff=0.6)
    meant = f"correct DRIVER={{...}} (did you mean {close[0]!r}?)" if close else "correct DRIVER={...}"
    return f"{meant}, or install the driver's package ({GUIDE}; `odbcinst -q -d` lists the installed drivers)"


def driver_finding(source: ErpSource) -> Finding:
    """unixODBC and the driver or DSN of the ERP connection; skipped when the ERP is not reached through ODBC."""
    wanted = named(source)
    if wanted is None:
        return skipped(NAME, "the ERP is not reached through ODBC")
    try:
        pyodbc = import_pyodbc()
    except SourceError as exc:
        fix = "apt-get install unixodbc (Debian/Ubuntu)" if "unixODBC" in str(exc) else "pip install pyodbc"
        return Finding(NAME, Status.FAIL, str(exc), fix)
    driver, dsn = wanted
    installed = list(pyodbc.drivers())
    shown = ", ".join(installed) or "none"
    if driver:
        if driver in installed:
            return ok(NAME, f"the ODBC driver {driver!r} ({source.origin}) is installed")
        return Finding(
            NAME, Status.FAIL, f"the ODBC driver {driver!r} named in {source.origin} is not installed (installed: {shown})", install_hint(driver, installed)
        )
    if dsn:
        sources = pyodbc.dataSources()
        if dsn in sources:
            return ok(NAME, f"the ODBC data source {dsn!r} ({source.origin}) is defined, with the driver {sources[dsn]!r}")
        return Finding(
            NAME,
            Status.FAIL,
            f"the ODBC data source {dsn!r} named in {source.origin} is not defined (defined: {', '.join(sources) or 'none'})",
            "define it in /etc/odbc.ini (`odbcinst -q -s` lists the data sources), or name the driver with DRIVER={...} instead of DSN=",
        )
    return Finding(
        NAME,
        Status.FAIL,
        f"the ODBC connection of {source.origin} names neither DRIVER nor DSN",
        f"add DRIVER={{...}} with an installed driver ({shown}) to {source.origin}",
    )
