"""Operations plumbing every process shares: the metrics endpoint, and the ops port of workers.

APIs get `/metrics` next to `/healthz` and `/readyz`. Workers (relay, consumers) have no API,
so they serve the same three paths on `CASETRAIL_METRICS_PORT`, from inside their event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from casetrail.web import add_health_routes

log = structlog.get_logger("casetrail.ops")

def install_ops(app: FastAPI, ready: Callable[[], dict[str, Any]]) -> None:
    """`/healthz`, `/readyz` and `/metrics` on a service's API (RequestContextMiddleware
    records the per-route latency)."""
    add_health_routes(app, ready)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return metrics_response()


def metrics_response() -> Response:
    """The process's metrics in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def ops_app(ready: Callable[[], Awaitable[dict[str, Any]]]) -> Starlette:
    """`/healthz`, `/readyz` and `/metrics` for a worker; `ready` raises or returns details."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            details = await ready()
        except Exception as exc:  # readiness answers; it never crashes the worker
            return JSONResponse({"status": "unavailable", "reason": str(exc)[:300]},
                                status_code=503)
        return JSONResponse({"status": "ready", **details})

    async def metrics(_: Request) -> Response:
        return metrics_response()

    async def root(_: Request) -> Response:
        return PlainTextResponse("casetrail worker: /healthz /readyz /metrics\n")

    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz),
                             Route("/metrics", metrics), Route("/", root)])


class _SignalFreeServer(uvicorn.Server):
    """The worker's event loop owns SIGTERM (to finish its work in hand), not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_ops(port: int, ready: Callable[[], Awaitable[dict[str, Any]]],
                    stop: asyncio.Event, host: str = "0.0.0.0") -> None:  # noqa: S104
    """Serve a worker's ops endpoints until `stop` is set."""
    server = _SignalFreeServer(uvicorn.Config(ops_app(ready), host=host, port=port,
                                              log_config=None, access_log=False,
                                              lifespan="off"))
    task = asyncio.create_task(server.serve())
    log.info("ops endpoints listening", port=port)
    await stop.wait()
    server.should_exit = True
    await task
