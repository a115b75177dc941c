"""Serve the console with uvicorn (uvloop, httptools), logging as every casetrail process."""

from __future__ import annotations

import argparse
import os

import uvicorn
from casetrail.logs import configure_logging


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until SIGTERM (uvicorn drains for 20 s)."""
    parser = argparse.ArgumentParser(prog="python -m console_service",
                                     description="casetrail console")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("CASETRAIL_LOG_LEVEL", "INFO"),
                      json_output=os.environ.get("CASETRAIL_LOG_JSON", "true").lower()
                      not in ("false", "0", "no"))
    uvicorn.run("console_service.entrypoints.app:create_app", factory=True, host=args.host,
                port=args.port, workers=args.workers, loop="uvloop", http="httptools",
                access_log=False, timeout_graceful_shutdown=20, log_config=None,
                proxy_headers=True, forwarded_allow_ips="*")
