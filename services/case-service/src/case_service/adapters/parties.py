"""The parties' legal details, read from the billing service that keeps them (GET
/v1/parties/{creditor|agency}/{id}) with the caller's own key: what a caller may not read
there it does not get here either. Used to print the creditor and the agency on a
settlement certificate."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT = 5.0


class PartiesUnavailable(Exception):
    """The billing service did not answer (or answered with an error other than 404)."""


class PartiesClient:
    """A small HTTP client of the billing service's party records."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT,
                 transport: httpx.BaseTransport | None = None):
        self.client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                   transport=transport)

    def party(self, kind: str, party_id: str, api_key: str) -> dict[str, Any] | None:
        """The current version of a party's record as the key may see it (None: no record,
        or none this key may read)."""
        try:
            answer = self.client.get(f"/v1/parties/{kind}/{party_id}",
                                     headers={"X-API-Key": api_key})
        except httpx.HTTPError as exc:
            raise PartiesUnavailable(f"the billing service did not answer: {exc}") from exc
        if answer.status_code in (403, 404):
            return None
        if answer.status_code != 200:
            raise PartiesUnavailable(f"the billing service answered {answer.status_code} for "
                                     f"{kind} {party_id}")
        found: dict[str, Any] = answer.json()
        return found

    def close(self) -> None:
        """Close the connections."""
        self.client.close()
