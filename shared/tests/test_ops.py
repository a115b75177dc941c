"""Worker ops endpoints: health, readiness that reports why not, metrics."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
from casetrail.ops import serve_ops


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_worker_reports_ready_unready_and_its_metrics_until_stopped() -> None:
    state = {"lag": 5}

    async def readiness() -> dict[str, Any]:
        if state["lag"] > 100:
            raise RuntimeError(f"lag {state['lag']} exceeds 100")
        return {"lag": state["lag"]}

    async def scenario() -> list[Any]:
        port, stop = free_port(), asyncio.Event()
        server = asyncio.create_task(serve_ops(port, readiness, stop, host="127.0.0.1"))
        answers: list[Any] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            answers.append((await client.get("/healthz")).json())
            ready = await client.get("/readyz")
            answers.append((ready.status_code, ready.json()))
            state["lag"] = 500
            unready = await client.get("/readyz")
            answers.append((unready.status_code, unready.json()))
            answers.append((await client.get("/metrics")).text)
        stop.set()
        await asyncio.wait_for(server, 10)
        return answers

    health, ready, unready, metrics = asyncio.run(scenario())
    assert health == {"status": "ok"}
    assert ready == (200, {"status": "ready", "lag": 5})
    assert unready == (503, {"status": "unavailable", "reason": "lag 500 exceeds 100"})
    assert "python_info" in metrics
