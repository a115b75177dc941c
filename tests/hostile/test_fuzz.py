"""Schemathesis against each service's own OpenAPI document: every phase (examples, coverage,
fuzzing, stateful over the documents' links), checking that no answer is a server error and
that every status, content type and body is one the document declares. Zero failures.

Each service runs in process (schemathesis's ASGI transport), on SQLite and on PostgreSQL
(`TEST_DATABASE_URL`, as every integration test), with realistic data
(`World.seed`), called with the admin key; the seeded identifiers are the path parameters'
examples, so the examples phase and the links reach real cases, invoices and samples. The
generator's seed is fixed, so a run is reproducible; the inputs that found bugs before are
kept as explicit tests in test_regressions.py.
"""

from __future__ import annotations

import collections
import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.engine.run import PhaseName

from tests.hostile.world import World

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
MAX_EXAMPLES = 12  # per operation and phase: under a minute for the three services
SEED = 18  # the issue that asked for this test


@dataclass
class Run:
    """What a schemathesis run did."""

    operations: set[str] = field(default_factory=set)
    cases: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self, service: str) -> str:
        """One line for the test log."""
        phases = ", ".join(f"{phase} {n}" for phase, n in sorted(self.cases.items()))
        return (f"schemathesis {service}: {len(self.operations)} operations, "
                f"{sum(self.cases.values())} test cases ({phases}), statuses "
                f"{dict(sorted(self.statuses.items()))}, {len(self.failures)} failures, "
                f"{len(self.errors)} errors, {self.seconds:.1f} s")


def with_examples(document: dict[str, Any], examples: dict[str, str]) -> dict[str, Any]:
    """The document with the seeded identifiers as its path parameters' examples."""
    document = copy.deepcopy(document)
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
    return document


def fuzz(world: World, service: str, examples: dict[str, str]) -> Run:
    """Run every phase against one service; collect what it found."""
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "headers": world.headers("admin"),
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True},
                   "stateful": {"enabled": True, "max-steps": 10}},
        # The feed's long-poll would only make the run wait (30 s a request).
        "parameters": {"query.wait": 0},
        "cache": {"enabled": False},
    })
    app = world.apps[service]
    schema = schemathesis.openapi.from_dict(with_examples(app.openapi(), examples),
                                            config=config)
    schema.app, schema.location = app, "/openapi.json"
    run = Run()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            if event.phase is not PhaseName.STATEFUL_TESTING:
                run.operations.add(event.label)
            run.cases[str(event.phase)] += len(recorder.cases)
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    run.statuses[interaction.response.status_code] += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status.name == "FAILURE":
                        run.failures.append(_describe(event.label, check, recorder, case_id))
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.value!r}"[:500])
    run.seconds = time.monotonic() - started
    return run


def _describe(label: str, check: Any, recorder: Any, case_id: str) -> str:
    case = recorder.cases[case_id].value
    interaction = recorder.interactions.get(case_id)
    response = interaction.response if interaction is not None else None
    answer = (f"{response.status_code} {response.content[:300]!r}" if response is not None
              else "no response")
    return (f"{label} [{check.name}]: {case.method} {case.path} path={case.path_parameters} "
            f"query={case.query} body={str(case.body)[:300]} -> {answer}")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                             marks=pytest.mark.postgres)])
@pytest.mark.parametrize("service", ["case", "contact", "billing"])
def test_schemathesis_finds_no_failure_in_any_phase(service: str, backend: str,
                                                    tmp_path: Path, request: Any) -> None:
    urls = None
    if backend == "postgres":  # what SQLite takes, PostgreSQL may refuse (NUL in text...)
        new_schema = request.getfixturevalue("pg_schemas")
        urls = {name: new_schema(f"fuzz_{name}") for name in ("case", "contact", "billing")}
    world = World(tmp_path, urls)
    try:
        seeded = world.seed()
        run = fuzz(world, service, seeded)
    finally:
        world.close()
    print(run.summary(service))  # the figures the test log keeps
    documented = {f"{method.upper()} {path}"
                  for path, item in world.apps[service].openapi()["paths"].items()
                  for method in item}
    assert run.failures == [], "\n".join(run.failures)
    assert run.errors == [], "\n".join(run.errors)
    assert run.operations == documented  # every operation was tested
    for phase in (PhaseName.EXAMPLES, PhaseName.COVERAGE, PhaseName.FUZZING,
                  PhaseName.STATEFUL_TESTING):
        assert run.cases[str(phase)] > 0, f"phase {phase} ran no test case"
    assert not any(status >= 500 for status in run.statuses)
    assert run.statuses[200] + run.statuses[201] > 0  # it reached real data, not just 4xx
