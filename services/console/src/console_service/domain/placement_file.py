"""A placement file (one account per row, a header naming the columns) turned into the
`accounts` of `POST /v1/placements`, and the service's per-row answers mapped back onto the
file's rows and columns.

The console checks only the file's shape (columns, row count); every field is validated by
the case service, row by row, so the rules live in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 10_000  # the case service's limit per placement

# column -> where it goes in the account (a path), in the order of the template
COLUMNS: dict[str, tuple[str, ...]] = {
    "account_ref": ("account_ref",),
    "agency_id": ("agency_id",),
    "currency": ("currency",),
    "principal": ("balances", "principal"),
    "interest": ("balances", "interest"),
    "fees": ("balances", "fees"),
    "penalties": ("balances", "penalties"),
    "dpd": ("dpd",),
    "product": ("product",),
    "term_end": ("term_end",),
    "debtor_name": ("debtor", "name"),
    "national_id": ("debtor", "national_id"),
    "phones": ("debtor", "phones"),
    "address": ("debtor", "address"),
    "email": ("debtor", "email"),
    "timezone": ("debtor", "timezone"),
}
REQUIRED = ("account_ref", "principal", "dpd", "debtor_name", "national_id")
PATH_TO_COLUMN = {".".join(path): column for column, path in COLUMNS.items()}
# a cell may list several numbers, separated as people type them (also full-width ; and ,)
PHONE_SEPARATORS = re.compile("[;|,\uff1b\uff0c]")
HEADER_ROW = 1  # file rows are counted from 1, the header included


class PlacementFileError(ValueError):
    """The file cannot be read as a placement at all (nothing is sent)."""

    def __init__(self, code: str, **details: Any):
        super().__init__(code)
        self.code, self.details = code, details


@dataclass(frozen=True)
class RowError:
    """What the case service refused in one row: the file's row number, the column (when the
    field is one of the file's columns) and the message."""

    row: int
    account_ref: str | None
    column: str | None
    path: str
    message: str


@dataclass
class PlacementRows:
    """The accounts to send and, for each, the file row it came from."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


def template_header() -> list[str]:
    """The columns of a placement file, in order."""
    return list(COLUMNS)


def read_rows(table: Sequence[Sequence[str]]) -> PlacementRows:
    """Accounts from a table whose first row is the header (cells as text); blank rows are
    skipped. PlacementFileError if the header is wrong or there are too many rows."""
    if not table:
        raise PlacementFileError("empty_file")
    header = [cell.strip().lower().lstrip("\ufeff") for cell in table[0]]
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise PlacementFileError("unknown_columns", columns=", ".join(unknown))
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise PlacementFileError("missing_columns", columns=", ".join(missing))
    result = PlacementRows()
    for number, cells in enumerate(table[1:], start=HEADER_ROW + 1):
        values = {name: (cells[i].strip() if i < len(cells) else "")
                  for i, name in enumerate(header) if name}
        if not any(values.values()):
            continue
        result.accounts.append(account_of(values))
        result.rows.append(number)
        if len(result.accounts) > MAX_ROWS:
            raise PlacementFileError("too_many_rows", limit=MAX_ROWS)
    if not result.accounts:
        raise PlacementFileError("no_rows")
    return result


def account_of(values: dict[str, str]) -> dict[str, Any]:
    """One row as an account of the placement API; empty cells are left out, so the service
    applies its defaults (agency by allocation rules, CNY, the default term)."""
    account: dict[str, Any] = {"balances": {}, "debtor": {}}
    for column, path in COLUMNS.items():
        value = values.get(column, "")
        if value == "":
            continue
        converted: Any = value
        if column == "dpd":
            converted = int(value) if re.fullmatch(r"[0-9]{1,9}", value) else value
        elif column == "phones":
            converted = [p.strip() for p in PHONE_SEPARATORS.split(value) if p.strip()]
        target = account
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = converted
    return account


def column_of(path: str, message: str = "") -> str | None:
    """The file column a field path of the service's errors refers to
    (`balances.principal` -> principal, `debtor.phones.1` -> phones), if any; an error about
    the whole row (no path) is placed by the field its message names."""
    if not path.strip("."):
        named = [column for field, column in PATH_TO_COLUMN.items()
                 if re.search(rf"(?<![\w.]){re.escape(field)}(?![\w])", message)]
        return named[0] if len(named) == 1 else None
    parts = [p for p in path.split(".") if p]
    if parts and parts[0] == "body":
        parts = parts[1:]
    if len(parts) >= 2 and parts[0] == "accounts" and parts[1].isdigit():
        parts = parts[2:]
    while parts:
        column = PATH_TO_COLUMN.get(".".join(parts))
        if column is not None:
            return column
        parts = parts[:-1]
    return None


def row_errors(rejected: Iterable[dict[str, Any]], rows: Sequence[int]) -> list[RowError]:
    """The receipt's `rejected` entries as errors against the file's rows."""
    found: list[RowError] = []
    for entry in rejected:
        index = entry.get("index")
        row = rows[index] if isinstance(index, int) and 0 <= index < len(rows) else 0
        for error in entry.get("errors") or [{"path": "", "message": entry.get("reason", "")}]:
            path = str(error.get("path", ""))
            message = str(error.get("message", ""))
            found.append(RowError(row=row, account_ref=entry.get("account_ref"),
                                  column=column_of(path, message), path=path, message=message))
    return found
