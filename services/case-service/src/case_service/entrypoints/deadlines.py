"""`casetrail deadlines`: records what falls due on cases when nobody posts it.

A promise past the end of its due day (the debtor's day) is broken; a placement term past its
last day (the creditor's day) ends as the creditor's rules say. The case list holds each
case's next deadline (`case_summaries.next_deadline_at`, written with its events), so a round
reads the cases whose deadline has passed, earliest first, and records each due fact as of its
deadline (`application/deadlines.py`). Nothing is lost while the worker is down: the
next round finds every deadline that passed meanwhile. Two workers may run at once: the case
refuses to record a fact twice, so the loser of a race records nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter, Gauge

from case_service.application import deadlines
from case_service.application.cases import CaseApplication
from case_service.domain.errors import DomainError

log = structlog.get_logger("casetrail.deadlines")

DEADLINE_FACTS = Counter("casetrail_deadline_facts_total",
                         "Facts recorded because a deadline passed", ["type"])
DEADLINES_DUE = Gauge("casetrail_deadlines_due",
                      "Cases with a passed deadline found by the last round (at most a batch)")
DEADLINE_ROUNDS = Counter("casetrail_deadline_rounds_total", "Rounds of the deadline worker")


class DeadlineWorker:
    """Rounds of "what is due now?" until stopped."""

    def __init__(self, app: CaseApplication, *, poll_seconds: float = 5.0, batch: int = 200,
                 max_lag_seconds: float = 300.0):
        self.app = app
        self.poll_seconds, self.batch = poll_seconds, batch
        self.max_lag_seconds = max_lag_seconds
        self.last_round: datetime | None = None
        self.oldest_due: datetime | None = None  # the earliest deadline still waiting
        self.last_due = 0  # cases the last round found due

    def catch_up(self) -> int:
        """Rounds until nothing more is due now (`casetrail deadlines --once`); returns the
        facts recorded."""
        recorded = 0
        while True:
            facts = self.round()
            recorded += facts
            if self.last_due < self.batch or facts == 0:
                return recorded

    def round(self) -> int:
        """One pass: record every due fact of up to `batch` cases; returns the facts
        recorded (0: nothing was due, or it was recorded by someone else first)."""
        now = self.app.clock.now()
        due = deadlines.due_cases(self.app, now, self.batch)
        DEADLINES_DUE.set(len(due))
        recorded = 0
        for case_id in due:
            try:
                result = deadlines.record_due_facts(self.app, case_id, now)
            except DomainError as exc:  # the case refused: report it, go on with the others
                log.warning("deadline_refused", case_id=str(case_id), error=str(exc))
                continue
            for kind in result.events:
                DEADLINE_FACTS.labels(kind).inc()
            recorded += len(result.events)
        self.last_round, self.last_due = now, len(due)
        DEADLINE_ROUNDS.inc()
        left = deadlines.due_cases(self.app, now, 1)
        self.oldest_due = deadlines.next_deadline(self.app, left[0]) if left else None
        if recorded:
            log.info("deadlines_recorded", facts=recorded, cases=len(due))
        return recorded

    async def run(self, stop: asyncio.Event) -> None:
        """Round after round until `stop` is set (a full batch goes again at once)."""
        try:
            while not stop.is_set():
                recorded = await asyncio.to_thread(self.round)
                if recorded < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll_seconds)
        finally:
            self.app.close()

    async def readiness(self) -> dict[str, Any]:
        """Ready once a round ran and no deadline waits longer than `max_lag_seconds`."""
        if self.last_round is None:
            raise RuntimeError("no round has run yet")
        if self.oldest_due is not None:
            waiting = (self.last_round - self.oldest_due).total_seconds()
            if waiting > self.max_lag_seconds:
                raise RuntimeError(f"a deadline has waited {waiting:.0f} s to be recorded")
        return {"last_round": self.last_round.isoformat(),
                "oldest_due": None if self.oldest_due is None else self.oldest_due.isoformat()}
