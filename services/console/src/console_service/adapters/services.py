"""The three services' public HTTP APIs, called with the signed-in user's own API key.

The console holds no key of its own: every call carries the user's key, so the services'
role and tenant checks decide what the console can show, exactly as for any other client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from casetrail.security import Role

from console_service.domain.sessions import Identity

Service = Literal["case", "contact", "billing"]
Params = Mapping[str, str | int | float | None]


class ServiceError(Exception):
    """A service answered with an error (`status`, and its error envelope's code, message
    and field errors), or did not answer at all (status 502)."""

    def __init__(self, status: int, code: str, message: str,
                 fields: list[dict[str, Any]] | None = None, body: Any = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.fields = fields or []
        self.body = body


@dataclass
class Download:
    """A file a service served (a PDF, a JSON Lines export)."""

    content: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


class ServiceClients:
    """One pooled HTTP client per service, shared by every user's calls."""

    def __init__(self, urls: Mapping[Service, str], timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.clients: dict[Service, httpx.AsyncClient] = {
            name: httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout,
                                    transport=transport, follow_redirects=False)
            for name, url in urls.items()}

    def as_user(self, api_key: str) -> UserApi:
        """Calls made with a user's key."""
        return UserApi(self, api_key)

    async def close(self) -> None:
        """Close every connection."""
        for client in self.clients.values():
            await client.aclose()


def _error_of(response: httpx.Response) -> ServiceError:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ServiceError(response.status_code, str(error.get("code", "error")),
                            str(error.get("message", "")), error.get("fields") or [], body)
    return ServiceError(response.status_code, "error", response.text[:300], body=body)


def _clean(params: Params | None) -> dict[str, str | int | float]:
    return {k: v for k, v in (params or {}).items() if v is not None and v != ""}


class UserApi:
    """The services' APIs as one user: every request carries that user's key."""

    def __init__(self, clients: ServiceClients, api_key: str):
        self._clients = clients
        self._headers = {"Authorization": f"Bearer {api_key}"}

    async def _send(self, service: Service, method: str, path: str, *,
                    params: Params | None = None, json: Any = None,
                    accept: str = "application/json") -> httpx.Response:
        client = self._clients.clients[service]
        try:
            return await client.request(method, path, params=_clean(params), json=json,
                                        headers={**self._headers, "Accept": accept})
        except httpx.HTTPError as exc:
            raise ServiceError(502, "service_unavailable",
                               f"the {service} service did not answer ({type(exc).__name__})"
                               ) from None

    async def get(self, service: Service, path: str, params: Params | None = None) -> Any:
        """GET a JSON answer; ServiceError unless 2xx."""
        response = await self._send(service, "GET", path, params=params)
        if response.is_success:
            return response.json()
        raise _error_of(response)

    async def get_text(self, service: Service, path: str, params: Params | None = None) -> str:
        """GET a text answer (a signed note); ServiceError unless 2xx."""
        response = await self._send(service, "GET", path, params=params, accept="text/plain")
        if response.is_success:
            return response.text
        raise _error_of(response)

    async def download(self, service: Service, path: str, params: Params | None = None,
                       accept: str = "*/*") -> Download:
        """GET a file; ServiceError unless 2xx."""
        response = await self._send(service, "GET", path, params=params, accept=accept)
        if not response.is_success:
            raise _error_of(response)
        kept = {k: v for k, v in response.headers.items()
                if k.lower() in ("content-disposition", "x-content-hash")}
        return Download(response.content, response.headers.get("content-type",
                                                               "application/octet-stream"), kept)

    async def send(self, service: Service, method: str, path: str, body: Any) -> tuple[int, Any]:
        """POST/PUT a JSON body; (status, answer) when 2xx, else ServiceError."""
        response = await self._send(service, method, path, json=body)
        if response.is_success:
            return response.status_code, response.json()
        raise _error_of(response)

    async def whoami(self) -> Identity:
        """Who this key is, as the case service authenticated it (401: not a key it knows)."""
        answer = await self.get("case", "/v1/whoami")
        return Identity(key_id=str(answer["key_id"]), role=Role(answer["role"]),
                        tenant=answer.get("tenant"))
