"""`Settings`: every section of `<home>/config/erp_crm.yaml`, loaded once by an entry point.

Environment variables override keys (`ERP_CRM__ERP__URL=...` sets erp.url), so a
container or a systemd unit can change a setting without editing the file. Every
mistake is one line naming the file, line and key, or the environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from erp_crm.errors import ConfigError
from erp_crm.settings.base import Section, url_has_password
from erp_crm.settings.databases import ErpSettings, OverlaySettings
from erp_crm.settings.gateways import SmsSection, WebhookEndpoint, WebhookName
from erp_crm.settings.home import CONFIG_FILE
from erp_crm.settings.logs import LoggingSettings
from erp_crm.settings.metrics import MetricsSection
from erp_crm.settings.odbc import odbc_has_password
from erp_crm.settings.profile import ProfileSection
from erp_crm.settings.sending import ChainsSection, ConsentSection, EmailSection, OutboxSection
from erp_crm.settings.web import WebSection
from erp_crm.yamlfile import YamlDocument, describe_validation_error, dotted, load_yaml, validation_problem

ENV_PREFIX = "ERP_CRM__"


class Settings(Section):
    overlay: OverlaySettings = Field(default_factory=OverlaySettings)
    erp: ErpSettings = Field(default_factory=ErpSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    profile: ProfileSection = Field(default_factory=ProfileSection)
    email: EmailSection = Field(default_factory=EmailSection)
    sms: SmsSection = Field(default_factory=SmsSection)
    webhooks: dict[WebhookName, WebhookEndpoint] = Field(default_factory=dict)
    outbox: OutboxSection = Field(default_factory=OutboxSection)
    chains: ChainsSection = Field(default_factory=ChainsSection)
    consent: ConsentSection = Field(default_factory=ConsentSection)
    web: WebSection = Field(default_factory=WebSection)
    home: Path = Path(".")
    config_file: Path | None = None

    @model_validator(mode="after")
    def _locate_sections(self) -> Settings:
        origin = str(self.config_file or "settings")
        for section in (self.overlay, self.erp, self.email.smtp, self.sms, self.web):
            section.located_in(self.home, origin)
        return self


def _env_overrides(environ: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    return [
        (tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__")), value) for name, value in sorted(environ.items()) if name.startswith(ENV_PREFIX)
    ]


def _apply(data: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment {ENV_PREFIX}{'__'.join(path).upper()}: {part} is not a section")
        node = child
    node[path[-1]] = value


def _refuse_passwords(doc: YamlDocument) -> None:
    """A URL or an ODBC string in the file with a password in it is refused: the file may be shown or committed.

    An environment override (ERP_CRM__ERP__URL, ERP_CRM__ERP__ODBC) may carry one: the
    environment is where secrets live, as the password variables themselves do.
    """
    for name, section in (("overlay", OverlaySettings), ("erp", ErpSettings)):
        values = doc.data.get(name)
        if not isinstance(values, dict):
            continue
        for key, holds in (("url", url_has_password), ("odbc", odbc_has_password)):
            if holds(values.get(key)):
                variable = values.get("password_env")
                variable = variable if isinstance(variable, str) else section.model_fields["password_env"].default
                raise ConfigError(
                    f"{doc.where((name, key))}: {name}.{key}: holds a password, and passwords never go in the settings file; "
                    f"remove it and put it in the environment variable named by {name}.password_env ({variable}) or in {name}.password_file"
                )


def load_settings(home: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read and validate `<home>/config/erp_crm.yaml`, then apply ERP_CRM__* overrides."""
    path = home / CONFIG_FILE
    doc: YamlDocument = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (overlay, erp, logging)")
    data: dict[str, Any] = dict(doc.data)
    for section in ("home", "config_file"):
        if section in data:
            raise ConfigError(f"{doc.where((section,))}: {section}: unknown key")
    _refuse_passwords(doc)
    overridden = _env_overrides(dict(os.environ if environ is None else environ))
    for key_path, value in overridden:
        _apply(data, key_path, value)
    try:
        return Settings.model_validate({**data, "home": home, "config_file": path})
    except ValidationError as exc:
        loc, message = validation_problem(exc)
        for key_path, _ in overridden:
            if tuple(loc[: len(key_path)]) == key_path:  # the bad value came from the environment
                variable = ENV_PREFIX + "__".join(key_path).upper()
                raise ConfigError(f"environment {variable}: {dotted(loc)}: {message}") from None
        raise ConfigError(describe_validation_error(doc, exc)) from None
