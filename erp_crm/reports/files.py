"""Writing a table as a file people open in a spreadsheet: CSV or XLSX.

CSV is UTF-8 with a byte order mark, so Excel reads Hungarian accents right, separated
by `;` by default (Excel's list separator in Hungarian settings) or `,`. XLSX is
written by pandas with openpyxl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from erp_crm.errors import UserError

Format = Literal["csv", "xlsx"]


def write_table(frame: pd.DataFrame, output: Path, fmt: Format, *, separator: str = ";", sheet: str = "members") -> None:
    """Write `frame` to `output`; a file that cannot be written is one line naming it."""
    try:
        if fmt == "csv":
            frame.to_csv(output, sep=separator, index=False, encoding="utf-8-sig")
        else:
            frame.to_excel(output, index=False, sheet_name=sheet, engine="openpyxl")
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
