"""Placement files: rows become accounts of POST /v1/placements, and the service's refusals
come back against the file's rows and columns."""

from __future__ import annotations

import io

import pytest
from console_service.adapters.spreadsheets import read_table
from console_service.domain.placement_file import (
    PlacementFileError,
    column_of,
    read_rows,
    row_errors,
    template_header,
)

HEADER = ["account_ref", "agency_id", "principal", "interest", "dpd", "debtor_name",
          "national_id", "phones", "timezone"]


def test_rows_become_accounts_with_nested_balances_and_debtor() -> None:
    parsed = read_rows([HEADER, ["CC-1", "AG-1", "1200.00", "35.20", "45", "张三",
                                 "110101199001011234", "+86 138 0000 0000\uff1b+86 139 1111 2222",
                                 "Asia/Shanghai"]])
    assert parsed.rows == [2]
    assert parsed.accounts == [{
        "account_ref": "CC-1", "agency_id": "AG-1",
        "balances": {"principal": "1200.00", "interest": "35.20"}, "dpd": 45,
        "debtor": {"name": "张三", "national_id": "110101199001011234",
                   "phones": ["+86 138 0000 0000", "+86 139 1111 2222"],
                   "timezone": "Asia/Shanghai"}}]


def test_empty_cells_are_left_out_and_blank_rows_skipped() -> None:
    parsed = read_rows([HEADER, ["CC-1", "", "10.00", "", "x5", "A", "1234", "", ""],
                        ["", "", "", "", "", "", "", "", ""],
                        ["CC-2", "", "20.00", "", "3", "B", "5678", "", ""]])
    assert parsed.rows == [2, 4]
    first = parsed.accounts[0]
    assert "agency_id" not in first
    assert "interest" not in first["balances"]
    assert first["dpd"] == "x5"  # not a number: sent as is, for the service to refuse


@pytest.mark.parametrize(("table", "code"), [
    ([], "empty_file"),
    ([["account_ref", "principal", "colour"]], "unknown_columns"),
    ([["account_ref", "principal"]], "missing_columns"),
    ([HEADER], "no_rows"),
])
def test_files_of_the_wrong_shape_are_refused_before_sending(table: list[list[str]],
                                                             code: str) -> None:
    with pytest.raises(PlacementFileError) as refused:
        read_rows(table)
    assert refused.value.code == code


@pytest.mark.parametrize(("path", "column"), [
    ("balances.principal", "principal"), ("debtor.national_id", "national_id"),
    ("debtor.phones.1", "phones"), ("body.accounts.3.dpd", "dpd"), ("debtor", None),
    ("dpd", "dpd"), ("unknown", None),
])
def test_error_paths_map_to_file_columns(path: str, column: str | None) -> None:
    assert column_of(path) == column


def test_an_error_about_the_whole_row_is_placed_by_the_field_it_names() -> None:
    assert column_of("", "Value error, balances.principal is required") == "principal"
    assert column_of("", "Value error, unknown balance components ['tips']") is None


def test_refusals_are_reported_on_file_rows() -> None:
    rejected = [{"index": 1, "account_ref": "CC-2",
                 "errors": [{"path": "debtor.national_id", "message": "too short"},
                            {"path": "balances.principal", "message": "required"}]}]
    errors = row_errors(rejected, rows=[2, 4, 5])
    assert [(e.row, e.account_ref, e.column, e.message) for e in errors] == [
        (4, "CC-2", "national_id", "too short"), (4, "CC-2", "principal", "required")]


def test_csv_in_utf8_with_bom_and_in_gb18030_reads_the_same() -> None:
    text = "account_ref,principal,dpd,debtor_name,national_id\nCC-1,10.00,3,张三,1234\n"
    for encoded in (("\ufeff" + text).encode(), text.encode("gb18030")):
        table = read_table("p.csv", encoded)
        assert read_rows(table).accounts[0]["debtor"]["name"] == "张三"


def test_xlsx_cells_become_text() -> None:
    from datetime import date

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["account_ref", "principal", "dpd", "debtor_name", "national_id", "term_end"])
    sheet.append(["CC-1", 1200.5, 45, "李四", "110101199001011234", date(2027, 3, 31)])
    out = io.BytesIO()
    book.save(out)
    account = read_rows(read_table("p.xlsx", out.getvalue())).accounts[0]
    assert account["balances"] == {"principal": "1200.5"}
    assert account["dpd"] == 45
    assert account["term_end"] == "2027-03-31"


def test_the_template_names_every_column_once() -> None:
    header = template_header()
    assert len(header) == len(set(header))
    assert {"account_ref", "principal", "dpd", "debtor_name", "national_id"} <= set(header)
