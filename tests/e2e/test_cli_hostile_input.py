"""Hostile input through the real command: one line on stderr, exit code 2, no traceback, no hang.

Dates on every date option (no figures as of a day to come), listing limits, a part of the YAML attack list (tests/support/hostile_yaml.py)
in each file the command reads, passwords in URLs, an empty connector definition and a
filter of 20,000 conditions. Each runs `erp-crm` in a subprocess with a timeout, as
tests/e2e/test_cli_errors.py does; the whole list runs in-process in
tests/unit/test_yaml_attacks.py.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_cli_errors import SECRET, erp_crm, one_line_error, tiny_home, tiny_sqlite, upgraded_overlay
from tests.support.hostile_yaml import BY_NAME, DOCUMENTS, VALUES

__all__ = ["tiny_home", "tiny_sqlite", "upgraded_overlay"]  # fixtures this module uses

DATE_OPTIONS = [("metrics", "compute", "--as-of"), ("metrics", "evaluate", "--cutoff"), ("segments", "refresh", "--as-of")]
# the commands that read each place, and so meet its mistakes
COMMANDS = {"settings": ("check",), "connector": ("check",), "segments": ("segments", "refresh"), "filter": ("segments", "refresh")}
PLACES = list(COMMANDS)
# each in two places, so every place meets three of them (a subprocess costs a second or two)
CHOSEN_VALUES = ("duplicate key", "alias bomb", "deep flow nesting", "raw NUL", "terminal escape", "impossible date")
CHOSEN_DOCUMENTS = ("integer top-level key", "binary garbage", "UTF-16 text")


def refused(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """One line, exit code 2 (a user's mistake, not an internal error), nothing a terminal would act on."""
    line = one_line_error(done, *names)
    assert done.returncode == 2, f"exit {done.returncode}: {line}"
    assert "\x1b" not in done.stderr and "\x00" not in done.stderr, repr(done.stderr)
    return line


@pytest.mark.parametrize("group, command, option", DATE_OPTIONS, ids=[o[1] for o in DATE_OPTIONS])
@pytest.mark.parametrize("day", ["9999-12-31", "2024-02-30"])
def test_every_date_option_refuses_a_day_it_cannot_compute_for(tiny_home: Callable[..., Path], group: str, command: str, option: str, day: str) -> None:
    home = tiny_home()
    refused(erp_crm("--home", str(home), group, command, option, day), option, day)


@pytest.mark.parametrize("group, command", [("metrics", "compute"), ("segments", "refresh")])
def test_figures_as_of_a_day_to_come_are_refused(tiny_home: Callable[..., Path], group: str, command: str) -> None:
    """Silence that has not happened yet would flag customers who bought yesterday, and keep that snapshot."""
    home = tiny_home()
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    line = refused(erp_crm("--home", str(home), group, command, "--as-of", tomorrow), "--as-of", tomorrow)
    assert "after today" in line


@pytest.mark.parametrize("day", ["0001-01-01", "31.12.2024"])
def test_a_day_before_the_first_or_in_another_format_is_refused(tiny_home: Callable[..., Path], day: str) -> None:
    home = tiny_home()
    refused(erp_crm("--home", str(home), "metrics", "compute", "--as-of", day), "--as-of", day)


def test_the_evaluation_horizon_is_bounded(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home()
    refused(erp_crm("--home", str(home), "metrics", "evaluate", "--cutoff", "2024-01-01", "--horizon", "9" * 20), "--horizon")


@pytest.mark.parametrize("command", ["quarantine", "runs"])
@pytest.mark.parametrize("limit", ["0", "-5", "9" * 30])
def test_a_listing_limit_out_of_range_is_refused(tiny_home: Callable[..., Path], command: str, limit: str) -> None:
    home = tiny_home()
    refused(erp_crm("--home", str(home), "sync", command, "--limit", limit), "--limit")


def _values() -> list[object]:
    chosen = [v for v in VALUES if v[0] in CHOSEN_VALUES]
    pairs = [(PLACES[(i + shift) % len(PLACES)], v) for i, v in enumerate(chosen) for shift in (0, 1)]
    return [pytest.param(place, value, pattern, id=f"{place}-{name}") for place, (name, value, pattern) in pairs]


@pytest.mark.parametrize("place, value, pattern", _values())
def test_a_hostile_value_in_each_file_is_one_line(tiny_home: Callable[..., Path], place: str, value: str, pattern: str) -> None:
    home = tiny_home()
    path = BY_NAME[place].with_value(home, value)
    line = refused(erp_crm("--home", str(home), *COMMANDS[place]), str(path))
    assert re.search(pattern, line), line


def _documents() -> list[object]:
    chosen = [d for d in DOCUMENTS if d[0] in CHOSEN_DOCUMENTS]
    return [pytest.param(place, content, id=f"{place}-{name}") for place, (name, content, _, _) in zip(PLACES, chosen, strict=False)]


@pytest.mark.parametrize("place, content", _documents())
def test_a_hostile_file_is_one_line(tiny_home: Callable[..., Path], place: str, content: str | bytes) -> None:
    home = tiny_home()
    text = content.replace("{valid}", BY_NAME[place].valid) if isinstance(content, str) else content
    path = BY_NAME[place].write(home, text)
    refused(erp_crm("--home", str(home), *COMMANDS[place]), str(path))


@pytest.mark.parametrize("place", ["connector", "segments"])
def test_a_folder_in_place_of_a_file_is_one_line(tiny_home: Callable[..., Path], place: str) -> None:
    home = tiny_home()
    path = home / BY_NAME[place].relative
    path.unlink(missing_ok=True)
    path.mkdir()
    refused(erp_crm("--home", str(home), *COMMANDS[place]), str(path), "folder")


def test_a_second_require_read_only_cannot_switch_the_guard_off(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home()
    config = home / "config" / "erp_crm.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "  require_read_only: true\n", encoding="utf-8")
    refused(erp_crm("--home", str(home), "sync"), str(config), "erp.require_read_only: duplicate key (first at line")


@pytest.mark.parametrize("cuts", ["[1, .nan, 3, 4]", "[1, 2, 3, .inf]", "[4, 3, 2, 1]"])
def test_rfm_cut_points_that_are_not_ascending_finite_numbers_are_refused(tiny_home: Callable[..., Path], cuts: str) -> None:
    home = tiny_home()
    config = home / "config" / "erp_crm.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"metrics:\n  rfm:\n    frequency: {cuts}\n", encoding="utf-8")
    refused(erp_crm("--home", str(home), "metrics", "compute"), str(config), "metrics.rfm.frequency")


@pytest.mark.parametrize("section", ["erp", "overlay"])
def test_a_password_in_a_url_of_the_settings_file_is_refused(tiny_home: Callable[..., Path], section: str) -> None:
    home = tiny_home()
    config = home / "config" / "erp_crm.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.setdefault(section, {})["url"] = f"postgresql+psycopg://crm:{SECRET}@127.0.0.1:1/crm"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = erp_crm("--home", str(home), "check")
    refused(done, f"{section}.url: holds a password", f"ERP_CRM_{section.upper()}_PASSWORD")
    assert SECRET not in done.stdout + done.stderr


def test_an_empty_connector_definition_fails_check(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home(connector="name: tiny\nentities: {}\n")
    refused(erp_crm("--home", str(home), "check"), str(home / "connectors" / "tiny.yaml") + ":2", "entities: maps no entity")


def test_an_unquoted_colon_in_a_filter_says_to_quote_it(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home()
    path = BY_NAME["segments"].with_value(home, 'city = "Győr": x')
    refused(erp_crm("--home", str(home), "segments", "refresh"), f"{path}:3", """must be quoted: filter: 'city = "Győr": x'""")


def test_twenty_thousand_conditions_are_refused_where_they_are_written(tiny_home: Callable[..., Path]) -> None:
    home = tiny_home()
    conditions = {"any": [{"field": "city", "=": f"Város {i}"} for i in range(20_000)]}
    path = BY_NAME["segments"].write(home, yaml.safe_dump({"segments": {"big": {"filter": conditions}}}, allow_unicode=True))
    refused(erp_crm("--home", str(home), "segments", "refresh"), str(path), "filter any[200].field: a filter has at most 200 conditions")


def test_control_characters_in_a_message_are_shown_escaped(tmp_path: Path) -> None:
    """A folder name typed on the command line comes back in the message written out, not acted on."""
    line = refused(erp_crm("--home", str(tmp_path / "\x1b[2Jhome\u202e"), "sync"), "not an erp-crm home")
    assert "\\x1b[2Jhome\\u202e" in line, line
