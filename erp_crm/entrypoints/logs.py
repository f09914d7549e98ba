"""Logging: a rotating file in the home for back-office staff, warnings on stderr.

Nothing here ever formats a settings object or a URL with its password: callers log
labels (`url.render_as_string(hide_password=True)`, masked ODBC strings) only.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from erp_crm.settings.base import resolve_path
from erp_crm.settings.logs import LoggingSettings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: LoggingSettings, home: Path) -> None:
    root = logging.getLogger("erp_crm")
    root.setLevel(settings.level)
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    if settings.file:
        path = resolve_path(home, settings.file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
        except OSError as exc:
            handler = logging.StreamHandler()
            handler.setLevel(logging.WARNING)
            failed: str | None = f"cannot write the log file {path} (logging.file): {exc.strerror}; warnings go to stderr instead"
        else:
            failed = None
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        if failed:  # said once, where back-office staff look, rather than losing the log without a word
            root.warning(failed)
    root.propagate = False
