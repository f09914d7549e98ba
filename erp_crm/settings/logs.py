"""Where the log goes and how much of it."""

from __future__ import annotations

from typing import Literal

from erp_crm.settings.base import Section


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str | None = "var/log/erp_crm.log"
    format: Literal["text", "json"] = "text"  # json: one JSON object per line, for a log collector
    rotate: bool = True  # False: logrotate owns the file (config/logrotate.erp-crm); erp-crm reopens it when it is moved
