"""Logging: a rotating file in the home for back-office staff, warnings on stderr.

Every line says which job run it belongs to (`run=42`, or `"job_run": 42` in JSON lines),
so the lines of one scheduled run can be picked out of a busy scheduler's log and matched
with `erp-crm jobs history`.

Nothing here ever formats a settings object or a URL with its password: callers log
labels (`url.render_as_string(hide_password=True)`, masked ODBC strings) only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
from pathlib import Path

from erp_crm.scheduling.runs import CURRENT_RUN
from erp_crm.settings.base import resolve_path
from erp_crm.settings.logs import LoggingSettings

FORMAT = "%(asctime)s %(levelname)s %(name)s%(run_label)s: %(message)s"


class RunId(logging.Filter):
    """Adds the id of the job run the logging thread works for (None outside a run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        run = CURRENT_RUN.get()
        record.job_run = run
        record.run_label = f" run={run}" if run is not None else ""
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, job run, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "job_run": getattr(record, "job_run", None),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


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
            handler: logging.Handler = (
                logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
                if settings.rotate
                else logging.handlers.WatchedFileHandler(path, encoding="utf-8")  # logrotate moves it; the next line opens a new one
            )
        except OSError as exc:
            handler = logging.StreamHandler()
            handler.setLevel(logging.WARNING)
            failed: str | None = f"cannot write the log file {path} (logging.file): {exc.strerror}; warnings go to stderr instead"
        else:
            failed = None
        handler.setFormatter(JsonLines() if settings.format == "json" else logging.Formatter(FORMAT))
        handler.addFilter(RunId())
        root.addHandler(handler)
        if failed:  # said once, where back-office staff look, rather than losing the log without a word
            root.warning(failed)
    root.propagate = False
