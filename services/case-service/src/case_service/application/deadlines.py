"""Use cases: what falls due on cases when nobody posts it. A promise past the end of its due
day (the debtor's day) is broken; a placement term past its last day (the creditor's day) ends
as the creditor's rules say (recalled, or reallocated for a new term, by weights or by a
scorecard of the bucket's agencies); a complaint step not
taken by its deadline is recorded as missed; approved settlement or deferral terms unpaid by
the end of their due day are defaulted. Each fact is recorded
as of its deadline, not as of when it is found (`casetrail deadlines`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from case_service.application.allocation import allocation_rules
from case_service.application.cases import CaseApplication, CommandResult
from case_service.application.registry import qualified_rules
from case_service.domain.allocation import (
    SCORECARD,
    AgencyScore,
    AllocationRules,
    scorecard_shares,
)
from case_service.domain.case import COMPLAINT_STEP, PROMISE_DUE, SETTLEMENT_DUE, Case

DEADLINES_ACTOR = "system:*:deadlines"  # who records what falls due (`casetrail deadlines`)


def record_due_facts(app: CaseApplication, case_id: UUID, now: datetime | None = None
                     ) -> CommandResult:
    """Record what fell due on a case by `now` (default: the clock's) and was not done:
    each open promise past the end of its due day is broken, and a placement term past
    its last day ends as the creditor's rules say. Each fact is recorded as of its
    deadline, not as of now. Safe to run twice or from two workers at once: a fact already
    recorded is never recorded again (the case refuses it), so the second run records
    nothing."""
    now = now or app.clock.now()

    def command(case: Case) -> bool:
        recorded = False
        for deadline in case.deadlines():
            if deadline.due_at > now:
                break
            if deadline.kind == PROMISE_DUE:
                case.break_promise(promise_id=deadline.ref, as_of=deadline.due_at,
                                   actor=DEADLINES_ACTOR)
                recorded = True
            elif deadline.kind == COMPLAINT_STEP:
                complaint_id, _, step = deadline.ref.rpartition(":")
                recorded |= case.miss_complaint_deadline(
                    complaint_id=complaint_id, step=step, as_of=deadline.due_at,
                    actor=DEADLINES_ACTOR)
            elif deadline.kind == SETTLEMENT_DUE:
                recorded |= case.default_settlement(
                    settlement_id=deadline.ref, as_of=deadline.due_at, actor=DEADLINES_ACTOR)
            else:
                recorded |= _expire_term(app, case, int(deadline.ref), deadline.due_at)
        return recorded

    return app.execute(case_id, command, expected_version=None, authorize=lambda _: None)


def _expire_term(app: CaseApplication, case: Case, seq: int, at: datetime) -> bool:
    # Reallocated only to an agency qualified on the term's last day, if the rules require
    # it (none left: recalled).
    rules = qualified_rules(app, case.creditor_id, allocation_rules(app, case.creditor_id),
                            case.creditor_day(at))
    scorecard = None
    if rules.on_term_end == SCORECARD:
        rules, scorecard = _scored(app, case, rules, at)
    share = rules.reallocate(case.id, case.bucket, case.agency_id)
    to_agency = None if share is None else share.agency_id
    new_term_end = case.creditor_day(at) + timedelta(days=rules.default_term_days - 1)
    return case.expire_term(seq=seq, as_of=at, to_agency_id=to_agency,
                            new_term_end=new_term_end, actor=DEADLINES_ACTOR,
                            scorecard=scorecard if to_agency is not None else None)


def _scored(app: CaseApplication, case: Case, rules: AllocationRules, at: datetime
            ) -> tuple[AllocationRules, dict[str, Any]]:
    """Champion/challenger: the bucket's other agencies scored by the creditor's cases of the
    bucket and currency each holds now (recovery rate), and the rules with the scorecard's
    weights for that bucket."""
    candidates = [s.agency_id for s in rules.buckets.get(case.bucket, ())
                  if s.agency_id != case.agency_id]
    books = app.store.agency_books(case.creditor_id, case.bucket, case.currency, candidates)
    scores = [AgencyScore(a, *books.get(a, (0, Decimal(0), Decimal(0)))) for a in candidates]
    shares, card = scorecard_shares(scores, rules.scorecard)
    return replace(rules, buckets={**rules.buckets, case.bucket: shares}), {
        "rules_version": rules.version, "measured_at": at.isoformat(), "bucket": case.bucket,
        "currency": case.currency, "measure": "recovery_rate of the cases each agency holds",
        "agencies": card}


def due_cases(app: CaseApplication, now: datetime | None = None, limit: int = 500
              ) -> list[UUID]:
    """Cases with something due by `now` (default: the clock's), earliest first."""
    return [UUID(c) for c in app.store.due_cases(now or app.clock.now(), limit)]


def next_deadline(app: CaseApplication, case_id: UUID) -> datetime | None:
    """A case's next deadline, as the case list holds it."""
    return app.store.deadline_of(case_id)
