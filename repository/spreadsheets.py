"""Tables as the sector exchanges them: CSV (UTF-8 with BOM, for Excel) and XLSX (first sheet).

Rules: an XLSX file is read as the text Excel shows (a code typed as a number, 14329, stays
"14329"); exported cells are neutralised against formula injection (CSV: a leading apostrophe;
XLSX: typed as text), and that neutralising apostrophe is taken away again on import, so a table
round-trips through Excel unchanged.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from flask_babel import lazy_gettext as _l

from repository.csvfiles import MAX_ROWS, decode_csv, spreadsheet_safe
from repository.errors import ImportRejected

XLSX_MAGIC = b"PK\x03\x04"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_xlsx(data: bytes, filename: str = "") -> bool:
    return filename.lower().endswith(".xlsx") or data.startswith(XLSX_MAGIC)


def unprotect(value: str) -> str:
    """Undo spreadsheet_safe: "'=x" was written for "=x"."""
    return value[1:] if value[:1] == "'" and value[1:2] in _FORMULA_START else value


def csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV lines of neutralised cells, without a header (for streaming after `to_csv(header, [])`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([spreadsheet_safe(_text(v)) for v in row])
    return out.getvalue().encode("utf-8")


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    # The BOM makes Excel read UTF-8.
    return "\ufeff".encode("utf-8") + csv_lines([header]) + csv_lines(rows)


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "data") -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([_text_cell(sheet, _text(v)) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(sheet: Any, value: str) -> Any:
    """A cell that is text whatever it starts with ("=...", "+84..."): never a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _text(value: Any) -> str:
    """A cell's text as Excel shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        message = _l("Không đọc được tệp Excel (.xlsx): %(reason)s", reason=type(error).__name__)
        raise ImportRejected(message, [(0, str(message))]) from None
    try:
        rows = []
        for values in book.worksheets[0].iter_rows(values_only=True):
            if len(rows) > MAX_ROWS + 1:
                message = _l("Tệp có quá %(n)d dòng; hãy chia nhỏ.", n=MAX_ROWS)
                raise ImportRejected(message, [(len(rows), str(message))])
            rows.append([_text(v) for v in values])
        return rows
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[str]]:
    text = decode_csv(data)
    first = text.splitlines()[0] if text.strip() else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=max(",;\t", key=first.count)))


def normalised_csv(data: bytes, filename: str = "") -> bytes:
    """A CSV or XLSX table as the UTF-8 CSV the importers read, protection apostrophes removed.
    Trailing empty columns (Excel keeps formatted blank cells) are dropped."""
    rows = _xlsx_rows(data) if is_xlsx(data, filename) else _csv_rows(data)
    width = max((i + 1 for row in rows[:1] for i, v in enumerate(row) if v.strip()), default=0)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        cells = [unprotect(v) for v in row]
        if len(cells) > width and not any(c.strip() for c in cells[width:]):
            cells = cells[:width]
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")
