"""Placement files as tables of text: CSV (UTF-8, or GB18030 as Chinese spreadsheet programs
save it) and XLSX (the first sheet, with openpyxl)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from console_service.domain.placement_file import MAX_ROWS, PlacementFileError

MAX_FILE_BYTES = 20 * 1024 * 1024


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """The rows of an uploaded file, every cell as text; PlacementFileError if unreadable."""
    if len(content) > MAX_FILE_BYTES:
        raise PlacementFileError("file_too_large", limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    if filename.lower().endswith(".xlsx") or content[:4] == b"PK\x03\x04":
        return _xlsx(content)
    return _csv(content)


def _csv(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise PlacementFileError("not_text")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def _xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only when an XLSX file is uploaded

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise PlacementFileError("not_a_workbook") from None
    try:
        sheet = book.worksheets[0]
        rows: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                raise PlacementFileError("too_many_rows", limit=MAX_ROWS)
        return rows
    finally:
        book.close()
