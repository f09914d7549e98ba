"""The CRM's own profile of a partner: custom fields kept per partner."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from erp_crm.settings.base import Section

CustomKind = Literal["text", "number", "bool", "date"]
CustomName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]


class ProfileSection(Section):
    """Custom fields kept per partner, which segment filters may name as custom.<name>."""

    custom_fields: dict[CustomName, CustomKind] = Field(default_factory=dict)
