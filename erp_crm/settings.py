"""Settings: `config/erp_crm.yaml` in a home folder, overridable from the environment.

A home is a folder holding `config/`, `connectors/`, `jobs/`, `templates/` and `var/`.
The repository root is one; `erp-crm init DIR` makes another from the packaged
defaults.  Secrets never live in the YAML: passwords come from environment variables
or files named there, so a settings file can be shown or committed safely.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from erp_crm.errors import ConfigError
from erp_crm.yamlfile import YamlDocument, describe_validation_error, dotted, load_yaml, validation_problem

CONFIG_FILE = Path("config") / "erp_crm.yaml"
ENV_HOME = "ERP_CRM_HOME"
ENV_PREFIX = "ERP_CRM__"  # ERP_CRM__ERP__URL=... overrides erp.url
DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"

Dialect = Literal["postgresql", "mysql", "mssql", "sqlite"]
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int) -> int:
    """`10m` → 600 seconds; a bare number is seconds."""
    if isinstance(text, int):
        return text
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError("expected a duration such as 30s, 10m, 2h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Secret(_Strict):
    """Where a password comes from: an environment variable, else a file."""

    password_env: str
    password_file: str | None = None

    def read_password(self, home: Path, owner: str) -> str | None:
        if self.password_file:
            path = resolve_path(home, self.password_file)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{owner}.password_file: cannot read {path}: {exc.strerror}") from None
        return os.environ.get(self.password_env) or None


class OverlaySettings(Secret):
    url: str = "sqlite:///var/crm.sqlite"
    password_env: str = "ERP_CRM_OVERLAY_PASSWORD"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)


class ErpSettings(Secret):
    connector: str = "dolibarr"
    source: str = Field("erp", pattern=r"^[a-z0-9_]{1,40}$")
    url: str | None = None
    odbc: str | None = None
    dialect: Dialect | None = None
    password_env: str = "ERP_CRM_ERP_PASSWORD"
    require_read_only: bool = True
    batch_size: int | None = Field(None, ge=1, le=1_000_000)
    lookback: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


Cuts = tuple[float, float, float, float]


GROUP_NAME = re.compile(r"[^\W\d_A-Z][^\W\sA-Z]*")  # a lower-case word a filter can name bare: hűséges, at_risk


class RfmSection(_Strict):
    """RFM score cut points (four ascending values each; none: quintiles) and group names."""

    recency_days: Cuts | None = None
    frequency: Cuts | None = None
    monetary: Cuts | None = None
    group_on: Literal["fm", "f"] = "fm"
    # The 5 × 5 grid of group names: rows R = 5 … 1, columns FM (or F) = 1 … 5; none: the usual one.
    groups: list[list[str]] | None = None

    @field_validator("groups")
    @classmethod
    def _group_names(cls, rows: list[list[str]] | None) -> list[list[str]] | None:
        if rows is not None and (len(rows) != 5 or any(len(row) != 5 for row in rows)):
            raise ValueError("expected 5 rows (R = 5 … 1) of 5 group names (FM = 1 … 5)")
        for row in rows or ():
            for name in row:
                if not GROUP_NAME.fullmatch(name):
                    raise ValueError(f"group name {name!r}: one lower-case word (letters, digits, _), as filters name it")
        return rows


class LapseSection(_Strict):
    """The three lapse definitions (docs/lapse.md)."""

    no_purchase_days: int = Field(365, ge=1)
    no_purchase_days_by_group: dict[str, int] = {}
    rhythm_factor: float = Field(3.0, gt=0)
    rhythm_min_purchases: int = Field(3, ge=2)
    p_alive_below: float = Field(0.3, ge=0, le=1)
    definitions: tuple[Literal["rule", "rhythm", "model"], ...] = ("rule", "rhythm", "model")
    # the combined lapse score's weights (docs/lapse.md); `metrics evaluate` fits them to your history
    score_model_weight: float = Field(1.0, ge=0)
    score_silence_weight: float = Field(2.0, ge=0)
    score_rhythm_weight: float = Field(0.25, ge=0)
    score_reference_days: float = Field(30.0, gt=0)


class MetricsSection(_Strict):
    """Customer metrics (docs/metrics.md)."""

    horizon_days: int = Field(90, ge=1)
    clv_months: int = Field(12, ge=1)
    discount_rate_monthly: float = Field(0.01, ge=0, lt=1)
    penalizer_coef: float = Field(0.0, ge=0)
    min_customers: int = Field(20, ge=2)
    refit_days: int = Field(7, ge=0)
    change_margin_minutes: int = Field(5, ge=0)
    rfm: RfmSection = RfmSection()
    lapse: LapseSection = LapseSection()


class ProfileSection(_Strict):
    """The CRM profile: custom fields kept per partner, which segment filters may name as custom.<name>."""

    custom_fields: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")], Literal["text", "number", "bool", "date"]] = {}


class LoggingSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = "var/log/erp_crm.log"


class Settings(_Strict):
    overlay: OverlaySettings = OverlaySettings()
    erp: ErpSettings = ErpSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSection = MetricsSection()
    profile: ProfileSection = ProfileSection()
    home: Path = Path(".")
    config_file: Path | None = None

    def _full_url(self, text: str, secret: Secret, owner: str) -> URL:
        """Relative SQLite paths anchored at the home; the password filled in from its secret."""
        url = anchor_sqlite(make_url(text), self.home)
        password = secret.read_password(self.home, owner)
        return url.set(password=password) if password and url.password is None else url

    def overlay_url(self) -> URL:
        return self._full_url(self.overlay.url, self.overlay, "overlay")

    def erp_url(self) -> URL | None:
        return None if self.erp.url is None else self._full_url(self.erp.url, self.erp, "erp")

    def erp_odbc(self) -> str | None:
        if self.erp.odbc is None:
            return None
        password = self.erp.read_password(self.home, "erp")
        if password and "pwd=" not in self.erp.odbc.lower():
            braced = "{" + password.replace("}", "}}") + "}"  # ODBC's only quoting rule
            return f"{self.erp.odbc.rstrip(';')};PWD={braced}"
        return self.erp.odbc


def _check_url(value: str) -> str:
    try:
        make_url(value)
    except ArgumentError:
        raise ValueError("expected a database URL such as sqlite:///var/crm.sqlite or postgresql+psycopg://user@host/db") from None
    return value


def anchor_sqlite(url: URL, home: Path) -> URL:
    """SQLite paths in settings are relative to the home, not to the current directory."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute() and not url.database.startswith("file:"):
            return url.set(database=str(home / path))
    return url


def resolve_path(home: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else home / path


def find_home(explicit: str | Path | None = None) -> Path:
    """--home, else $ERP_CRM_HOME, else the current folder if it holds a config."""
    chosen = explicit or os.environ.get(ENV_HOME)
    if chosen:
        home = Path(chosen).expanduser().resolve()
        if not (home / CONFIG_FILE).is_file():
            raise ConfigError(f"{home}: not an erp-crm home (no {CONFIG_FILE}); create one with `erp-crm init {chosen}`")
        return home
    cwd = Path.cwd()
    if (cwd / CONFIG_FILE).is_file():
        return cwd
    raise ConfigError(f"no erp-crm home here ({cwd} has no {CONFIG_FILE}): pass --home DIR, set {ENV_HOME}, or run `erp-crm init DIR`")


def _env_overrides(environ: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    return [
        (tuple(part.lower() for part in name[len(ENV_PREFIX):].split("__")), value)
        for name, value in sorted(environ.items())
        if name.startswith(ENV_PREFIX)
    ]


def _apply(data: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment {ENV_PREFIX}{'__'.join(path).upper()}: {part} is not a section")
        node = child
    node[path[-1]] = value


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
    overridden = _env_overrides(dict(os.environ if environ is None else environ))
    for key_path, value in overridden:
        _apply(data, key_path, value)
    try:
        return Settings(**data, home=home, config_file=path)
    except ValidationError as exc:
        loc, message = validation_problem(exc)
        for key_path, _ in overridden:
            if tuple(loc[: len(key_path)]) == key_path:  # the bad value came from the environment
                variable = ENV_PREFIX + "__".join(key_path).upper()
                raise ConfigError(f"environment {variable}: {dotted(loc)}: {message}") from None
        raise ConfigError(describe_validation_error(doc, exc)) from None
