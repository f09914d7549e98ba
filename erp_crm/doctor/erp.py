"""The ERP: its connector definition loads, its database answers (through ODBC when so configured), and cannot be written.

The same code as the sync opens the connection and asks the read-only question
(`ErpSource.connect`, `ErpSource.can_write`), so what the doctor says is what the sync
will meet. Only a connect timeout is added, so that a host that does not answer costs
seconds, not the system's minutes.
"""

from __future__ import annotations

from collections.abc import Iterator

from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped, unresolvable
from erp_crm.doctor.odbc import driver_finding
from erp_crm.doctor.overlay import with_connect_timeout
from erp_crm.errors import SourceError, UnresolvableHost, UserError
from erp_crm.settings.databases import ErpSettings
from erp_crm.settings.root import Settings
from erp_crm.sync.connection import connection_hint, login_refused, password_source
from erp_crm.sync.definition import load_connector
from erp_crm.sync.source import ErpSource

GRANTS = "docs/operations.md, A read-only role for the ERP"


def _not_checked(why: str, *names: str) -> Iterator[Finding]:
    for name in names:
        yield skipped(name, f"not checked: {why}")


def _setting_fix(message: str) -> str:
    """What to do when the connection cannot even be put together from the settings."""
    if message.startswith("erp.password_file"):
        return "make the file erp.password_file names readable by this user"
    return "set erp.url, or erp.odbc with erp.dialect (docs/operations.md, Settings)"


def unreachable(exc: UserError, source: ErpSource, erp: ErpSettings) -> Finding:
    """The connection's failure with what to do about it: the password, the driver, the path, or the server."""
    message = str(exc)
    hint = connection_hint(message, erp)
    message = message.removesuffix(hint)
    if login_refused(message):
        fix = f"check the user in {source.origin} and the password: {password_source(erp)}"
    elif hint:
        fix = hint.removeprefix("; ")
    elif source.dialect_name == "sqlite" and not source.is_odbc:
        fix = f"check the path in {source.origin}: the file must exist and be readable by this user"
    else:
        fix = f"check that the database server in {source.origin} is running and reachable from here (host, port, database name, firewall)"
    return Finding("erp.reachable", Status.FAIL, message, fix)


def read_only(source: ErpSource, required: bool) -> Finding:
    """FAIL where the sync would refuse to start (a role that can write, or one whose privileges cannot be read); WARN when the guard is off."""
    level = Status.FAIL if required else Status.WARN
    try:
        why = source.can_write()
    except SourceError as exc:
        return Finding("erp.read_only", level, str(exc), f"use a role whose privileges the check can read ({GRANTS})")
    if why is None:
        return ok("erp.read_only", "the connection cannot write to the ERP" + ("" if required else " (erp.require_read_only is off)"))
    if required:
        return Finding(
            "erp.read_only",
            level,
            f"the connection can write ({why}), and erp.require_read_only is on: the sync refuses to start",
            f"connect with a read-only role ({GRANTS})",
        )
    return Finding(
        "erp.read_only",
        level,
        f"the connection can write ({why}); erp.require_read_only is off, so nothing stops a sync",
        f"connect with a read-only role ({GRANTS}) and set erp.require_read_only: true",
    )


def probe(settings: Settings, timeout: float) -> Iterator[Finding]:
    erp = settings.erp
    try:
        definition = load_connector(erp)
    except UserError as exc:
        yield Finding("erp.connector", Status.FAIL, str(exc), "correct erp.connector, or the definition file the message names (docs/connectors.md)")
        yield from _not_checked("the connector definition did not load", "odbc.driver", "erp.reachable", "erp.read_only")
        return
    yield ok("erp.connector", f"the connector {definition.name} ({definition.path}) is valid")
    try:
        source = ErpSource(erp, definition)
    except UserError as exc:
        yield from _not_checked("the ERP connection cannot be made (erp.reachable says why)", "odbc.driver")
        yield Finding("erp.reachable", Status.FAIL, str(exc), _setting_fix(str(exc)))
        yield from _not_checked("the ERP connection cannot be made (erp.reachable says why)", "erp.read_only")
        return
    if source.url is not None:
        source.url = with_connect_timeout(source.url, timeout)
    driver = driver_finding(source)
    yield driver
    if driver.status is Status.FAIL:
        yield from _not_checked("ODBC cannot reach the ERP without its driver", "erp.reachable", "erp.read_only")
        return
    try:
        source.connect()
    except UserError as exc:
        yield unresolvable("erp.reachable", exc) if isinstance(exc, UnresolvableHost) else unreachable(exc, source, erp)
        yield skipped("erp.read_only", "not checked: the ERP cannot be reached")
        return
    try:
        yield ok("erp.reachable", f"connected to {source.label} ({source.origin})")
        yield read_only(source, erp.require_read_only)
    finally:
        source.close()


CHECK = Check("erp", probe, ("erp.connector", "odbc.driver", "erp.reachable", "erp.read_only"))
