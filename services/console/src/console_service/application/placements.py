"""Placement files: a creditor's CSV or XLSX read into accounts, sent through the case
service's `POST /v1/placements` with the user's key, and each refused account answered
against its file row and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from console_service.adapters.services import UserApi
from console_service.adapters.spreadsheets import read_table
from console_service.domain.placement_file import RowError, read_rows, row_errors


@dataclass
class PlacementOutcome:
    """A placement file as sent and answered: the receipt, and its refusals on file rows."""

    receipt: dict[str, Any]
    rows: list[int]
    errors: list[RowError] = field(default_factory=list)
    replayed: bool = False


class Placements:
    """Sends placement files."""

    async def send_file(self, api: UserApi, *, placement_ref: str, filename: str,
                        content: bytes, creditor_id: str | None = None) -> PlacementOutcome:
        """Read a placement file and send it through `POST /v1/placements`; each refused
        account comes back against its file row and column. PlacementFileError if the file
        cannot be read; ServiceError if the whole placement is refused."""
        table = await to_thread.run_sync(read_table, filename, content)
        parsed = read_rows(table)
        body: dict[str, Any] = {"placement_ref": placement_ref, "accounts": parsed.accounts}
        if creditor_id:
            body["creditor_id"] = creditor_id
        status, receipt = await api.send("case", "POST", "/v1/placements", body)
        return PlacementOutcome(receipt=receipt, rows=parsed.rows,
                                errors=row_errors(receipt.get("rejected") or [], parsed.rows),
                                replayed=status == 200)
