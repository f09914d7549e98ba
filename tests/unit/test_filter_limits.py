"""The filter language's size limits hold for both forms, and a refusal names the place.

Before, the YAML form had no size limit: 20,000 conditions in config/segments.yaml were
read, compiled and sent to the overlay, which refused the expression a minute later as
"too large" (blaming the overlay). tests/integration/test_filter_limits_on_databases.py
runs the largest filter the limits allow on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from erp_crm.errors import ConfigError
from erp_crm.segments.definitions import load_config_segments
from erp_crm.segments.language import MAX_CONDITIONS, MAX_DEPTH, MAX_LENGTH, FilterError, parse_data, parse_filter
from tests.support.filter_registry import REGISTRY, TODAY


def conditions(n: int) -> dict[str, list[dict[str, object]]]:
    return {"any": [{"field": "city", "=": f"Város {i}"} for i in range(n)]}


def test_the_yaml_form_allows_as_many_conditions_as_the_text_form() -> None:
    text = " or ".join(f'city = "Város {i}"' for i in range(MAX_CONDITIONS))
    assert parse_data(conditions(MAX_CONDITIONS)) == parse_filter(text)


def test_one_condition_too_many_in_the_yaml_form_is_refused_at_its_place() -> None:
    with pytest.raises(FilterError, match=rf"^any\[{MAX_CONDITIONS}\]\.field: a filter has at most {MAX_CONDITIONS} conditions"):
        parse_filter(conditions(MAX_CONDITIONS + 1))


def test_one_condition_too_many_in_the_text_form_is_refused_at_its_place() -> None:
    text = "\n".join(f"zip = {i} or" for i in range(MAX_CONDITIONS)) + "\nzip = 0"
    with pytest.raises(FilterError, match=rf"^line {MAX_CONDITIONS + 1}, column 1: a filter has at most"):
        parse_filter(text)


def test_the_yaml_form_is_measured_by_its_text_form() -> None:
    long_list = {"field": "zip", "in": [f"{i:05d}" for i in range(MAX_LENGTH // 8)]}
    with pytest.raises(FilterError, match=rf"at most {MAX_LENGTH:,} characters long, and this one written as text has"):
        parse_filter(long_list)


def test_a_text_filter_inside_a_yaml_one_counts_its_levels_too() -> None:
    inner = "not " * (MAX_DEPTH - 5) + "key_account"
    data: object = inner
    for _ in range(10):
        data = {"not": data}
    with pytest.raises(FilterError, match=rf"nested more than {MAX_DEPTH} levels deep"):
        parse_filter(data)


def test_twenty_thousand_conditions_in_segments_yaml_are_refused_in_seconds_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "segments.yaml"
    path.write_text(yaml.safe_dump({"segments": {"big": {"title": "Big", "filter": conditions(20_000)}}}, allow_unicode=True), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ConfigError, match=rf"segments.yaml:\d+: segment big: filter any\[{MAX_CONDITIONS}\]\.field: a filter has at most"):
        load_config_segments(path, REGISTRY, TODAY)
    assert time.monotonic() - started < 30
