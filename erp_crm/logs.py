"""Logging: a rotating file in the home for back-office staff, warnings on stderr.

Nothing here ever formats a settings object or a URL with its password: callers log
labels (`url.render_as_string(hide_password=True)`, masked ODBC strings) only.
"""

from __future__ import annotations

import logging
import logging.handlers

from erp_crm.settings import Settings, resolve_path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger("erp_crm")
    root.setLevel(settings.logging.level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    if settings.logging.file:
        path = resolve_path(settings.home, settings.logging.file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
        except OSError:
            handler = logging.StreamHandler()
            handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.propagate = False
