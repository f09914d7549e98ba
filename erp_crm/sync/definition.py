"""Connector definitions: where one ERP keeps each canonical entity (docs/connectors.md).

Loading validates everything that can be known without a database: unknown entities
and fields, maps to values the canonical schema does not allow, required fields left
unmapped, references to entities the definition does not read.  `erp-crm check` then
validates the rest against the live ERP.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from erp_crm.errors import ConfigError
from erp_crm.model.canonical import BY_NAME, SYNC_ORDER, Entity, Kind
from erp_crm.settings.base import parse_duration, url_has_password
from erp_crm.settings.databases import ErpSettings
from erp_crm.settings.home import DEFAULTS_DIR
from erp_crm.settings.odbc import OdbcString
from erp_crm.yamlfile import YamlDocument, load_validated

Scalar = str | int | float | bool | None
_NAME = r"^[A-Za-z_][A-Za-z0-9_ $#.]*$"


class _Strict(BaseModel):
    """Unknown keys are mistakes; NaN and infinity are no ERP value (NaN would pass any check)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _exactly_one(*given: bool, names: str) -> None:
    if sum(given) != 1:
        raise ValueError(f"give exactly one of {names}")


class Condition(_Strict):
    """`{column: type, in: [2]}`: true when the column's value is one of the listed."""

    column: str | None = Field(None, pattern=_NAME)
    sql: str | None = None
    values: list[Scalar] = Field(alias="in", min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> Condition:
        _exactly_one(self.column is not None, self.sql is not None, names="column or sql")
        return self


class FieldSpec(_Strict):
    column: str | None = Field(None, pattern=_NAME)
    sql: str | None = None
    value: Scalar = None
    has_value: bool = Field(False, exclude=True)
    map: dict[Scalar, Scalar] | None = None
    default: Scalar = None
    negate_when: Condition | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if isinstance(data, dict) and "value" in data:
            data = {**data, "has_value": True}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        _exactly_one(self.column is not None, self.sql is not None, self.has_value, names="column, sql or value")
        return self


class ChangeSpec(_Strict):
    column: str | None = Field(None, pattern=_NAME)
    sql: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> ChangeSpec:
        _exactly_one(self.column is not None, self.sql is not None, names="column or sql")
        return self


class EntitySpec(_Strict):
    table: str | None = Field(None, pattern=_NAME)
    query: str | None = None
    key: list[str] = Field(min_length=1)
    change: ChangeSpec | None = None
    filter: str | None = None
    fields: dict[str, FieldSpec]

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> EntitySpec:
        _exactly_one(self.table is not None, self.query is not None, names="table or query")
        return self


class ConnectionSpec(_Strict):
    url: str | None = None
    odbc: OdbcString | None = None
    dialect: Literal["postgresql", "mysql", "mssql", "sqlite"] | None = None

    @field_validator("url")
    @classmethod
    def _no_password(cls, url: str | None) -> str | None:
        """A definition is shared and committed, so the password comes from the settings' secret."""
        if url_has_password(url):
            raise ValueError(
                "holds a password, and passwords never go in a connector definition; remove it and set the "
                "environment variable named by erp.password_env (ERP_CRM_ERP_PASSWORD) or erp.password_file"
            )
        return url


class Definition(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = ""
    connection: ConnectionSpec = ConnectionSpec()
    params: dict[str, Scalar] = {}
    batch_size: int = Field(5000, ge=1, le=1_000_000)
    lookback: str = "10m"
    entities: dict[str, EntitySpec]
    path: Path | None = Field(None, exclude=True)

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("connection", "params", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        """A section left with only comments in it is empty, not an error."""
        return {} if value is None else value

    @property
    def lookback_seconds(self) -> int:
        return parse_duration(self.lookback)

    def ordered(self) -> list[tuple[Entity, EntitySpec]]:
        """Mapped entities in dependency order: partners before invoices before lines."""
        return [(BY_NAME[name], self.entities[name]) for name in SYNC_ORDER if name in self.entities]


def _validate_semantics(definition: Definition, doc: YamlDocument) -> None:
    """What pydantic cannot see: the fit between the definition and the canonical schema."""

    def fail(loc: tuple[str | int, ...], message: str) -> NoReturn:
        raise ConfigError(f"{doc.where(loc)}: {'.'.join(map(str, loc))}: {message}")

    if not definition.entities:  # nothing to sync: `check` and `sync` would pass without reading a row
        fail(("entities",), f"maps no entity; expected at least one of {', '.join(SYNC_ORDER)}")

    for name, spec in definition.entities.items():
        if name not in BY_NAME:
            fail(("entities", name), f"unknown entity; expected one of {', '.join(SYNC_ORDER)}")
        entity = BY_NAME[name]
        for field_name, fspec in spec.fields.items():
            loc = ("entities", name, "fields", field_name)
            field = entity.by_name.get(field_name)
            if field is None:
                fail(loc, f"unknown field of {name}; expected one of {', '.join(entity.by_name)}")
            if field.ref and field.ref not in definition.entities and field.required:
                fail(loc, f"refers to {field.ref}, which this definition does not map")
            allowed = list(field.choices) + ([True, False] if field.kind is Kind.BOOL else [])
            if allowed:
                targets = list((fspec.map or {}).values()) + [fspec.default] + ([fspec.value] if fspec.has_value else [])
                for target in targets:
                    if target is not None and target not in allowed:
                        fail(loc, f"{target!r} is not a {name} {field_name}; expected one of {', '.join(map(str, allowed))}")
            if fspec.negate_when is not None and field.kind not in (Kind.DECIMAL, Kind.INT):
                fail(loc + ("negate_when",), "only numbers can be negated")
        for field in entity.fields:
            if field.required and field.name not in spec.fields:
                fail(("entities", name, "fields"), f"required field {field.name!r} is not mapped")
        parent = entity.parent_field
        if parent is not None and spec.change is None:
            assert parent.ref is not None  # the parent field is the one referring to the entity's parent
            pspec = definition.entities.get(parent.ref)
            if pspec is None:
                fail(("entities", name), f"lines without a change column follow their {parent.ref}, which is not mapped")
            if spec.fields[parent.name].column is None:
                fail(("entities", name, "fields", parent.name), "must be a column: lines are read by their parent's key")
            if len(pspec.key) != 1:
                fail(("entities", parent.ref, "key"), f"{name} follows {parent.ref} by key, so its key must be one column (or give {name} a change column)")
        for part in ("filter", "query"):
            for param in sorted(params_in(getattr(spec, part))):
                if param not in definition.params:
                    fail(("entities", name, part), f"uses :{param} but params has no {param!r}")
        for field_name, fspec in spec.fields.items():
            if params_in(fspec.sql):
                fail(("entities", name, "fields", field_name), "parameters (:name) work in filter and query, not in sql expressions")


_PARAM = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")  # as sqlalchemy.text() finds them


def params_in(sql: str | None) -> set[str]:
    """The :name parameters an SQL text uses."""
    return set(_PARAM.findall(sql or ""))


def find_definition(name_or_path: str, home: Path) -> Path:
    """A path as given, else `<home>/connectors/<name>.yaml`, else the packaged one.

    Whatever stands at that path is the definition: a folder there is reported when it is
    read, not passed over for the packaged file of the same name.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        path = candidate if candidate.is_absolute() else home / candidate
        if not path.exists():
            raise ConfigError(f"connector definition {path} not found")
        return path
    for folder in (home / "connectors", DEFAULTS_DIR / "connectors"):
        path = folder / f"{name_or_path}.yaml"
        if path.exists():
            return path
    raise ConfigError(f"no connector definition named {name_or_path!r} in {home / 'connectors'} or the packaged ones")


def load_definition(path: Path) -> Definition:
    definition, doc = load_validated(path, Definition, "name and entities")
    _validate_semantics(definition, doc)
    definition.path = path
    return definition


def load_connector(erp: ErpSettings) -> Definition:
    """The definition `erp.connector` names; a missing one is reported against the settings key."""
    try:
        path = find_definition(erp.connector, erp.home)
    except ConfigError as exc:
        raise ConfigError(f"{erp.origin}: erp.connector: {exc}") from None
    return load_definition(path)
