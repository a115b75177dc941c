"""The app factory `casetrail serve` hands to uvicorn: it configures logging in the process
that builds the app, then builds the service's own app.

With `--workers N`, uvicorn builds the app in each worker process it spawns; logging
configured only in the parent (as before) left the workers on Python's defaults, ignoring
CASETRAIL_LOG_LEVEL and CASETRAIL_LOG_JSON. `casetrail serve` names the service's factory in
CASETRAIL_SERVE_FACTORY, which spawned workers inherit.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from casetrail import heap
from casetrail.logs import configure_logging
from casetrail.settings import CommonSettings

FACTORY_ENV = "CASETRAIL_SERVE_FACTORY"


def app() -> Any:
    """Configure logging from the settings, then build the app `casetrail serve` named, and
    freeze this worker's start-up heap (`casetrail.heap`; CASETRAIL_GC_FREEZE=false: not)."""
    common = CommonSettings()
    configure_logging(common.log_level, json_output=common.log_json)
    module, _, name = os.environ[FACTORY_ENV].partition(":")
    built = getattr(importlib.import_module(module), name)()
    if common.gc_freeze:
        heap.settle()
    return built
