"""`erp-crm serve`: where people reach it (the links in messages) and the secret its links are signed with."""

from __future__ import annotations

import os

from pydantic import Field

from erp_crm.errors import ConfigError
from erp_crm.settings.base import Located, resolve_path

MIN_SECRET = 32  # characters: a signing key a guess cannot find


class WebSection(Located):
    """The public address of `erp-crm serve` (for unsubscribe links) and its signing secret (environment or file)."""

    public_url: str | None = Field(None, pattern=r"^https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~/-]*)?$", description="e.g. https://crm.pelda.hu")
    secret_env: str = "ERP_CRM_WEB_SECRET"
    secret_file: str | None = None
    host: str = Field("127.0.0.1", pattern=r"^[A-Za-z0-9.:\[\]-]{1,253}$")
    port: int = Field(8080, ge=1, le=65535)

    def secret(self) -> str:
        """The signing secret; a ConfigError naming where it should be when it is missing or too short to be safe."""
        if self.secret_file:
            path = resolve_path(self.home, self.secret_file)
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"web.secret_file: cannot read {path}: {exc.strerror}") from None
            where = f"web.secret_file ({path})"
        else:
            value = os.environ.get(self.secret_env, "")
            where = f"the environment variable {self.secret_env} (web.secret_env)"
        if len(value) < MIN_SECRET:
            raise ConfigError(f"{where}: a secret of at least {MIN_SECRET} characters is needed to sign unsubscribe links (e.g. `openssl rand -hex 32`)")
        return value
