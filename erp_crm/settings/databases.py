"""The two databases: the overlay erp-crm owns, and the ERP it reads.

Secrets never live in the YAML: passwords come from environment variables or files
named there, so a settings file can be shown or committed safely.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, field_validator
from sqlalchemy.engine import URL, make_url

from erp_crm.errors import ConfigError
from erp_crm.settings.base import Located, anchor_sqlite, check_url, parse_duration, resolve_path
from erp_crm.settings.odbc import odbc_has_password

Dialect = Literal["postgresql", "mysql", "mssql", "sqlite"]


class Secret(Located):
    """Where a password comes from: an environment variable, else a file."""

    password_env: str
    password_file: str | None = None

    def read_password(self, owner: str) -> str | None:
        if self.password_file:
            path = resolve_path(self.home, self.password_file)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{owner}.password_file: cannot read {path}: {exc.strerror}") from None
        return os.environ.get(self.password_env) or None

    def _full_url(self, text: str, owner: str) -> URL:
        """Relative SQLite paths anchored at the home; the password filled in from its secret."""
        url = anchor_sqlite(make_url(text), self.home)
        password = self.read_password(owner)
        return url.set(password=password) if password and url.password is None else url


class OverlaySettings(Secret):
    url: str = "sqlite:///var/crm.sqlite"
    password_env: str = "ERP_CRM_OVERLAY_PASSWORD"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    def full_url(self) -> URL:
        """The overlay's URL with its password, SQLite paths anchored at the home."""
        return self._full_url(self.url, "overlay")


class ErpSettings(Secret):
    connector: str = "dolibarr"
    source: str = Field("erp", pattern=r"^[a-z0-9_]{1,40}$")
    url: str | None = None
    odbc: str | None = None  # a password in it is refused in the file (settings.root), allowed from the environment
    dialect: Dialect | None = None
    password_env: str = "ERP_CRM_ERP_PASSWORD"
    require_read_only: bool = True
    batch_size: int | None = Field(None, ge=1, le=1_000_000)
    lookback: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    def full_url(self) -> URL | None:
        """The ERP's URL with its password (None when it is reached through ODBC or the connector's own connection)."""
        return None if self.url is None else self._full_url(self.url, "erp")

    def full_odbc(self) -> str | None:
        """The ODBC connection string with the password added from its secret, unless the string has one."""
        if self.odbc is None:
            return None
        password = self.read_password("erp")
        if password and not odbc_has_password(self.odbc):
            braced = "{" + password.replace("}", "}}") + "}"  # ODBC's only quoting rule
            return f"{self.odbc.rstrip(';')};PWD={braced}"
        return self.odbc
