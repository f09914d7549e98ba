"""The log file of a home, and what happens when it cannot be written: said once on stderr, never lost without a word."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from erp_crm.entrypoints.logs import configure_logging
from erp_crm.settings.logs import LoggingSettings


@pytest.fixture(autouse=True)
def _logger_restored() -> Iterator[None]:
    """configure_logging changes the process's `erp_crm` logger; other tests rely on it as it was."""
    logger = logging.getLogger("erp_crm")
    handlers, level, propagate, disabled = list(logger.handlers), logger.level, logger.propagate, logger.disabled
    logger.disabled = False  # as in a fresh process (a test that ran before may have left it otherwise)
    yield
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate, logger.disabled = propagate, disabled


def test_records_go_to_the_file_of_the_home(tmp_path: Path) -> None:
    configure_logging(LoggingSettings(file="var/log/erp_crm.log"), tmp_path)
    logging.getLogger("erp_crm.test").info("a sync finished")
    for handler in logging.getLogger("erp_crm").handlers:
        handler.flush()
    assert "a sync finished" in (tmp_path / "var" / "log" / "erp_crm.log").read_text(encoding="utf-8")


def test_a_log_file_that_cannot_be_written_is_said_once_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "var").write_text("a file where the log folder should be", encoding="utf-8")
    configure_logging(LoggingSettings(file="var/log/erp_crm.log"), tmp_path)
    logging.getLogger("erp_crm.test").info("not shown: stderr takes warnings only")
    logging.getLogger("erp_crm.test").warning("shown")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert "cannot write the log file" in err[0] and "var/log/erp_crm.log (logging.file)" in err[0] and "warnings go to stderr" in err[0]
    assert err[1].endswith("erp_crm.test: shown")


def _logged_in_run(tmp_path: Path, settings: LoggingSettings) -> list[str]:
    from erp_crm.scheduling.runs import CURRENT_RUN

    configure_logging(settings, tmp_path)
    token = CURRENT_RUN.set(42)
    try:
        logging.getLogger("erp_crm.scheduling").info("job sync done: 7 handled")
    finally:
        CURRENT_RUN.reset(token)
    logging.getLogger("erp_crm.sync").warning('outside any run: "quoted"\nand a second line')
    for handler in logging.getLogger("erp_crm").handlers:
        handler.flush()
    return (tmp_path / "var" / "log" / "erp_crm.log").read_text(encoding="utf-8").splitlines()


def test_every_line_of_a_job_run_names_the_run(tmp_path: Path) -> None:
    lines = _logged_in_run(tmp_path, LoggingSettings())
    assert lines[0].endswith("INFO erp_crm.scheduling run=42: job sync done: 7 handled")
    assert " WARNING erp_crm.sync: outside any run" in lines[1]


def test_json_lines_are_one_object_per_line_with_the_run(tmp_path: Path) -> None:
    import json

    first, second = (json.loads(line) for line in _logged_in_run(tmp_path, LoggingSettings(format="json")))
    assert (first["level"], first["logger"], first["job_run"], first["message"]) == ("INFO", "erp_crm.scheduling", 42, "job sync done: 7 handled")
    assert second["job_run"] is None and second["message"] == 'outside any run: "quoted"\nand a second line'
    assert first["time"].endswith("+00:00")


def test_with_rotation_left_to_logrotate_a_moved_file_is_reopened(tmp_path: Path) -> None:
    configure_logging(LoggingSettings(rotate=False), tmp_path)
    log = tmp_path / "var" / "log" / "erp_crm.log"
    logging.getLogger("erp_crm.test").info("before the rotation")
    log.rename(log.with_name("erp_crm.log.1"))  # what logrotate does (without copytruncate)
    logging.getLogger("erp_crm.test").info("after the rotation")
    for handler in logging.getLogger("erp_crm").handlers:
        handler.flush()
    assert "before the rotation" in log.with_name("erp_crm.log.1").read_text(encoding="utf-8")
    assert "after the rotation" in log.read_text(encoding="utf-8")
