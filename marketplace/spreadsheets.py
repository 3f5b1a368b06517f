"""CSV written for spreadsheets: cells that a spreadsheet would run as a formula are escaped.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@` (and
some a tab or carriage return before one) as a formula, so a series title or partner name like
`=HYPERLINK(...)` would run in a participant's spreadsheet. OWASP's rule: prefix such a cell with
a single quote, which spreadsheets show as text. Numbers (int) are written as they are, so
negative amounts stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a cell must not start with (OWASP CSV injection)."""


def safe_cell(value: Any) -> Any:
    """A cell as a spreadsheet should read it: text starting with a formula character gets a
    leading `'`; integers (amounts, counts) and everything else are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCSVWriter:
    """csv.writer whose every text cell goes through safe_cell."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, escaping formula-leading text cells."""
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write every row, escaping formula-leading text cells."""
        for row in rows:
            self.writerow(row)
