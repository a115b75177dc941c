"""Running a long-lived worker (relay, consumer, deadlines) as a process: until SIGTERM or
SIGINT, the work in hand finished, with its ops endpoints (/healthz, /readyz, /metrics) on
CASETRAIL_METRICS_PORT when set, and its start-up heap frozen (`casetrail.heap`)."""

from __future__ import annotations

import asyncio
import signal

from casetrail import heap
from casetrail.ops import serve_ops
from casetrail.plugins import Worker
from casetrail.settings import CommonSettings


def run_worker(worker: Worker, common: CommonSettings) -> None:
    """Run a worker until SIGTERM/SIGINT (the work in hand finishes), with its ops endpoints
    on CASETRAIL_METRICS_PORT when set."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(worker.run(stop))]
        if common.metrics_port:
            tasks.append(asyncio.create_task(
                serve_ops(common.metrics_port, worker.readiness, stop)))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop.set()  # the worker ended (or failed): stop serving its ops endpoints too
        await asyncio.gather(*tasks)

    if common.gc_freeze:  # the worker is built: its start-up heap out of the collector's way
        heap.settle()
    asyncio.run(runner())
