"""The overlay database: reachable, and at the schema this erp-crm needs.

Nothing is created or changed: a SQLite overlay that is not there is reported, not made
(`Overlay.open` would make its folder), and the schema is only read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped, unresolvable
from erp_crm.errors import UnresolvableHost, UserError
from erp_crm.model import migrate
from erp_crm.settings.base import anchor_sqlite
from erp_crm.settings.databases import OverlaySettings
from erp_crm.settings.root import Settings
from erp_crm.store.overlay import Overlay
from erp_crm.sync.connection import login_refused

UPGRADE = "erp-crm db upgrade"


def with_connect_timeout(url: URL, timeout: float) -> URL:
    """`url` with a connect timeout for the drivers that take one in the URL (libpq, PyMySQL), unless it names its own."""
    if url.get_backend_name() not in ("postgresql", "mysql") or "connect_timeout" in url.query:
        return url
    return url.update_query_dict({"connect_timeout": str(max(2, round(timeout)))})  # libpq takes whole seconds, 2 at least


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite overlay (None for a server or an in-memory database)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def open_overlay(section: OverlaySettings, timeout: float) -> Overlay:
    """The overlay, whatever its schema; UserError (one line) when it is not there or cannot be reached."""
    url = section.full_url()
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise UserError(f"there is no overlay database at {path} (overlay.url) yet")
    return Overlay.open(with_connect_timeout(url, timeout), at_head=False)


def unreachable_hint(message: str, section: OverlaySettings) -> str:
    if message.startswith("there is no overlay database"):
        return f"`{UPGRADE}` creates it; or correct overlay.url if the overlay is elsewhere"
    if login_refused(message):
        source = section.password_file and f"the file {section.password_file} (overlay.password_file)"
        return f"check the user in overlay.url and the password in {source or f'the environment variable {section.password_env} (overlay.password_env)'}"
    return "check that the database server in overlay.url is running and reachable from here (host, port, firewall)"


def migrations(version: str | None) -> Finding:
    """Whether the overlay's schema is this code's newest: what every command but `db upgrade` refuses to work without."""
    head = migrate.head()
    if version == head:
        return ok("overlay.migrations", f"the schema is at version {head}, this erp-crm's newest")
    if version is None:
        return Finding("overlay.migrations", Status.FAIL, f"the overlay has no erp-crm tables yet; this erp-crm needs version {head}", UPGRADE)
    if version not in migrate.known():
        return Finding(
            "overlay.migrations",
            Status.FAIL,
            f"the overlay is at version {version}, which this erp-crm does not know (it needs {head}): a newer erp-crm has upgraded it",
            "run the erp-crm version that upgraded the overlay (migrations do not go back)",
        )
    return Finding("overlay.migrations", Status.FAIL, f"the overlay is at version {version} and this erp-crm needs {head}: migrations are not applied", UPGRADE)


def _unreadable(label: str, reason: str, *, on_sqlite: bool) -> Iterator[Finding]:
    """An overlay that opened and would not show its schema version: a file that is no database, or a role without rights."""
    if on_sqlite:
        yield Finding("overlay.reachable", Status.FAIL, f"cannot read the overlay {label}: {reason}", "point overlay.url at the overlay's own SQLite file")
        yield skipped("overlay.migrations", "not checked: the overlay cannot be read")
        return
    yield ok("overlay.reachable", f"{label} answers")
    yield Finding(
        "overlay.migrations",
        Status.FAIL,
        f"cannot read the overlay's schema version: {reason}",
        "connect with the role that owns the overlay's tables (the one `erp-crm db upgrade` ran as)",
    )


def probe(settings: Settings, timeout: float) -> Iterator[Finding]:
    label = anchor_sqlite(make_url(settings.overlay.url), settings.overlay.home).render_as_string(hide_password=True)
    try:
        overlay = open_overlay(settings.overlay, timeout)
        try:
            version = overlay.schema_version()
        finally:
            overlay.close()
    except UserError as exc:
        if isinstance(exc, UnresolvableHost):
            yield unresolvable("overlay.reachable", exc)
        else:
            yield Finding("overlay.reachable", Status.FAIL, str(exc), unreachable_hint(str(exc), settings.overlay))
        yield skipped("overlay.migrations", "not checked: the overlay cannot be reached")
        return
    except sa.exc.DBAPIError as exc:  # it answered, and would not show the schema version
        reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        yield from _unreadable(label, reason, on_sqlite=make_url(settings.overlay.url).get_backend_name() == "sqlite")
        return
    yield ok("overlay.reachable", f"{label} answers")
    yield migrations(version)


CHECK = Check("overlay", probe, ("overlay.reachable", "overlay.migrations"))
